import * as tf from '@tensorflow/tfjs-core';
import {
  type Distribution,
  type Likelihood,
  type RandomStream,
  asTensor,
  assertValues,
  broadcastIfNeeded,
  broadcastShapes,
  defineComponent,
  isDistributionInstance,
  stopGradient,
  sumEvent,
  validationEnabled,
} from '@vaelab/core';
import { z } from 'zod';
import { type ScaleConfig, type ScaleMode, ScaleParameter, refineScaleOptions, scaleModeOption } from './scale.js';

/** The largest float32 below ½: keeps 1 − 2|u| ≥ 2⁻²⁴, so that its log stays finite. */
const HALF_OPEN = 0.5 - 2 ** -25;

/**
 * Independent Laplace over the last `eventRank` axes: p(x) = exp(−|x − μ| / b) / (2b).
 * Maximizing it is minimizing an L1 reconstruction error (up to b). `logScale` may be passed when
 * the caller has it (a network predicting log b).
 *
 * Parameters broadcast as core's Normal's do: a number or scalar for `loc` or `scale`, or a scale
 * shared by a batch, is broadcast at construction with core's `broadcastTo` (fast gradient).
 */
export class Laplace implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/likelihoods (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/likelihoods/Laplace';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[];
  readonly loc: tf.Tensor;
  readonly scale: tf.Tensor;
  readonly logScale: tf.Tensor;

  constructor(
    loc: tf.Tensor | number,
    scale: tf.Tensor | number,
    readonly eventRank = 1,
    logScale?: tf.Tensor,
  ) {
    const locT = asTensor(loc);
    const scaleT = asTensor(scale);
    const shape = broadcastShapes('Laplace', [
      ['loc', locT.shape],
      ['scale', scaleT.shape],
      ...(logScale ? [['logScale', logScale.shape] as const] : []),
    ]);
    if (eventRank > shape.length) throw new Error(`Laplace: eventRank ${eventRank} exceeds the rank of loc (${shape.length})`);
    this.loc = broadcastIfNeeded(locT, shape);
    this.scale = broadcastIfNeeded(scaleT, shape);
    this.batchShape = shape.slice(0, shape.length - eventRank);
    this.eventShape = shape.slice(shape.length - eventRank);
    this.logScale = logScale ? broadcastIfNeeded(logScale, shape) : tf.log(this.scale);
    if (validationEnabled()) {
      assertValues('Laplace', 'loc', this.loc, { allowed: 'finite', above: -Infinity, below: Infinity });
      assertValues('Laplace', 'scale b', this.scale, { allowed: 'positive and finite', above: 0, below: Infinity });
    }
  }

  /**
   * Inverse CDF: x = μ − b·sign(u)·log(1 − 2|u|), u ~ U(−½, ½); pathwise in μ and b
   * (∂x/∂μ = 1, ∂x/∂b = (x − μ)/b).
   */
  rsample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => {
      const u = tf.clipByValue(rng.uniform(this.loc.shape, -0.5, 0.5), -HALF_OPEN, HALF_OPEN);
      const standard = tf.neg(tf.mul(tf.sign(u), tf.log(tf.sub(1, tf.mul(2, tf.abs(u))))));
      return tf.add(this.loc, tf.mul(this.scale, standard));
    });
  }

  sample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => stopGradient(this.rsample(rng)));
  }

  /** Σ −|x − μ|/b − log b − log 2; x: [..., ...batch, ...event] -> [..., ...batch]. */
  logProb(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const perElement = tf.neg(tf.add(tf.add(tf.div(tf.abs(tf.sub(x, this.loc)), this.scale), this.logScale), Math.LN2));
      return sumEvent(perElement, this.eventRank);
    });
  }

  /** Σ 1 + log(2b). */
  entropy(): tf.Tensor {
    return tf.tidy(() => sumEvent(tf.add(this.logScale, 1 + Math.LN2), this.eventRank));
  }

  mean(): tf.Tensor {
    return this.loc;
  }

  mode(): tf.Tensor {
    return this.loc;
  }
}

/** True for a Laplace from any copy of @vaelab/likelihoods. */
export function isLaplace(x: unknown): x is Laplace {
  return isDistributionInstance(x, Laplace);
}

export interface LaplaceLikelihoodOptions {
  /** How b is obtained (default fixed). */
  scale?: ScaleMode;
  /** The fixed b, or the initial learned b (default 1). */
  b?: number;
  /** Lower bound on b in the learned and per-pixel modes: b = minB + exp(r) (default 0). */
  minB?: number;
}

/**
 * p(x | z) = Laplace(x; μ, b) per value, summed over the example; the three scale modes of the
 * Gaussian (see `ScaleParameter`).
 */
export class LaplaceLikelihood implements Likelihood {
  readonly discrete = false;
  readonly variables: tf.Variable[];
  readonly scale: ScaleParameter;

  constructor(
    readonly dataShape: number[],
    options: LaplaceLikelihoodOptions = {},
  ) {
    const config: ScaleConfig = { mode: options.scale ?? 'fixed', value: options.b ?? 1, floor: options.minB ?? 0 };
    this.scale = new ScaleParameter('laplace', 'b', config);
    this.variables = this.scale.variables;
  }

  paramShape(dataShape: number[]): number[] {
    return this.scale.paramShape(dataShape);
  }

  /** The learned b (scale: learned), else undefined. */
  get b(): number | undefined {
    return this.scale.learnedScale();
  }

  // params: [batch, ...paramShape] -> Laplace with batch [batch], event dataShape
  distribution(params: tf.Tensor): Laplace {
    const { loc, scale, logScale } = this.scale.split(params, this.dataShape);
    return new Laplace(loc, scale, this.dataShape.length, logScale);
  }

  dispose(): void {
    this.scale.dispose();
  }
}

export const laplace = defineComponent({
  kind: 'likelihood',
  name: 'laplace',
  description: 'Laplace per value (L1 reconstruction) with a fixed b, one learned b, or a b per value from the decoder; the decoder emits the location.',
  schema: z
    .object({
      scale: scaleModeOption('b', 'b'),
      b: z.number().positive().default(1).describe('the fixed scale b, or the initial value of the learned b'),
      min_b: z.number().min(0).default(0).describe('lower bound on b for scale learned and per_pixel: b = min_b + exp(r)'),
    })
    .superRefine(refineScaleOptions('b', 'min_b', 'b')),
  create: (options, ctx) => new LaplaceLikelihood(ctx.dataShape, { scale: options.scale, b: options.b, minB: options.min_b }),
});
