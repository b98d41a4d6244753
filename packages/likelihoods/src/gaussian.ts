import * as tf from '@tensorflow/tfjs';
import { type Likelihood, Normal, defineComponent } from '@vaelab/core';
import { z } from 'zod';

/** p(x | z) = N(x; μ(z), σ² I) with a fixed σ; the decoder emits μ. */
export class FixedGaussianLikelihood implements Likelihood {
  readonly discrete = false;
  readonly variables: tf.Variable[] = [];

  constructor(
    readonly dataShape: number[],
    readonly sigma: number,
  ) {
    if (!(sigma > 0)) throw new Error(`gaussian: sigma must be positive, got ${sigma}`);
  }

  paramShape(dataShape: number[]): number[] {
    return [...dataShape];
  }

  distribution(params: tf.Tensor): Normal {
    const scale = tf.fill(params.shape, this.sigma);
    return new Normal(params, scale, this.dataShape.length, tf.fill(params.shape, Math.log(this.sigma)));
  }

  dispose(): void {}
}

export const gaussian = defineComponent({
  kind: 'likelihood',
  name: 'gaussian',
  description: 'Gaussian per pixel with a fixed standard deviation; the decoder emits the mean.',
  schema: z.object({
    sigma: z.number().positive().default(1).describe('fixed standard deviation σ'),
  }),
  create: (options, ctx) => new FixedGaussianLikelihood(ctx.dataShape, options.sigma),
});
