import * as tf from '@tensorflow/tfjs-core';
import { type Forward, type LossResult, type Objective, defineComponent } from '@vaelab/core';
import { z } from 'zod';
import { type CorruptFunction, type CorruptionOptions, corruptionFunction, corruptionSchema, describeCorruption } from './corruption.js';
import { distributionName } from './per-dimension.js';
import { tidyLoss } from './terms.js';

export interface AutoencoderOptions {
  /** Input corruption for a denoising autoencoder (Vincent et al. 2008); default none. */
  corruption?: CorruptionOptions;
}

/**
 * The deterministic autoencoder baseline (the σ → 0 limit of a VAE without the KL):
 * z = mean of q(z|x), loss = −log p(x | z) per example, averaged over the batch. The prior plays
 * no part. Term: `reconstruction` (= loss), nats per example.
 */
export class Autoencoder implements Objective {
  readonly name = 'autoencoder';
  readonly needsReparameterization = false;
  readonly corrupt?: CorruptFunction;

  constructor(readonly options: AutoencoderOptions = {}) {
    const corrupt = corruptionFunction(options.corruption);
    if (corrupt) this.corrupt = corrupt;
  }

  loss(fwd: Forward): LossResult {
    return tidyLoss(() => {
      if (!fwd.q.mean) {
        throw new Error(
          `autoencoder: uses the posterior's mean as the code, but the posterior ${distributionName(fwd.q)} has no mean(); ` +
            `use a posterior family with one (e.g. diagonal_gaussian)`,
        );
      }
      const z = fwd.q.mean();
      const reconstruction = tf.neg(tf.mean(fwd.decode(z).logProb(fwd.x))) as tf.Scalar;
      return { loss: tf.clone(reconstruction), terms: { reconstruction } };
    });
  }

  describe(): string[] {
    return ["autoencoder: z = the posterior's mean (deterministic), no KL", ...describeCorruption(this.options.corruption)];
  }
}

export const autoencoder = defineComponent({
  kind: 'objective',
  name: 'autoencoder',
  description: "Deterministic autoencoder baseline: −log p(x | z) at z = the posterior's mean, no KL.",
  schema: z.object({
    corruption: corruptionSchema,
  }),
  create: (options) => new Autoencoder({ corruption: options.corruption }),
});
