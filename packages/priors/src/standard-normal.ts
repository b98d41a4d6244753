import * as tf from '@tensorflow/tfjs-core';
import { Normal, defineComponent, type Prior } from '@vaelab/core';
import { z } from 'zod';

/** p(z) = N(0, I) over `latentDim` dimensions. No variables. */
export class StandardNormalPrior implements Prior {
  readonly variables: tf.Variable[] = [];

  constructor(readonly latentDim: number) {}

  distribution(batch: number): Normal {
    const zeros = tf.zeros([batch, this.latentDim]);
    return new Normal(zeros, tf.ones([batch, this.latentDim]), 1, zeros); // loc 0, log σ 0
  }

  dispose(): void {}
}

export const standardNormal = defineComponent({
  kind: 'prior',
  name: 'standard_normal',
  description: 'Standard normal prior N(0, I); KL against a diagonal Gaussian posterior is analytic.',
  schema: z.object({}),
  create: (_options, ctx) => new StandardNormalPrior(ctx.latentDim),
});
