import * as tf from '@tensorflow/tfjs-core';
import { type Decoder, type Encoder, type RandomStream, ShapeError, defineComponent, sizeOf } from '@vaelab/core';
import { z } from 'zod';
import { type Activation, Dense, type Init, activate } from './dense.js';
import { type ImageNetOptions, denseStack } from './conv.js';
import { checkCond, checkGroups, checkInput, checkStages, concatMaps, imageDims, imageOptions, shrink } from './image.js';
import { Conv2D, type Norm, type Normalization, UPSAMPLES, type Upsample, Upsampler, makeNorm } from './layers.js';

type T4 = tf.Tensor4D;

/**
 * A pre-activation residual block (He et al. 2016, "Identity mappings in deep residual networks"):
 * x + conv(act(norm(conv(act(norm(x)))))), both convolutions 3×3, stride 1, same channels.
 */
export class ResidualBlock {
  readonly conv1: Conv2D;
  readonly conv2: Conv2D;
  readonly norm1: Normalization | null;
  readonly norm2: Normalization | null;

  constructor(channels: number, norm: Norm, groups: number, init: Init, rng: RandomStream) {
    this.norm1 = makeNorm(norm, channels, groups);
    this.conv1 = new Conv2D(channels, channels, 3, 1, init, rng);
    this.norm2 = makeNorm(norm, channels, groups);
    this.conv2 = new Conv2D(channels, channels, 3, 1, init, rng);
  }

  apply(x: T4, activation: Activation, training: boolean): T4 {
    const pre = (h: T4, n: Normalization | null): T4 => activate(n ? n.apply(h, training) : h, activation) as T4;
    const h = this.conv1.apply(pre(x, this.norm1));
    return tf.add(x, this.conv2.apply(pre(h, this.norm2)));
  }

  get variables(): tf.Variable[] {
    return [...(this.norm1?.variables ?? []), ...this.conv1.variables, ...(this.norm2?.variables ?? []), ...this.conv2.variables];
  }

  get state(): tf.Variable[] {
    return [...(this.norm1?.state ?? []), ...(this.norm2?.state ?? [])];
  }
}

export interface ResNetOptions extends ImageNetOptions {
  blocks: number;
}

abstract class ResNet {
  protected training = false;
  protected abstract parts(): { variables: tf.Variable[]; state?: tf.Variable[] }[];

  setTraining(training: boolean): void {
    this.training = training;
  }
  get variables(): tf.Variable[] {
    return this.parts().flatMap((p) => p.variables);
  }
  get state(): tf.Variable[] {
    return this.parts().flatMap((p) => p.state ?? []);
  }
  dispose(): void {
    for (const v of [...this.variables, ...this.state]) v.dispose();
  }
}

/**
 * Residual encoder: a 3×3 stem convolution to channels[0], then per stage a 4×4 stride-2
 * convolution to channels[i] followed by `blocks` residual blocks; a final norm and activation,
 * then the dense head to the posterior's parameters.
 */
export class ResNetEncoder extends ResNet implements Encoder {
  readonly stem: Conv2D;
  readonly downs: Conv2D[];
  readonly blocks: ResidualBlock[][];
  readonly finalNorm: Normalization | null;
  readonly head: Dense[];

  constructor(
    readonly inputShape: number[],
    readonly outputShape: number[],
    readonly options: ResNetOptions,
    rng: RandomStream,
    readonly condDim = 0,
    path = 'encoder',
  ) {
    super();
    const o = options;
    const { height, width, channels } = imageDims(inputShape, path, 'resnet encoder');
    if (o.channels.length === 0) throw new ShapeError(`${path}.channels: needs at least one stage`);
    checkStages(o.channels.length, height, width, 2, `${path}.channels`, 'channels');
    checkGroups(o.norm, o.norm_groups, o.channels, path);
    const maps = condDim > 0 && o.condition === 'maps' ? condDim : 0;
    this.stem = new Conv2D(channels + maps, o.channels[0]!, 3, 1, o.init, rng);
    this.downs = o.channels.map((c, i) => new Conv2D(o.channels[Math.max(i - 1, 0)]!, c, 4, 2, o.init, rng));
    this.blocks = o.channels.map((c) => Array.from({ length: o.blocks }, () => new ResidualBlock(c, o.norm, o.norm_groups, o.init, rng)));
    const n = o.channels.length;
    const last = o.channels[n - 1]!;
    this.finalNorm = makeNorm(o.norm, last, o.norm_groups);
    const flat = shrink(height, 2, n) * shrink(width, 2, n) * last + (condDim > 0 && o.condition === 'dense' ? condDim : 0);
    const sizes = [flat, ...o.hidden, sizeOf(outputShape)];
    this.head = sizes.slice(1).map((out, i) => new Dense(sizes[i]!, out, o.init, rng));
  }

