import * as tf from '@tensorflow/tfjs';
import { type Distribution, type Likelihood, type RandomStream, defineComponent, stopGradient, sumEvent } from '@vaelab/core';
import { z } from 'zod';

/**
 * Independent Bernoulli over an event of shape `eventShape`, parameterized by logits ℓ.
 * log p(x) = Σ x·ℓ − softplus(ℓ), which is −BCE-with-logits: stable for any ℓ. For grey-level
 * x ∈ [0, 1] this is the (unnormalized) cross-entropy used by the classic MNIST VAE examples.
 */
export class Bernoulli implements Distribution {
  readonly batchShape: number[];
  readonly eventShape: number[];

  constructor(
    readonly logits: tf.Tensor,
    readonly eventRank: number,
  ) {
    this.batchShape = logits.shape.slice(0, logits.rank - eventRank);
    this.eventShape = logits.shape.slice(logits.rank - eventRank);
  }

  logProb(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => sumEvent(tf.sub(tf.mul(x, this.logits), tf.softplus(this.logits)), this.eventRank));
  }

  sample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => stopGradient(tf.cast(tf.less(rng.uniform(this.logits.shape), tf.sigmoid(this.logits)), 'float32')));
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
  readonly variables: tf.Variable[] = [];

  constructor(readonly dataShape: number[]) {}

  paramShape(dataShape: number[]): number[] {
    return [...dataShape];
  }

  distribution(params: tf.Tensor): Bernoulli {
    return new Bernoulli(params, this.dataShape.length);
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
