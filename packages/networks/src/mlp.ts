import * as tf from '@tensorflow/tfjs-core';
import { type Decoder, type Encoder, type RandomStream, ShapeError, defineComponent, sizeOf } from '@vaelab/core';
import { z } from 'zod';
import { checkCond } from './image.js';
import { ACTIVATIONS, type Activation, Dense, INITS, type Init, activate } from './dense.js';

export interface MlpOptions {
  hidden: number[];
  activation: Activation;
  init: Init;
}

/**
 * A multilayer perceptron from a flattened input to a flattened output, reshaped to
 * `outputShape`. Hidden layers use `activation`; the output layer is linear, because it emits
 * distribution parameters (logits, means, log-scales) in their unconstrained form.
 */
export class Mlp implements Encoder, Decoder {
  readonly layers: Dense[];
  private readonly inputSize: number;

  constructor(
    readonly inputShape: number[],
    readonly outputShape: number[],
    readonly options: MlpOptions,
    rng: RandomStream,
    /** Size of a label condition (one-hot) concatenated to the flattened input; 0 for none. */
    readonly condDim = 0,
  ) {
    this.inputSize = sizeOf(inputShape);
    const sizes = [this.inputSize + condDim, ...options.hidden, sizeOf(outputShape)];
    this.layers = sizes.slice(1).map((out, i) => new Dense(sizes[i]!, out, options.init, rng));
  }

  // x: [batch, ...inputShape], cond: [batch, condDim] -> [batch, ...outputShape]
  apply(x: tf.Tensor, cond?: tf.Tensor): tf.Tensor {
    const batch = x.shape[0]!;
    if (sizeOf(x.shape.slice(1)) !== this.inputSize) {
      throw new ShapeError(
        `mlp: input has shape [${x.shape.join(', ')}], expected [batch, ${this.inputShape.join(', ')}] (${this.inputSize} values per example)`,
      );
    }
    let h = (x.rank === 2 ? x : tf.reshape(x, [batch, this.inputSize])) as tf.Tensor2D;
    const c = checkCond('mlp', cond, this.condDim, batch);
    if (c) h = tf.concat([h, c], 1);
    this.layers.forEach((layer, i) => {
      h = layer.apply(h);
      if (i < this.layers.length - 1) h = activate(h, this.options.activation) as tf.Tensor2D;
    });
    return this.outputShape.length === 1 ? h : tf.reshape(h, [batch, ...this.outputShape]);
  }

  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.variables);
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

const mlpSchema = z.object({
  hidden: z.array(z.number().int().positive()).default([400]).describe('sizes of the hidden layers'),
  activation: z.enum(ACTIVATIONS as [Activation, ...Activation[]]).default('relu').describe('hidden-layer activation'),
  init: z.enum(INITS as [Init, ...Init[]]).default('uniform_fan_in').describe('weight initialization'),
});

export const mlpEncoder = defineComponent({
  kind: 'encoder',
  name: 'mlp',
  description: 'MLP encoder: flattened input -> hidden layers -> posterior parameters.',
  schema: mlpSchema,
  create: (options, ctx) => new Mlp(ctx.inputShape, ctx.outputShape, options, ctx.streams.stream('init/encoder'), ctx.condDim ?? 0),
});

export const mlpDecoder = defineComponent({
  kind: 'decoder',
  name: 'mlp',
  description: 'MLP decoder: latent -> hidden layers -> likelihood parameters, reshaped to the data shape.',
  schema: mlpSchema,
  create: (options, ctx) => new Mlp([ctx.latentDim], ctx.outputShape, options, ctx.streams.stream('init/decoder'), ctx.condDim ?? 0),
});