  protected parts() {
    return [this.stem, ...this.downs, ...this.blocks.flat(), ...(this.finalNorm ? [this.finalNorm] : []), ...this.head];
  }

  // x: [batch, h, w, c], cond: [batch, condDim] -> [batch, ...outputShape]
  apply(x: tf.Tensor, cond?: tf.Tensor): tf.Tensor {
    checkInput('resnet encoder', x, this.inputShape);
    const batch = x.shape[0]!;
    const c = checkCond('resnet encoder', cond, this.condDim, batch);
    const { activation, condition } = this.options;
    let h = (x.rank === 4 ? x : tf.reshape(x, [batch, this.inputShape[0]!, this.inputShape[1]!, 1])) as T4;
    if (c && condition === 'maps') h = concatMaps(h, c);
    h = this.stem.apply(h, false); // its input is data: no input gradient needed
    this.downs.forEach((down, i) => {
      h = down.apply(h);
      for (const block of this.blocks[i]!) h = block.apply(h, activation, this.training);
    });
    h = activate(this.finalNorm ? this.finalNorm.apply(h, this.training) : h, activation) as T4;
    let flat = tf.reshape(h, [batch, -1]) as tf.Tensor2D;
    if (c && condition === 'dense') flat = tf.concat([flat, c], 1);
    return tf.reshape(denseStack(this.head, flat, activation, true), [batch, ...this.outputShape]);
  }
}

/**
 * Residual decoder: dense layers from z to a map of channels[0] channels at the data's size
 * divided by 2^stages, then per stage `blocks` residual blocks and a ×2 upsampling to the next
 * stage's channels (the last to channels[last]); a final norm and activation, a 3×3 convolution to
 * the likelihood's parameters per pixel (linear), and a crop to the data's height and width.
 */
export class ResNetDecoder extends ResNet implements Decoder {
  readonly stem: Dense[];
  readonly blocks: ResidualBlock[][];
  readonly ups: Upsampler[];
  readonly finalNorm: Normalization | null;
  readonly out: Conv2D;
  readonly stemShape: [number, number, number];
  private readonly height: number;
  private readonly width: number;

  constructor(
    readonly latentDim: number,
    readonly outputShape: number[],
    readonly options: ResNetOptions & { upsample: Upsample; kernel: number },
    rng: RandomStream,
    readonly condDim = 0,
    path = 'decoder',
  ) {
    super();
    const o = options;
    if (outputShape.length < 3) imageDims(outputShape, path, 'resnet decoder');
    this.height = outputShape[0]!;
    this.width = outputShape[1]!;
    const n = o.channels.length;
    if (n === 0) throw new ShapeError(`${path}.channels: needs at least one upsampling stage`);
    checkStages(n, this.height, this.width, 2, `${path}.channels`, 'channels');
    checkGroups(o.norm, o.norm_groups, o.channels, path);
    this.stemShape = [shrink(this.height, 2, n), shrink(this.width, 2, n), o.channels[0]!];
    const dense = condDim > 0 && o.condition === 'dense' ? condDim : 0;
    const sizes = [latentDim + dense, ...o.hidden, sizeOf(this.stemShape)];
    this.stem = sizes.slice(1).map((out, i) => new Dense(sizes[i]!, out, o.init, rng));
    const maps = condDim > 0 && o.condition === 'maps' ? condDim : 0;
    // With condition: maps, the label maps join the map after stage 0's blocks, as extra input
    // channels of the first upsampling (the blocks keep their channel count for the residual sum).
    this.blocks = o.channels.map((c) => Array.from({ length: o.blocks }, () => new ResidualBlock(c, o.norm, o.norm_groups, o.init, rng)));
    this.ups = o.channels.map((c, i) => new Upsampler(o.upsample, c + (i === 0 ? maps : 0), o.channels[i + 1] ?? c, o.kernel, 2, o.init, rng));
    const last = o.channels[n - 1]!;
    this.finalNorm = makeNorm(o.norm, last, o.norm_groups);
    this.out = new Conv2D(last, sizeOf(outputShape.slice(2)), 3, 1, o.init, rng);
  }

