import * as tf from '@tensorflow/tfjs-core';
import { type Decoder, type Encoder, type RandomStream, ShapeError, defineComponent, sizeOf } from '@vaelab/core';
import { z } from 'zod';
import { checkCond } from './image.js';
import { ACTIVATIONS, type Activation, FeatureMajorDense, INITS, type Init, activate } from './dense.js';

export interface MlpOptions {
  hidden: number[];
  activation: Activation;
  init: Init;
}

/**
 * A multilayer perceptron from a flattened input to a flattened output, reshaped to
 * `outputShape`. Hidden layers use `activation`; the output layer is linear, because it emits
 * distribution parameters (logits, means, log-scales) in their unconstrained form.
 *
 * It takes and returns batch-major tensors ([batch, ...]) but runs its layers feature-major: the
 * input is transposed once to [features, batch], each layer computes W h + b with W
 * [outputSize, inputSize], and the output is transposed back once. On tfjs-wasm this keeps the
 * weights off the right-hand side of matMul, which that backend re-packs on every call (see
 * `FeatureMajorDense`).
 */
export class Mlp implements Encoder, Decoder {
  readonly layers: FeatureMajorDense[];
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
    this.layers = sizes.slice(1).map((out, i) => new FeatureMajorDense(sizes[i]!, out, options.init, rng));
  }

  // x: [batch, ...inputShape], cond: [batch, condDim] -> [batch, ...outputShape]
  apply(x: tf.Tensor, cond?: tf.Tensor): tf.Tensor {
    const batch = x.shape[0]!;
    if (sizeOf(x.shape.slice(1)) !== this.inputSize) {
      throw new ShapeError(
        `mlp: input has shape [${x.shape.join(', ')}], expected [batch, ${this.inputShape.join(', ')}] (${this.inputSize} values per example)`,
      );
    }
    let input = (x.rank === 2 ? x : tf.reshape(x, [batch, this.inputSize])) as tf.Tensor2D;
    const c = checkCond('mlp', cond, this.condDim, batch);
    if (c) input = tf.concat([input, c], 1);
    // [batch, features] -> [features, batch] once; the layers run feature-major
    let h = tf.transpose(input);
    this.layers.forEach((layer, i) => {
      h = layer.apply(h);
      if (i < this.layers.length - 1) h = activate(h, this.options.activation) as tf.Tensor2D;
    });
    const out = tf.transpose(h);
    return this.outputShape.length === 1 ? out : tf.reshape(out, [batch, ...this.outputShape]);
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
