import * as tf from '@tensorflow/tfjs-core';
import { type Decoder, type Encoder, type RandomStream, ShapeError, defineComponent, sizeOf } from '@vaelab/core';
import { z } from 'zod';
import { type Activation, Dense, type Init, activate } from './dense.js';
import {
  type Condition,
  checkCond,
  checkGroups,
  checkInput,
  checkStages,
  concatMaps,
  imageDims,
  imageOptions,
  shrink,
} from './image.js';
import { Conv2D, type Norm, Normalization, UPSAMPLES, type Upsample, Upsampler, makeNorm } from './layers.js';

type T4 = tf.Tensor4D;

export interface ImageNetOptions {
  channels: readonly number[];
  hidden: readonly number[];
  activation: Activation;
  norm: Norm;
  norm_groups: number;
  init: Init;
  condition: Condition;
}

/** Common plumbing: variables, state, the training flag, disposal. */
abstract class ImageNet {
  protected training = false;
  protected norms: (Normalization | null)[] = [];
  protected abstract parts(): { variables: tf.Variable[] }[];

  setTraining(training: boolean): void {
    this.training = training;
  }

  get variables(): tf.Variable[] {
    return this.parts().flatMap((p) => p.variables);
  }

  get state(): tf.Variable[] {
    return this.norms.flatMap((n) => (n ? n.state : []));
  }

  dispose(): void {
    for (const v of [...this.variables, ...this.state]) v.dispose();
  }

  protected normAct(h: T4, i: number, activation: Activation): T4 {
    const norm = this.norms[i];
    return activate(norm ? norm.apply(h, this.training) : h, activation) as T4;
  }
}

/** Dense layers with `activation` between them and a linear last layer: [b, n] -> [b, out]. */
export function denseStack(layers: Dense[], h: tf.Tensor2D, activation: Activation, linearLast: boolean): tf.Tensor2D {
  let y = h;
  layers.forEach((layer, i) => {
    y = layer.apply(y);
    if (!linearLast || i < layers.length - 1) y = activate(y, activation) as tf.Tensor2D;
  });
  return y;
}

/**
 * Convolutional encoder: strided 'same' convolutions (each followed by normalization and the
 * activation), flattened, then dense layers to the posterior's parameters (a linear last layer).
 * Stage i has `channels[i]` output channels and divides the map by `stride` (rounding up).
 */
export class ConvEncoder extends ImageNet implements Encoder {
  readonly convs: Conv2D[];
  readonly head: Dense[];
  readonly featureShape: [number, number, number];

  constructor(
    readonly inputShape: number[],
    readonly outputShape: number[],
    readonly options: ImageNetOptions & { kernel: number; stride: number },
    rng: RandomStream,
    readonly condDim = 0,
    path = 'encoder',
  ) {
    super();
    const { height, width, channels } = imageDims(inputShape, path, 'conv encoder');
    const o = options;
    checkStages(o.channels.length, height, width, o.stride, `${path}.channels`, 'channels');
    checkGroups(o.norm, o.norm_groups, o.channels, path);
    const maps = condDim > 0 && o.condition === 'maps' ? condDim : 0;
    let inC = channels + maps;
    this.convs = o.channels.map((c) => {
      const conv = new Conv2D(inC, c, o.kernel, o.stride, o.init, rng);
      inC = c;
      return conv;
    });
    this.norms = o.channels.map((c) => makeNorm(o.norm, c, o.norm_groups));
    const n = o.channels.length;
    this.featureShape = [shrink(height, o.stride, n), shrink(width, o.stride, n), o.channels[n - 1] ?? channels];
    const flat = sizeOf(this.featureShape) + (condDim > 0 && o.condition === 'dense' ? condDim : 0);
    const sizes = [flat, ...o.hidden, sizeOf(outputShape)];
    this.head = sizes.slice(1).map((out, i) => new Dense(sizes[i]!, out, o.init, rng));
  }

  protected parts() {
    return [...this.convs, ...this.norms.filter((x): x is Normalization => x !== null), ...this.head];
  }

  // x: [batch, h, w, c] (or [batch, h, w]), cond: [batch, condDim] -> [batch, ...outputShape]
  apply(x: tf.Tensor, cond?: tf.Tensor): tf.Tensor {
    checkInput('conv encoder', x, this.inputShape);
    const batch = x.shape[0]!;
    const c = checkCond('conv encoder', cond, this.condDim, batch);
    const { activation, condition } = this.options;
    let h = (x.rank === 4 ? x : tf.reshape(x, [batch, this.inputShape[0]!, this.inputShape[1]!, 1])) as T4;
    if (c && condition === 'maps') h = concatMaps(h, c);
    // the first convolution's input is data: no input gradient needed
    this.convs.forEach((conv, i) => (h = this.normAct(conv.apply(h, i > 0), i, activation)));
    let flat = tf.reshape(h, [batch, -1]) as tf.Tensor2D;
    if (c && condition === 'dense') flat = tf.concat([flat, c], 1);
    const out = denseStack(this.head, flat, activation, true);
    return tf.reshape(out, [batch, ...this.outputShape]);
  }
}

