import * as tf from '@tensorflow/tfjs-core';
import { Normal, ShapeError, defineComponent, type LatentSpec, type PosteriorFamily } from '@vaelab/core';
import { z } from 'zod';

export type ScaleParameterization = 'log_var' | 'log_std';

/**
 * q(z | x) = N(μ, diag σ²). The encoder emits [μ, s] with s = log σ² (`log_var`, as in Kingma &
 * Welling's reference code) or s = log σ (`log_std`). z = μ + σ ⊙ ε is reparameterized.
 */
export class DiagonalGaussianPosterior implements PosteriorFamily {
  readonly reparameterized = true;
  readonly variables: tf.Variable[] = [];

  constructor(readonly parameterization: ScaleParameterization = 'log_var') {}

  paramShape(latent: LatentSpec): number[] {
    return [2 * latent.dim];
  }

  // params: [batch, 2 * latentDim] -> Normal with batch [batch], event [latentDim]
  distribution(params: tf.Tensor): Normal {
    if (params.rank !== 2 || params.shape[1]! % 2 !== 0) {
      throw new ShapeError(`diagonal_gaussian: encoder output has shape [${params.shape.join(', ')}], expected [batch, 2 * latent_dim]`);
    }
    const [loc, s] = tf.split(params, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const logScale = this.parameterization === 'log_var' ? tf.mul(s, 0.5) : s;
    return new Normal(loc, tf.exp(logScale), 1, logScale);
  }

  dispose(): void {}
}

export const diagonalGaussian = defineComponent({
  kind: 'posterior',
  name: 'diagonal_gaussian',
  description: 'Diagonal Gaussian posterior; the encoder predicts the mean and the log-variance or log-std.',
  schema: z.object({
    scale: z.enum(['log_var', 'log_std']).default('log_var').describe('what the encoder predicts for the scale'),
  }),
  create: (options) => new DiagonalGaussianPosterior(options.scale),
});
