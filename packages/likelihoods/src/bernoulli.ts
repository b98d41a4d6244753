import * as tf from '@tensorflow/tfjs-core';
import {
  type Distribution,
  type Likelihood,
  type RandomStream,
  assertValues,
  defineComponent,
  isDistributionInstance,
  sumEvent,
  validationEnabled,
} from '@vaelab/core';
import { z } from 'zod';
import { bernoulliTerms } from './bernoulli-kernel.js';
import { type DataInfo, checkParamShape, checkUnitIntervalData, offTape } from './shared.js';

/**
 * Independent Bernoulli over an event of shape `eventShape`, parameterized by logits ℓ.
 * log p(x) = Σ x·ℓ − softplus(ℓ), which is −BCE-with-logits: stable for any ℓ. For grey-level
 * x ∈ [0, 1] this is the (unnormalized) cross-entropy used by the classic MNIST VAE examples.
 * `eventRank` defaults to 1, as for core's Normal: the last axis is the event.
 */
export class Bernoulli implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/likelihoods (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/likelihoods/Bernoulli';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[];

  constructor(
    readonly logits: tf.Tensor,
    readonly eventRank = 1,
  ) {
    if (eventRank > logits.rank) throw new Error(`Bernoulli: eventRank ${eventRank} exceeds the rank of logits (${logits.rank})`);
    this.batchShape = logits.shape.slice(0, logits.rank - eventRank);
    this.eventShape = logits.shape.slice(logits.rank - eventRank);
  }

  /** x: [..., ...batch, ...event] in [0, 1] -> [..., ...batch]. */
  logProb(x: tf.Tensor): tf.Tensor {
    if (validationEnabled()) assertValues('Bernoulli', 'value', x, { allowed: 'in [0, 1]', min: 0, max: 1 });
    return tf.tidy(() => sumEvent(bernoulliTerms(this.logits, x), this.eventRank));
  }

  sample(rng: RandomStream): tf.Tensor {
    // Off the gradient tape: tfjs has no gradient for `less`, so a taped draw would break any
    // gradient computed through a loss that also samples.
    return offTape(this.logits, (logits) => tf.cast(tf.less(rng.uniform(logits.shape), tf.sigmoid(logits)), 'float32'));
  }

  /** H = Σ softplus(ℓ) − σ(ℓ)·ℓ. */
  entropy(): tf.Tensor {
    return tf.tidy(() => sumEvent(tf.sub(tf.softplus(this.logits), tf.mul(tf.sigmoid(this.logits), this.logits)), this.eventRank));
  }

  mean(): tf.Tensor {
    return tf.sigmoid(this.logits);
  }

  mode(): tf.Tensor {
    return tf.tidy(() => tf.cast(tf.greater(this.logits, 0), 'float32'));
  }
}

export class BernoulliLikelihood implements Likelihood {
  readonly discrete = true;
  /** Two values per dimension: bits per dimension are reported on binary data only. */
  readonly levels = 2;
  readonly variables: tf.Variable[] = [];

  constructor(readonly dataShape: number[]) {}

  paramShape(dataShape: number[]): number[] {
    return [...dataShape];
  }

  // params: [batch, ...dataShape] logits -> Bernoulli with event shape dataShape
  distribution(params: tf.Tensor): Bernoulli {
    checkParamShape('bernoulli', params, this.dataShape, this.dataShape);
    return new Bernoulli(params, this.dataShape.length);
  }

  /** Values must lie in [0, 1] (binary, or grey levels read as probabilities). */
  checkData(values: Float32Array, info: DataInfo): void {
    checkUnitIntervalData('bernoulli', values, info, this.dataShape);
  }

  dispose(): void {}
}

export const bernoulli = defineComponent({
  kind: 'likelihood',
  name: 'bernoulli',
  description: 'Independent Bernoulli per pixel, decoder emits logits (binary cross-entropy).',
  schema: z.object({}),
  create: (_options, ctx) => new BernoulliLikelihood(ctx.dataShape),
});
