import * as tf from '@tensorflow/tfjs-core';
import { Normal, broadcastTo, defineComponent, type Prior } from '@vaelab/core';
import { z } from 'zod';

/**
 * p(z) = N(m, diag s²) with a learnable mean m and log-scale log s per latent dimension. The
 * distribution is core's `Normal`, so KL against a diagonal Gaussian posterior stays analytic.
 */
export class GaussianPrior implements Prior {
  /** m: [latentDim]. */
  readonly loc: tf.Variable;
  /** log s: [latentDim]. */
  readonly logScale: tf.Variable;

  constructor(
    readonly latentDim: number,
    initMean = 0,
    initLogScale = 0,
  ) {
    this.loc = tf.variable(tf.fill([latentDim], initMean));
    this.logScale = tf.variable(tf.fill([latentDim], initLogScale));
  }

  get variables(): tf.Variable[] {
    return [this.loc, this.logScale];
  }

  // -> batch [batch], event [latentDim]; gradients flow back through the broadcast to the variables
  distribution(batch: number): Normal {
    const shape = [batch, this.latentDim];
    const logScale = broadcastTo(this.logScale, shape);
    return new Normal(broadcastTo(this.loc, shape), tf.exp(logScale), 1, logScale);
  }

  dispose(): void {
    this.loc.dispose();
    this.logScale.dispose();
  }
}

export const gaussian = defineComponent({
  kind: 'prior',
  name: 'gaussian',
  description: 'Learnable diagonal Gaussian prior N(m, diag s²); KL against a diagonal Gaussian posterior is analytic.',
  schema: z.object({
    init_mean: z.number().default(0).describe('initial mean m of every latent dimension'),
    init_log_scale: z.number().default(0).describe('initial log standard deviation log s of every latent dimension'),
  }),
  create: (options, ctx) => new GaussianPrior(ctx.latentDim, options.init_mean, options.init_log_scale),
});
