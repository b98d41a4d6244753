import * as tf from '@tensorflow/tfjs-core';
import { type RandomStream, ShapeError, defineComponent } from '@vaelab/core';
import { z } from 'zod';
import type { Activation, Dense, Init } from './dense.js';
import { checkGroups, checkStages, concatMaps, imageOptions, shrink } from './image.js';
import { ImageDecoder, ImageEncoder, type ImageNetOptions, type UpsampleOptions, withKernel } from './image-net.js';
import { Conv2D, type Norm, type Normalization, UPSAMPLES, type Upsample, type Upsampler, makeNorm, normAct } from './layers.js';

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
    const h = this.conv1.apply(normAct(x, this.norm1, activation, training));
    return tf.add(x, this.conv2.apply(normAct(h, this.norm2, activation, training)));
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

/** `blocks` residual blocks for each entry of `o.channels`, at that many channels. */
function residualStages(o: ResNetOptions, rng: RandomStream): ResidualBlock[][] {
  return o.channels.map((c) => Array.from({ length: o.blocks }, () => new ResidualBlock(c, o.norm, o.norm_groups, o.init, rng)));
}

/**
 * Residual encoder: a 3×3 stem convolution to channels[0], then per stage a 4×4 stride-2
 * convolution to channels[i] followed by `blocks` residual blocks; a final norm and activation,
 * then the dense head to the posterior's parameters.
 */
export class ResNetEncoder extends ImageEncoder<ResNetOptions> {
  readonly stem: Conv2D;
  readonly downs: Conv2D[];
  readonly blocks: ResidualBlock[][];
  readonly finalNorm: Normalization | null;
  readonly head: Dense[];

  constructor(inputShape: number[], outputShape: number[], options: ResNetOptions, rng: RandomStream, condDim = 0, path = 'encoder') {
    super('resnet encoder', inputShape, outputShape, options, condDim, path);
    const o = options;
    const { height, width, channels } = this.input;
    if (o.channels.length === 0) throw new ShapeError(`${path}.channels: needs at least one stage`);
    checkStages(o.channels.length, height, width, 2, `${path}.channels`, 'channels');
    checkGroups(o.norm, o.norm_groups, o.channels, path);
    this.stem = new Conv2D(channels, o.channels[0]!, 3, 1, o.init, rng);
    this.downs = o.channels.map((c, i) => new Conv2D(o.channels[Math.max(i - 1, 0)]!, c, 4, 2, o.init, rng));
    this.blocks = residualStages(o, rng);
    const n = o.channels.length;
    const last = o.channels[n - 1]!;
    this.finalNorm = makeNorm(o.norm, last, o.norm_groups);
    this.head = this.makeHead(shrink(height, 2, n) * shrink(width, 2, n) * last, rng);
  }

  protected parts() {
    return [this.stem, ...this.downs, ...this.blocks.flat(), ...(this.finalNorm ? [this.finalNorm] : []), ...this.head];
  }

  protected features(x: T4): T4 {
    const { activation } = this.options;
    let h = this.stem.apply(x, false); // its input is data: no input gradient needed
    this.downs.forEach((down, i) => {
      h = down.apply(h);
      for (const block of this.blocks[i]!) h = block.apply(h, activation, this.training);
    });
    return normAct(h, this.finalNorm, activation, this.training);
  }
}

/**
 * Residual decoder: dense layers from z to a map of channels[0] channels at the data's size
 * divided by 2^stages, then per stage `blocks` residual blocks and a ×2 upsampling to the next
 * stage's channels (the last to channels[last]); a final norm and activation, a 3×3 convolution to
 * the likelihood's parameters per pixel (linear), and a crop to the data's height and width.
 */
export class ResNetDecoder extends ImageDecoder<UpsampleOptions<ResNetOptions>> {
  readonly blocks: ResidualBlock[][];
  readonly ups: Upsampler[];
  readonly finalNorm: Normalization | null;
  readonly out: Conv2D;

  constructor(latentDim: number, outputShape: number[], options: UpsampleOptions<ResNetOptions>, rng: RandomStream, condDim = 0, path = 'decoder') {
    super('resnet decoder', latentDim, outputShape, options, rng, condDim, path);
    const o = options;
    const last = o.channels[o.channels.length - 1]!;
    // With condition: maps, the label maps join the map after stage 0's blocks, as extra input
    // channels of the first upsampling (the blocks keep their channel count for the residual sum).
    this.blocks = residualStages(o, rng);
    this.ups = this.makeUpsamplers(last, rng);
    this.finalNorm = makeNorm(o.norm, last, o.norm_groups);
    this.out = new Conv2D(last, this.outChannels, 3, 1, o.init, rng);
  }

  protected parts() {
    return [...this.stem, ...this.blocks.flat(), ...this.ups, ...(this.finalNorm ? [this.finalNorm] : []), this.out];
  }

  protected upsample(x: T4, labelMaps: tf.Tensor2D | undefined): T4 {
    const { activation } = this.options;
    let h = x;
    this.ups.forEach((up, i) => {
      for (const block of this.blocks[i]!) h = block.apply(h, activation, this.training);
      if (i === 0 && labelMaps) h = concatMaps(h, labelMaps);
      h = up.apply(h);
    });
    return this.out.apply(normAct(h, this.finalNorm, activation, this.training));
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
  create: (options, ctx) => new ResNetDecoder(ctx.latentDim, ctx.outputShape, withKernel(options), ctx.streams.stream('init/decoder'), ctx.condDim ?? 0),
});