  protected parts() {
    return [...this.stem, ...this.blocks.flat(), ...this.ups, ...(this.finalNorm ? [this.finalNorm] : []), this.out];
  }

  // z: [batch, latentDim], cond: [batch, condDim] -> [batch, ...outputShape]
  apply(z: tf.Tensor, cond?: tf.Tensor): tf.Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.latentDim) {
      throw new ShapeError(`resnet decoder: z has shape [${z.shape.join(', ')}], expected [batch, ${this.latentDim}]`);
    }
    const batch = z.shape[0]!;
    const c = checkCond('resnet decoder', cond, this.condDim, batch);
    const { activation, condition } = this.options;
    const input = c && condition === 'dense' ? tf.concat([z as tf.Tensor2D, c], 1) : (z as tf.Tensor2D);
    let h = tf.reshape(denseStack(this.stem, input, activation, false), [batch, ...this.stemShape]) as T4;
    this.ups.forEach((up, i) => {
      for (const block of this.blocks[i]!) h = block.apply(h, activation, this.training);
      if (i === 0 && c && condition === 'maps') h = concatMaps(h, c);
      h = up.apply(h);
    });
    h = activate(this.finalNorm ? this.finalNorm.apply(h, this.training) : h, activation) as T4;
    h = this.out.apply(h);
    if (h.shape[1] !== this.height || h.shape[2] !== this.width) h = tf.slice(h, [0, 0, 0, 0], [batch, this.height, this.width, -1]);
    return tf.reshape(h, [batch, ...this.outputShape]);
  }
}

const resnetShared = {
  blocks: z.number().int().min(0).default(1).describe('residual blocks per stage'),
  hidden: z.array(z.number().int().positive()).default([]).describe('sizes of the dense hidden layers (encoder: after the convolutions; decoder: before them)'),
  ...imageOptions,
};

export const resnetEncoder = defineComponent({
  kind: 'encoder',
  name: 'resnet',
  description: 'Residual encoder: pre-activation residual blocks between stride-2 convolutions, then a dense head.',
  schema: z.object({
    channels: z.array(z.number().int().positive()).default([32, 64]).describe('channels of each stage (each stage halves the map)'),
    ...resnetShared,
  }),
  create: (options, ctx) => new ResNetEncoder(ctx.inputShape, ctx.outputShape, options, ctx.streams.stream('init/encoder'), ctx.condDim ?? 0),
});

export const resnetDecoder = defineComponent({
  kind: 'decoder',
  name: 'resnet',
  description: 'Residual decoder: a dense stem, then pre-activation residual blocks and ×2 upsampling stages.',
  schema: z.object({
    channels: z.array(z.number().int().positive()).default([64, 32]).describe('channels of each stage (each stage doubles the map)'),
    ...resnetShared,
    upsample: z.enum(UPSAMPLES as [Upsample, ...Upsample[]]).default('subpixel').describe('upsampling: transposed, subpixel or resize_conv'),
    kernel: z.number().int().positive().optional().describe('kernel size of the upsampling convolutions (default 4 for transposed, 3 otherwise)'),
  }),
  create: (options, ctx) =>
    new ResNetDecoder(
      ctx.latentDim,
      ctx.outputShape,
      { ...options, kernel: options.kernel ?? (options.upsample === 'transposed' ? 4 : 3) },
      ctx.streams.stream('init/decoder'),
      ctx.condDim ?? 0,
    ),
});
