import * as tf from '@tensorflow/tfjs-core';
import { type Forward, type LossResult, type Objective, type StepContext, defineComponent, iwBound } from '@vaelab/core';
import { z } from 'zod';
import { type CorruptFunction, type CorruptionOptions, corruptionFunction, corruptionSchema, describeCorruption } from './corruption.js';
import { type DataInfo, bitsPerDim, tidyLoss, vaeTerms } from './terms.js';

export interface IwaeOptions {
  /** Importance samples per example (≥ 1). */
  k: number;
  /** Input corruption for a denoising variant (default none). */
  corruption?: CorruptionOptions;
}

/**
 * The importance-weighted bound (Burda et al. 2016, eq. 8), negated, nats per example:
 *   loss = −mean_batch[ logsumexp_i (log p(x|z_i) + log p(z_i) − log q(z_i|x)) − log k ],
 * z_1..z_k ~ q(z|x). z_1 is the forward pass's z and its decoder output, so that k = 1 is exactly
 * the single-sample ELBO with a sampled KL; z_2..z_k are drawn by k − 1 separate rsample calls
 * (flows know log q only at their own samples) and decoded in one batch of (k − 1)·batch.
 * Terms: `iwae_bound` (= loss); `reconstruction`, `kl` (sampled), `nelbo` (= their sum, the mean of
 * −log w over the same samples); `bits_per_dim` (from nelbo) and `iwae_bits_per_dim` (from the
 * bound) when the data is discrete.
 */
export class Iwae implements Objective {
  readonly name = 'iwae';
  readonly needsReparameterization = true;
  readonly corrupt?: CorruptFunction;

  constructor(
    readonly options: IwaeOptions,
    readonly data: DataInfo = { discrete: false },
  ) {
    if (!Number.isInteger(options.k) || options.k < 1) throw new Error(`iwae: k must be a positive integer, got ${options.k}`);
    const corrupt = corruptionFunction(options.corruption);
    if (corrupt) this.corrupt = corrupt;
  }

  // log p(x|z_i), log p(z_i), log q(z_i|x): each [k, batch]
  loss(fwd: Forward, ctx: StepContext): LossResult {
    return tidyLoss(() => {
      const { k } = this.options;
      const { x, q, prior } = fwd;
      const batch = x.shape[0]!;
      const zs = [fwd.z];
      for (let i = 1; i < k; i++) zs.push(q.rsample ? q.rsample(ctx.noise) : q.sample(ctx.noise));
      let logPx = tf.expandDims(fwd.px.logProb(x), 0);
      if (k > 1) {
        const others = tf.concat(zs.slice(1), 0); // [(k − 1)·batch, ...latent]
        const xs = tf.tile(x, [k - 1, ...x.shape.slice(1).map(() => 1)]);
        const logPxOthers = tf.reshape(fwd.decode(others).logProb(xs), [k - 1, batch]);
        logPx = tf.concat([logPx, logPxOthers], 0);
      }
      const logQ = tf.stack(zs.map((zi) => q.logProb(zi)));
      const logPz = tf.stack(zs.map((zi) => prior.logProb(zi)));
      const logW = tf.sub(tf.add(logPx, logPz), logQ);
      const bound = iwBound(logW); // [batch]
      const loss = tf.neg(tf.mean(bound)) as tf.Scalar;
      const terms = vaeTerms(tf.neg(logPx), tf.sub(logQ, logPz), x, this.data);
      terms.iwae_bound = tf.clone(loss);
      if (this.data.discrete) terms.iwae_bits_per_dim = bitsPerDim(loss, x);
      return { loss, terms };
    });
  }

  describe(): string[] {
    const { k } = this.options;
    return [
      `iwae: k = ${k} importance sample(s) per example: the forward pass's z${k > 1 ? ` and ${k - 1} more` : ''}; kl: sampled`,
      ...describeCorruption(this.options.corruption),
    ];
  }
}

export const iwae = defineComponent({
  kind: 'objective',
  name: 'iwae',
  description: 'Importance-weighted autoencoder bound with k samples (negated, nats per example); k = 1 is the ELBO.',
  schema: z.object({
    k: z.number().int().min(1).default(5).describe('importance samples per example'),
    corruption: corruptionSchema,
  }),
  create: (options, ctx) => new Iwae({ k: options.k, corruption: options.corruption }, { discrete: ctx.discrete }),
});
