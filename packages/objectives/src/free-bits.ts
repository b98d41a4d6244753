import * as tf from '@tensorflow/tfjs-core';
import { type Forward, type LossResult, type Objective, type StepContext, defineComponent } from '@vaelab/core';
import { z } from 'zod';
import { type CorruptFunction, type CorruptionOptions, corruptionFunction, corruptionSchema, describeCorruption } from './corruption.js';
import { samplesSchema } from './elbo.js';
import { distributionName, klPerDimension } from './per-dimension.js';
import { type DataInfo, lossResult, reconstructionNll, tidyLoss, vaeTerms } from './terms.js';

export interface FreeBitsOptions {
  /** The floor λ per latent dimension, nats (≥ 0). */
  lambda: number;
  /** Monte Carlo samples of z per example for the reconstruction term. */
  samples: number;
  /** Input corruption for a denoising variant (default none). */
  corruption?: CorruptionOptions;
}

/**
 * Free bits (Kingma et al. 2016, the IAF paper's appendix), each latent dimension its own group:
 *   loss = reconstruction + Σ_j max(λ, KL_j),  KL_j = KL(q(z_j|x) ‖ p(z_j)) averaged over the batch.
 * The floor is applied to the batch average, as in the paper, so a dimension is released from
 * the KL penalty only while the batch as a whole spends fewer than λ nats on it; its KL gradient
 * is then zero. Needs the per-dimension KL in closed form (diagonal Gaussian q and p).
 * Terms as the ELBO's (`kl` is the true KL) plus `kl_free_bits`, the clamped sum optimized.
 */
export class FreeBits implements Objective {
  readonly name = 'free_bits';
  readonly needsReparameterization = true;
  readonly corrupt?: CorruptFunction;

  constructor(
    readonly options: FreeBitsOptions,
    readonly data: DataInfo = { discrete: false },
  ) {
    const corrupt = corruptionFunction(options.corruption);
    if (corrupt) this.corrupt = corrupt;
  }

  loss(fwd: Forward, ctx: StepContext): LossResult {
    return tidyLoss(() => {
      const klPerDim = klPerDimension(fwd.q, fwd.prior);
      if (!klPerDim) {
        throw new Error(
          `free_bits: needs the KL per latent dimension in closed form, which exists when the posterior and the prior are ` +
            `both diagonal Gaussians (core Normal over a vector); got posterior ${distributionName(fwd.q)} and prior ${distributionName(fwd.prior)}. ` +
            `Use the elbo or beta_vae objective with this pair.`,
        );
      }
      const nll = reconstructionNll(fwd, ctx.noise, this.options.samples);
      const terms = vaeTerms(nll, tf.sum(klPerDim, 1), fwd.x, this.data);
      const klPerDimMean = tf.mean(klPerDim, 0) as tf.Tensor1D;
      const klFreeBits = tf.sum(tf.maximum(klPerDimMean, this.options.lambda)) as tf.Scalar;
      terms.kl_free_bits = klFreeBits;
      return lossResult(tf.add(terms.reconstruction!, klFreeBits) as tf.Scalar, terms, { kl_per_dim: klPerDimMean });
    });
  }

  describe(): string[] {
    return [
      `kl: analytic per dimension; free bits: Σ_j max(${this.options.lambda}, batch-mean KL_j) nats`,
      ...describeCorruption(this.options.corruption),
    ];
  }
}

export const freeBits = defineComponent({
  kind: 'objective',
  name: 'free_bits',
  description: 'Free bits: reconstruction + Σ_j max(λ, KL_j), the KL of each latent dimension averaged over the batch and floored at λ nats.',
  schema: z.object({
    lambda: z.number().min(0).default(0.5).describe('floor λ per latent dimension, nats'),
    samples: samplesSchema,
    corruption: corruptionSchema,
  }),
  create: (options, ctx) => new FreeBits({ lambda: options.lambda, samples: options.samples, corruption: options.corruption }, { discrete: ctx.discrete }),
});
