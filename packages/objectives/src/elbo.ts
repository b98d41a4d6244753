import * as tf from '@tensorflow/tfjs';
import { type Forward, type LossResult, type Objective, type StepContext, defineComponent, kl } from '@vaelab/core';
import { z } from 'zod';

export interface ElboOptions {
  /** Monte Carlo samples of z per example for the reconstruction term. */
  samples: number;
  /** Samples for the KL estimate when no analytic form is registered. */
  klSamples: number;
}

/**
 * Negative ELBO, nats per example (Kingma & Welling 2013, eq. 7):
 *   loss = E_q[−log p(x|z)] + KL(q(z|x) ‖ p(z)),
 * with the KL analytic when the (q, p) pair is registered and a Monte Carlo estimate otherwise.
 * Terms: `reconstruction` (E_q[−log p(x|z)]), `kl`, both averaged over the batch.
 */
export class Elbo implements Objective {
  readonly name = 'elbo';
  readonly needsReparameterization = true;
  private klAnalytic: boolean | undefined;

  constructor(readonly options: ElboOptions) {}

  loss(fwd: Forward, ctx: StepContext): LossResult {
    const { samples, klSamples } = this.options;
    let nll = tf.neg(fwd.px.logProb(fwd.x));
    for (let s = 1; s < samples; s++) {
      const z = fwd.q.rsample ? fwd.q.rsample(ctx.noise) : fwd.q.sample(ctx.noise);
      nll = tf.add(nll, tf.neg(fwd.decode(z).logProb(fwd.x)));
    }
    if (samples > 1) nll = tf.div(nll, samples);
    const klResult = kl(fwd.q, fwd.prior, { rng: ctx.noise, samples: klSamples, z: fwd.z });
    this.klAnalytic = klResult.analytic;
    const reconstruction = tf.mean(nll) as tf.Scalar;
    const klTerm = tf.mean(klResult.value) as tf.Scalar;
    return { loss: tf.add(reconstruction, klTerm) as tf.Scalar, terms: { reconstruction, kl: klTerm } };
  }

  describe(): string[] {
    if (this.klAnalytic === undefined) return [];
    return [this.klAnalytic ? 'kl: analytic' : `kl: Monte Carlo estimate with ${this.options.klSamples} sample(s)`];
  }
}

export const elbo = defineComponent({
  kind: 'objective',
  name: 'elbo',
  description: 'Negative evidence lower bound: reconstruction + KL, in nats per example.',
  schema: z.object({
    samples: z.number().int().min(1).default(1).describe('samples of z per example for the reconstruction term'),
    kl_samples: z.number().int().min(1).default(1).describe('samples for the KL estimate when it is not analytic'),
  }),
  create: (options) => new Elbo({ samples: options.samples, klSamples: options.kl_samples }),
});
