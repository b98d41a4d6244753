import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, OneHotCategorical, type Prior, defineComponent } from '@vaelab/core';
import { z } from 'zod';

/**
 * p(z) = Π_n Uniform over K categories, one-hot: latentDim = N·K values, read as N consecutive
 * groups of K. For discrete latents (the `relaxed_categorical` posterior) and VQ codes.
 */
export class UniformCategoricalPrior implements Prior {
  readonly variables: tf.Variable[] = [];

  constructor(
    readonly latentDim: number,
    readonly categories: number,
  ) {
    if (latentDim % categories !== 0) {
      const n = Math.max(1, Math.round(latentDim / categories));
      throw new ComponentConfigError(
        `prior.categories: uniform_categorical reads latent_dim as groups of ${categories} categories, but latent_dim ${latentDim} is not a multiple of ${categories} (e.g. latent_dim ${n * categories} = ${n} × ${categories})`,
        'prior.categories',
      );
    }
  }

  // -> batch [batch], event [latentDim]; uniform logits
  distribution(batch: number): OneHotCategorical {
    return new OneHotCategorical(tf.zeros([batch, this.latentDim]), this.categories);
  }

  dispose(): void {}
}

export const uniformCategorical = defineComponent({
  kind: 'prior',
  name: 'uniform_categorical',
  description: 'Uniform categorical over groups of K categories (latent_dim must be a multiple of K); KL against relaxed_categorical is analytic.',
  schema: z.object({
    categories: z.number().int().min(2).describe('number of categories K per variable; latent_dim must be a multiple of it'),
  }),
  create: (options, ctx) => new UniformCategoricalPrior(ctx.latentDim, options.categories),
});
