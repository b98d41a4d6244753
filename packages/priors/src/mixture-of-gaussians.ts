import * as tf from '@tensorflow/tfjs-core';
import { Normal, type Prior, type RandomStream, defineComponent } from '@vaelab/core';
import { z } from 'zod';
import { SharedMixture } from './mixture.js';

export interface MixtureOfGaussiansOptions {
  /** Number of components K. */
  components: number;
  /** Standard deviation of the initial component means, drawn N(0, init_scale²). */
  initScale: number;
  /** Initial log standard deviation of every component and dimension. */
  initLogScale: number;
}

/**
 * p(z) = Σ_k π_k N(z; μ_k, diag σ_k²) with learnable means, log-scales and mixture logits
 * (π = softmax(logits), initially uniform). There is no closed-form KL against a Gaussian
 * posterior, so objectives use their Monte Carlo estimate.
 */
export class MixtureOfGaussiansPrior implements Prior {
  /** μ: [K, latentDim]. */
  readonly means: tf.Variable;
  /** log σ: [K, latentDim]. */
  readonly logScales: tf.Variable;
  /** Mixture logits: [K]. */
  readonly logits: tf.Variable;

  constructor(
    readonly latentDim: number,
    options: MixtureOfGaussiansOptions,
    rng: RandomStream,
  ) {
    const k = options.components;
    const means = tf.tidy(() => tf.mul(rng.normal([k, latentDim]), options.initScale));
    this.means = tf.variable(means);
    means.dispose();
    this.logScales = tf.variable(tf.fill([k, latentDim], options.initLogScale));
    this.logits = tf.variable(tf.zeros([k]));
  }

  get variables(): tf.Variable[] {
    return [this.means, this.logScales, this.logits];
  }

  // -> batch [batch], event [latentDim]
  distribution(batch: number): SharedMixture {
    const components = new Normal(this.means, tf.exp(this.logScales), 1, this.logScales);
    return new SharedMixture(this.logits as tf.Tensor1D, components, batch, (indices) => {
      const logScale = tf.gather(this.logScales, indices);
      return new Normal(tf.gather(this.means, indices), tf.exp(logScale), 1, logScale);
    });
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

export const mixtureOfGaussians = defineComponent({
  kind: 'prior',
  name: 'mixture_of_gaussians',
  description: 'Mixture of K learnable diagonal Gaussians with learnable weights; KL is a Monte Carlo estimate.',
  schema: z.object({
    components: z.number().int().positive().default(10).describe('number of mixture components K'),
    init_scale: z.number().nonnegative().default(1).describe("standard deviation of the initial component means (drawn from the 'init/prior' stream)"),
    init_log_scale: z.number().default(0).describe('initial log standard deviation of every component'),
  }),
  create: (options, ctx) =>
    new MixtureOfGaussiansPrior(
      ctx.latentDim,
      { components: options.components, initScale: options.init_scale, initLogScale: options.init_log_scale },
      ctx.streams.stream('init/prior'),
    ),
});
