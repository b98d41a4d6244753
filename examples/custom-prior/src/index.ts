import * as tf from '@tensorflow/tfjs-core';
import { type KLRule, Normal, type Prior, defineComponent, sumEvent } from '@vaelab/core';
import { Laplace } from '@vaelab/likelihoods';
import { z } from 'zod';

/*
 * A prior that VAE Lab does not ship, defined in a package of its own and registered through the
 * project's vaelab.config.yaml (`plugins: ['@vaelab/example-custom-prior']`). The module exports
 * what our own packages export: `components`, and `klRules` so the ELBO uses the closed form
 * below instead of a Monte Carlo estimate.
 */

/**
 * p(z) = Π_j Laplace(z_j; 0, b): heavier tails and a sharper peak than N(0, I), a sparsity prior on
 * the code. With b = 1/√2 its variance (2b²) is 1, that of the standard normal.
 */
export class LaplacePrior implements Prior {
  readonly variables: tf.Variable[] = [];

  constructor(
    readonly latentDim: number,
    readonly b: number,
  ) {}

  // -> Laplace with batch shape [batch], event shape [latentDim]
  distribution(batch: number): Laplace {
    return new Laplace(tf.zeros([batch, this.latentDim]), tf.fill([batch, this.latentDim], this.b));
  }

  dispose(): void {}
}

export const laplacePrior = defineComponent({
  kind: 'prior',
  name: 'laplace',
  description: 'Factorized Laplace prior Π Laplace(0, b) (example plugin); KL against a diagonal Gaussian posterior is analytic.',
  schema: z.object({
    b: z.number().positive().default(Math.SQRT1_2).describe('scale b of every latent dimension (variance 2b²; 1/√2 gives unit variance)'),
  }),
  create: (options, ctx) => new LaplacePrior(ctx.latentDim, options.b),
});

const LOG_2PI_E = Math.log(2 * Math.PI) + 1;

/**
 * KL(N(μ, σ²) ‖ Laplace(m, b)) per dimension, summed over the event:
 *   −H(q) + log 2b + E_q|z − m| / b,  H(q) = ½ log(2πe σ²),
 *   E|z − m| = σ √(2/π) exp(−d²/2σ²) + d · erf(d / (σ√2)),  d = μ − m
 * (the mean of a folded normal; Leone, Nelson & Nottingham 1961).
 */
export function klNormalLaplace(q: Normal, p: Laplace): tf.Tensor {
  return tf.tidy(() => {
    const d = tf.sub(q.loc, p.loc);
    const sigma = q.scale;
    const folded = tf.add(
      tf.mul(tf.mul(sigma, Math.sqrt(2 / Math.PI)), tf.exp(tf.neg(tf.div(tf.square(d), tf.mul(2, tf.square(sigma)))))),
      tf.mul(d, tf.erf(tf.div(d, tf.mul(sigma, Math.SQRT2)))),
    );
    const negEntropy = tf.neg(tf.add(q.logScale, 0.5 * LOG_2PI_E));
    const perElement = tf.add(tf.add(negEntropy, tf.add(p.logScale, Math.LN2)), tf.div(folded, p.scale));
    return sumEvent(perElement, q.eventRank);
  });
}

export const components = [laplacePrior];
export const klRules: KLRule[] = [{ q: Normal, p: Laplace, fn: klNormalLaplace as KLRule['fn'] }];
