import * as tf from '@tensorflow/tfjs-core';
import {
  type Distribution,
  type Likelihood,
  type RandomStream,
  assertShape,
  assertValues,
  defineComponent,
  isDistributionInstance,
  sumEvent,
  validationEnabled,
} from '@vaelab/core';
import { z } from 'zod';
import { type DataInfo, assertLevels, checkLevelData, checkParamShape, offTape, openUniform, requireLevels } from './shared.js';

/*
 * Mixture of discretized logistics per value (Salimans et al. 2017, PixelCNN++, §2.1), on the
 * data's own scale: level k ∈ 0..L−1 is the value x = k/(L − 1) of [0, 1] and owns the bin
 * [x − h, x + h], h = 1/(2(L − 1)); the lowest bin extends to −∞ and the highest to +∞. The paper
 * works on [−1, 1]; on [0, 1] its means are halved and shifted and its scales halved, so its clamp
 * log s ≥ −7 becomes log s ≥ −7 − log 2.
 */

/** The paper's lower clamp on the log-scales (−7 on [−1, 1]), mapped to [0, 1]. */
export const MIN_LOG_SCALE = -7 - Math.LN2;
/**
 * Below this bin width in units of s, the bin mass uses the density at the bin centre times the
 * bin width instead (the paper's fallback). The log-space bin mass below is exact for any wider
 * bin, so this only catches widths (1/(L − 1))/s that would underflow, where the midpoint rule is
 * exact to float32 precision anyway.
 */
const MIDPOINT_BELOW_WIDTH = 1e-20;

/**
 * Per value: p(x) = Σ_m π_m P_m(bin of x), P_m the mass of a logistic(μ_m, s_m) on the bin.
 * logits, means, logScales: [...batch, ...event, M]. Log-scales are clamped below at
 * `MIN_LOG_SCALE`. Values x: [..., ...batch, ...event] on the levels k/(L − 1).
 */
export class DiscretizedLogisticMixture implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/likelihoods (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/likelihoods/DiscretizedLogisticMixture';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[];
  readonly mixtures: number;
  /** Clamped log-scales. */
  readonly logScales: tf.Tensor;
  /** Normalized log mixture weights. */
  readonly logWeights: tf.Tensor;

  constructor(
    readonly logits: tf.Tensor,
    readonly means: tf.Tensor,
    logScales: tf.Tensor,
    readonly eventRank = 1,
    readonly levels = 256,
  ) {
    assertShape('DiscretizedLogisticMixture', 'means', means.shape, logits.shape);
    assertShape('DiscretizedLogisticMixture', 'log-scales', logScales.shape, logits.shape);
    if (eventRank + 1 > logits.rank) {
      throw new Error(`DiscretizedLogisticMixture: eventRank ${eventRank} plus the mixture axis exceeds the rank of the parameters (${logits.rank})`);
    }
    if (!Number.isInteger(levels) || levels < 2) throw new Error(`DiscretizedLogisticMixture: levels must be an integer ≥ 2, got ${levels}`);
    if (validationEnabled()) {
      assertValues('DiscretizedLogisticMixture', 'means', means, { allowed: 'finite', above: -Infinity, below: Infinity });
      assertValues('DiscretizedLogisticMixture', 'log-scales', logScales, { allowed: 'not NaN', min: -Infinity, max: Infinity });
    }
    this.mixtures = logits.shape[logits.rank - 1]!;
    this.batchShape = logits.shape.slice(0, logits.rank - 1 - eventRank);
    this.eventShape = logits.shape.slice(logits.rank - 1 - eventRank, logits.rank - 1);
    this.logScales = tf.maximum(logScales, MIN_LOG_SCALE);
    this.logWeights = tf.tidy(() => tf.logSoftmax(logits));
  }

  /** log P_m(bin of x) for every component: [..., ...batch, ...event, M]. */
  private logBinMass(x: tf.Tensor): tf.Tensor {
    const steps = this.levels - 1;
    const k = tf.expandDims(tf.clipByValue(tf.round(tf.mul(x, steps)), 0, steps), -1);
    const centred = tf.sub(tf.div(k, steps), this.means);
    const inverseScale = tf.exp(tf.neg(this.logScales));
    const halfWidth = 0.5 / steps;
    const plus = tf.mul(inverseScale, tf.add(centred, halfWidth));
    const minus = tf.mul(inverseScale, tf.sub(centred, halfWidth));
    // Edge bins: log σ(plus) for k = 0, log(1 − σ(minus)) for k = L − 1.
    const logCdfPlus = tf.neg(tf.softplus(tf.neg(plus)));
    const logSurvivalMinus = tf.neg(tf.softplus(minus));
    // Interior bins, exactly in log space: σ(a) − σ(b) = σ(a)·σ(−b)·(1 − e^−(a−b)), with a − b the
    // bin width in units of s, so no difference of two probabilities near 1 ever underflows.
    const width = tf.div(inverseScale, steps);
    const wide = offTape(width, (t) => tf.greaterEqual(t, MIDPOINT_BELOW_WIDTH));
    const safeWidth = tf.maximum(width, MIDPOINT_BELOW_WIDTH);
    const logMass = tf.add(tf.add(logCdfPlus, logSurvivalMinus), tf.log(tf.neg(tf.expm1(tf.neg(safeWidth)))));
    // The paper's fallback: log density at the centre + log bin width. log f(c) = z − log s − 2 softplus(z), z = c/s.
    const z = tf.mul(inverseScale, centred);
    const logMidpoint = tf.sub(tf.sub(tf.sub(z, this.logScales), tf.mul(2, tf.softplus(z))), Math.log(steps));
    const interior = tf.where(wide, logMass, logMidpoint);
    const shape = interior.shape;
    const isLowest = tf.broadcastTo(tf.lessEqual(k, 0), shape);
    const isHighest = tf.broadcastTo(tf.greaterEqual(k, steps), shape);
    return tf.where(isLowest, logCdfPlus, tf.where(isHighest, logSurvivalMinus, interior));
  }

  /** log Σ_m π_m P_m, summed over the event; x: [..., ...batch, ...event] -> [..., ...batch]. */
  logProb(x: tf.Tensor): tf.Tensor {
    if (validationEnabled()) assertLevels('DiscretizedLogisticMixture', x, this.levels);
    return tf.tidy(() => sumEvent(tf.logSumExp(tf.add(this.logWeights, this.logBinMass(x)), -1), this.eventRank));
  }

  /**
   * A component by Gumbel-max, a logistic draw μ + s·log(u/(1 − u)), rounded to the nearest level.
   * Computed off the gradient tape: no gradient reaches the parameters.
   */
  sample(rng: RandomStream): tf.Tensor {
    return offTape(this.logWeights, () => {
      const gumbel = tf.neg(tf.log(tf.neg(tf.log(openUniform(rng, this.logWeights.shape)))));
      const chosen = tf.oneHot(tf.argMax(tf.add(this.logWeights, gumbel), -1), this.mixtures);
      const pick = (t: tf.Tensor) => tf.sum(tf.mul(tf.cast(chosen, 'float32'), t), -1);
      const mean = pick(this.means);
      const scale = tf.exp(pick(this.logScales));
      const u = openUniform(rng, mean.shape);
      const continuous = tf.add(mean, tf.mul(scale, tf.sub(tf.log(u), tf.log(tf.sub(1, u)))));
      const steps = this.levels - 1;
      return tf.div(tf.clipByValue(tf.round(tf.mul(continuous, steps)), 0, steps), steps);
    });
  }

  /**
   * Σ_m π_m · clip(μ_m, 0, 1) per value: the mixture mean of the logistic means, each clipped to
   * the support (mass beyond an end is piled on its edge level). It ignores the rounding to levels
   * and the edge bins' shape, so it is the mean of the discretized distribution only approximately
   * (exactly in the limit of small scales); it is what a reconstruction shows.
   */
  mean(): tf.Tensor {
    return tf.tidy(() => tf.sum(tf.mul(tf.exp(this.logWeights), tf.clipByValue(this.means, 0, 1)), -1));
  }
}

