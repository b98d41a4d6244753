import type * as tf from '@tensorflow/tfjs-core';
import { type Likelihood, Normal, defineComponent } from '@vaelab/core';
import { z } from 'zod';
import { type ScaleConfig, type ScaleMode, ScaleParameter, refineScaleOptions, scaleModeOption } from './scale.js';

export interface GaussianLikelihoodOptions {
  /** How σ is obtained (default fixed). */
  scale?: ScaleMode;
  /** The fixed σ, or the initial learned σ (default 1). */
  sigma?: number;
  /** Lower bound on σ in the learned and per-pixel modes: σ = minSigma + exp(r) (default 0). */
  minSigma?: number;
}

/**
 * p(x | z) = N(x; μ, σ²) per value, summed over the example. The decoder emits μ (fixed and learned
 * σ) or [μ | r] along the last axis (per-pixel σ = min_sigma + exp(r)); see `ScaleParameter`.
 * The distribution is core's `Normal`, so its KL rules and `rsample` apply.
 */
export class GaussianLikelihood implements Likelihood {
  readonly discrete = false;
  readonly variables: tf.Variable[];
  readonly scale: ScaleParameter;

  constructor(
    readonly dataShape: number[],
    options: GaussianLikelihoodOptions = {},
  ) {
    const config: ScaleConfig = { mode: options.scale ?? 'fixed', value: options.sigma ?? 1, floor: options.minSigma ?? 0 };
    this.scale = new ScaleParameter('gaussian', 'σ', config);
    this.variables = this.scale.variables;
  }

  paramShape(dataShape: number[]): number[] {
    return this.scale.paramShape(dataShape);
  }

  /** The learned σ (scale: learned), else undefined. */
  get sigma(): number | undefined {
    return this.scale.learnedScale();
  }

  // params: [batch, ...paramShape] -> Normal with batch [batch], event dataShape
  distribution(params: tf.Tensor): Normal {
    const { loc, scale, logScale } = this.scale.split(params, this.dataShape);
    return new Normal(loc, scale, this.dataShape.length, logScale);
  }

  dispose(): void {
    this.scale.dispose();
  }
}

/** A Gaussian likelihood with a fixed σ (the 0.1 API; `new GaussianLikelihood(shape, { sigma })` is the same). */
export class FixedGaussianLikelihood extends GaussianLikelihood {
  constructor(dataShape: number[], sigma: number) {
    super(dataShape, { scale: 'fixed', sigma });
  }
}

export const gaussian = defineComponent({
  kind: 'likelihood',
  name: 'gaussian',
  description: 'Gaussian per value with a fixed σ, one learned σ, or a σ per value from the decoder; the decoder emits the mean.',
  schema: z
    .object({
      scale: scaleModeOption('σ', 'sigma'),
      sigma: z.number().positive().default(1).describe('the fixed σ, or the initial value of the learned σ'),
      min_sigma: z.number().min(0).default(0).describe('lower bound on σ for scale learned and per_pixel: σ = min_sigma + exp(r)'),
    })
    .superRefine(refineScaleOptions('sigma', 'min_sigma', 'σ')),
  create: (options, ctx) => new GaussianLikelihood(ctx.dataShape, { scale: options.scale, sigma: options.sigma, minSigma: options.min_sigma }),
});
