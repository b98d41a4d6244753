import * as tf from '@tensorflow/tfjs-core';
import { type Distribution, type Likelihood, type RandomStream, defineComponent, isDistributionInstance, sumEvent, validationEnabled } from '@vaelab/core';
import { z } from 'zod';
import { type DataInfo, assertLevels, checkLevelData, checkParamShape, offTape, openUniform, requireLevels } from './shared.js';

/**
 * A categorical distribution over K levels per value, the levels being the values k/(K − 1) of
 * [0, 1] (8-bit images stored as k/255 with K = 256). logits: [...batch, ...event, K]; values
 * x: [...batch, ...event] are read as k = round(x·(K − 1)).
 */
export class QuantizedCategorical implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/likelihoods (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/likelihoods/QuantizedCategorical';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[];
  readonly levels: number;
  /** Normalized log-probabilities, [...batch, ...event, K]. */
  readonly logProbs: tf.Tensor;

  constructor(
    readonly logits: tf.Tensor,
    readonly eventRank = 1,
  ) {
    if (eventRank + 1 > logits.rank) {
      throw new Error(`QuantizedCategorical: eventRank ${eventRank} plus the levels axis exceeds the rank of logits (${logits.rank})`);
    }
    this.levels = logits.shape[logits.rank - 1]!;
    if (this.levels < 2) throw new Error(`QuantizedCategorical: needs at least 2 levels, got ${this.levels}`);
    this.batchShape = logits.shape.slice(0, logits.rank - 1 - eventRank);
    this.eventShape = logits.shape.slice(logits.rank - 1 - eventRank, logits.rank - 1);
    this.logProbs = tf.tidy(() => tf.logSoftmax(logits));
  }

  /** The level indices k of x, as int32 (clamped to 0..K − 1). */
  private indices(x: tf.Tensor): tf.Tensor {
    return tf.cast(tf.clipByValue(tf.round(tf.mul(x, this.levels - 1)), 0, this.levels - 1), 'int32');
  }

  /** Σ log p_k(x); x: [..., ...batch, ...event] -> [..., ...batch]. Under validation x must be a level. */
  logProb(x: tf.Tensor): tf.Tensor {
    if (validationEnabled()) assertLevels('QuantizedCategorical', x, this.levels);
    return tf.tidy(() => {
      const oneHot = tf.cast(tf.oneHot(this.indices(x), this.levels), 'float32');
      return sumEvent(tf.sum(tf.mul(oneHot, this.logProbs), -1), this.eventRank);
    });
  }

  /** Gumbel-max: argmax_k (log p_k + g_k), as a value k/(K − 1); off the gradient tape. */
  sample(rng: RandomStream): tf.Tensor {
    return offTape(this.logProbs, (logProbs) => {
      const gumbel = tf.neg(tf.log(tf.neg(tf.log(openUniform(rng, logProbs.shape)))));
      const k = tf.argMax(tf.add(logProbs, gumbel), -1);
      return tf.div(tf.cast(k, 'float32'), this.levels - 1);
    });
  }

  /** −Σ p log p over the levels, summed over the event. */
  entropy(): tf.Tensor {
    return tf.tidy(() => sumEvent(tf.neg(tf.sum(tf.mul(tf.exp(this.logProbs), this.logProbs), -1)), this.eventRank));
  }

  /** Σ_k p_k · k/(K − 1) per value: [...batch, ...event]. */
  mean(): tf.Tensor {
    return tf.tidy(() => {
      const values = tf.div(tf.range(0, this.levels, 1, 'float32'), this.levels - 1);
      return tf.sum(tf.mul(tf.exp(this.logProbs), values), -1);
    });
  }

  /** The most probable level per value. */
  mode(): tf.Tensor {
    return tf.tidy(() => tf.div(tf.cast(tf.argMax(this.logProbs, -1), 'float32'), this.levels - 1));
  }
}

const LEVELS = 256;

export class Categorical256Likelihood implements Likelihood {
  readonly discrete = true;
  readonly levels = 256;
  readonly variables: tf.Variable[] = [];

  constructor(readonly dataShape: number[]) {}

  /** 256 logits per value: [...dataShape, 256]. */
  paramShape(dataShape: number[]): number[] {
    return [...dataShape, LEVELS];
  }

  // params: [batch, ...dataShape, 256] -> QuantizedCategorical with event shape dataShape
  distribution(params: tf.Tensor): QuantizedCategorical {
    checkParamShape('categorical_256', params, this.paramShape(this.dataShape), this.dataShape);
    return new QuantizedCategorical(params, this.dataShape.length);
  }

  checkData(values: Float32Array, info: DataInfo): void {
    checkLevelData('categorical_256', values, info, this.dataShape, LEVELS);
  }

  dispose(): void {}
}

export const categorical256 = defineComponent({
  kind: 'likelihood',
  name: 'categorical_256',
  description: '256-way categorical per 8-bit value (softmax over 256 logits per value); needs a dataset with levels 256.',
  schema: z.object({}),
  create: (_options, ctx) => {
    requireLevels('categorical_256', ctx.levels, LEVELS);
    return new Categorical256Likelihood(ctx.dataShape);
  },
});