const LEVELS = 256;

export class DiscretizedLogisticLikelihood implements Likelihood {
  readonly discrete = true;
  readonly levels = 256;
  readonly variables: tf.Variable[] = [];

  constructor(
    readonly dataShape: number[],
    readonly mixtures = 5,
  ) {
    if (!Number.isInteger(mixtures) || mixtures < 1) throw new Error(`discretized_logistic: mixtures must be a positive integer, got ${mixtures}`);
  }

  /** [...dataShape, 3·M]: M mixture logits, then M means, then M log-scales per value. */
  paramShape(dataShape: number[]): number[] {
    return [...dataShape, 3 * this.mixtures];
  }

  // params: [batch, ...dataShape, 3M] -> mixture with event shape dataShape
  distribution(params: tf.Tensor): DiscretizedLogisticMixture {
    checkParamShape('discretized_logistic', params, this.paramShape(this.dataShape), this.dataShape);
    const [logits, means, logScales] = tf.split(params, 3, params.rank - 1) as [tf.Tensor, tf.Tensor, tf.Tensor];
    return new DiscretizedLogisticMixture(logits, means, logScales, this.dataShape.length, LEVELS);
  }

  checkData(values: Float32Array, info: DataInfo): void {
    checkLevelData('discretized_logistic', values, info, this.dataShape, LEVELS);
  }

  dispose(): void {}
}

export const discretizedLogistic = defineComponent({
  kind: 'likelihood',
  name: 'discretized_logistic',
  description: 'Mixture of discretized logistics per 8-bit value (PixelCNN++), channels independent; needs a dataset with levels 256.',
  schema: z.object({
    mixtures: z.number().int().min(1).default(5).describe('mixture components per value'),
  }),
  create: (options, ctx) => {
    requireLevels('discretized_logistic', ctx.levels, LEVELS);
    return new DiscretizedLogisticLikelihood(ctx.dataShape, options.mixtures);
  },
});