/**
 * Convolutional decoder: dense layers from z to a feature map of `channels[0]` channels at the
 * data's size divided by 2^stages (rounding up), then one upsampling stage per entry of `channels`
 * (stage i goes to channels[i+1], the last one to the likelihood's parameters per pixel, linear),
 * then a crop to the data's height and width (for sizes that are not multiples of 2^stages).
 */
export class ConvDecoder extends ImageNet implements Decoder {
  readonly stem: Dense[];
  readonly stages: Upsampler[];
  readonly stemShape: [number, number, number];
  private readonly height: number;
  private readonly width: number;

  constructor(
    readonly latentDim: number,
    readonly outputShape: number[],
    readonly options: ImageNetOptions & { kernel: number; upsample: Upsample },
    rng: RandomStream,
    readonly condDim = 0,
    path = 'decoder',
  ) {
    super();
    const o = options;
    if (outputShape.length < 3) imageDims(outputShape, path, 'conv decoder');
    this.height = outputShape[0]!;
    this.width = outputShape[1]!;
    const outC = sizeOf(outputShape.slice(2));
    const n = o.channels.length;
    if (n === 0) throw new ShapeError(`${path}.channels: needs at least one upsampling stage`);
    checkStages(n, this.height, this.width, 2, `${path}.channels`, 'channels');
    checkGroups(o.norm, o.norm_groups, o.channels, path);
    this.stemShape = [shrink(this.height, 2, n), shrink(this.width, 2, n), o.channels[0]!];
    const dense = condDim > 0 && o.condition === 'dense' ? condDim : 0;
    const sizes = [latentDim + dense, ...o.hidden, sizeOf(this.stemShape)];
    this.stem = sizes.slice(1).map((out, i) => new Dense(sizes[i]!, out, o.init, rng));
    const maps = condDim > 0 && o.condition === 'maps' ? condDim : 0;
    this.stages = o.channels.map((c, i) => new Upsampler(o.upsample, c + (i === 0 ? maps : 0), o.channels[i + 1] ?? outC, o.kernel, 2, o.init, rng));
    this.norms = o.channels.slice(1).map((c) => makeNorm(o.norm, c, o.norm_groups));
  }

  protected parts() {
    return [...this.stem, ...this.stages, ...this.norms.filter((x): x is Normalization => x !== null)];
  }

  // z: [batch, latentDim], cond: [batch, condDim] -> [batch, ...outputShape]
  apply(z: tf.Tensor, cond?: tf.Tensor): tf.Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.latentDim) {
      throw new ShapeError(`conv decoder: z has shape [${z.shape.join(', ')}], expected [batch, ${this.latentDim}]`);
    }
    const batch = z.shape[0]!;
    const c = checkCond('conv decoder', cond, this.condDim, batch);
    const { activation, condition } = this.options;
    const input = c && condition === 'dense' ? tf.concat([z as tf.Tensor2D, c], 1) : (z as tf.Tensor2D);
    let h = tf.reshape(denseStack(this.stem, input, activation, false), [batch, ...this.stemShape]) as T4;
    if (c && condition === 'maps') h = concatMaps(h, c);
    this.stages.forEach((stage, i) => {
      h = stage.apply(h);
      if (i < this.stages.length - 1) h = this.normAct(h, i, activation);
    });
    if (h.shape[1] !== this.height || h.shape[2] !== this.width) h = tf.slice(h, [0, 0, 0, 0], [batch, this.height, this.width, -1]);
    return tf.reshape(h, [batch, ...this.outputShape]);
  }
}

const convShared = {
  channels: z.array(z.number().int().positive()).describe('channels of each stage'),
  hidden: z.array(z.number().int().positive()).default([256]).describe('sizes of the dense hidden layers (encoder: after the convolutions; decoder: before them)'),
  ...imageOptions,
};

export const convEncoder = defineComponent({
  kind: 'encoder',
  name: 'conv',
  description: 'Convolutional encoder: strided convolutions, then a dense head to the posterior parameters.',
  schema: z.object({
    ...convShared,
    channels: convShared.channels.default([32, 64]),
    kernel: z.number().int().positive().default(4).describe('kernel size of every convolution'),
    stride: z.number().int().positive().default(2).describe('stride of every convolution (each stage divides the map by it)'),
  }),
  create: (options, ctx) => new ConvEncoder(ctx.inputShape, ctx.outputShape, options, ctx.streams.stream('init/encoder'), ctx.condDim ?? 0),
});

export const convDecoder = defineComponent({
  kind: 'decoder',
  name: 'conv',
  description: 'Convolutional decoder: a dense stem to a feature map, then ×2 upsampling stages (transposed, subpixel or resize_conv).',
  schema: z.object({
    ...convShared,
    channels: convShared.channels.default([64, 32]),
    upsample: z.enum(UPSAMPLES as [Upsample, ...Upsample[]]).default('transposed').describe('upsampling: transposed convolution, subpixel (conv + depth-to-space, ICNR init) or resize_conv (nearest resize + conv)'),
    kernel: z.number().int().positive().optional().describe('kernel size (default 4 for transposed, 3 otherwise)'),
  }),
  create: (options, ctx) =>
    new ConvDecoder(
      ctx.latentDim,
      ctx.outputShape,
      { ...options, kernel: options.kernel ?? (options.upsample === 'transposed' ? 4 : 3) },
      ctx.streams.stream('init/decoder'),
      ctx.condDim ?? 0,
    ),
});
