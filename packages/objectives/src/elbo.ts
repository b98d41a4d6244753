import * as tf from '@tensorflow/tfjs-core';
import { type Forward, type LossResult, type Objective, type StepContext, defineComponent } from '@vaelab/core';
import { z } from 'zod';
import { type CorruptFunction, type CorruptionOptions, corruptionFunction, corruptionSchema, describeCorruption } from './corruption.js';
import { type DataInfo, elboParts, klVectors, lossResult, tidyLoss, vaeTerms } from './terms.js';

export interface ElboOptions {
  /** Monte Carlo samples of z per example for the reconstruction term. */
  samples: number;
  /** Samples for the KL estimate when no analytic form is registered. */
  klSamples: number;
  /** Input corruption for a denoising VAE (default none). */
  corruption?: CorruptionOptions;
}

/** The `samples` and `kl_samples` options shared by the ELBO-based objectives. */
export const samplesSchema = z.number().int().min(1).default(1).describe('samples of z per example for the reconstruction term');
export const klSamplesSchema = z.number().int().min(1).default(1).describe('samples for the KL estimate when it is not analytic');

/** describe() line for how the KL was computed. */
export function describeKL(analytic: boolean | undefined, klSamples: number): string[] {
  if (analytic === undefined) return [];
  return [analytic ? 'kl: analytic' : `kl: Monte Carlo estimate with ${klSamples} sample(s)`];
}

/**
 * Negative ELBO, nats per example (Kingma & Welling 2013, eq. 7):
 *   loss = E_q[−log p(x|z)] + KL(q(z|x) ‖ p(z)),
 * with the KL analytic when the (q, p) pair is registered and a Monte Carlo estimate otherwise.
 * Terms: `reconstruction`, `kl`, `nelbo` (= loss), `bits_per_dim` when the data is discrete;
 * vector `kl_per_dim` when the KL factorises per dimension.
 */
export class Elbo implements Objective {
  readonly name = 'elbo';
  readonly needsReparameterization = true;
  readonly corrupt?: CorruptFunction;
  private klAnalytic: boolean | undefined;

  constructor(
    readonly options: ElboOptions,
    readonly data: DataInfo = { discrete: false },
  ) {
    const corrupt = corruptionFunction(options.corruption);
    if (corrupt) this.corrupt = corrupt;
  }

  loss(fwd: Forward, ctx: StepContext): LossResult {
    return tidyLoss(() => {
      const parts = elboParts(fwd, ctx.noise, this.options.samples, this.options.klSamples);
      this.klAnalytic = parts.analytic;
      const terms = vaeTerms(parts.nll, parts.kl, fwd.x, this.data);
      return lossResult(tf.clone(terms.nelbo!), terms, klVectors(parts.klPerDim));
    });
  }

  describe(): string[] {
    return [...describeKL(this.klAnalytic, this.options.klSamples), ...describeCorruption(this.options.corruption)];
  }
}

export const elbo = defineComponent({
  kind: 'objective',
  name: 'elbo',
  description: 'Negative evidence lower bound: reconstruction + KL, in nats per example.',
  schema: z.object({
    samples: samplesSchema,
    kl_samples: klSamplesSchema,
    corruption: corruptionSchema,
  }),
  create: (options, ctx) =>
    new Elbo({ samples: options.samples, klSamples: options.kl_samples, corruption: options.corruption }, { discrete: ctx.discrete }),
});
