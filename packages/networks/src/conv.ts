import type * as tf from '@tensorflow/tfjs-core';
import { type RandomStream, defineComponent, sizeOf } from '@vaelab/core';
import { z } from 'zod';
import type { Dense } from './dense.js';
import { checkGroups, checkStages, concatMaps, imageOptions, shrink } from './image.js';
import { ImageDecoder, ImageEncoder, type ImageNetOptions, type UpsampleOptions, withKernel } from './image-net.js';
import { Conv2D, type Normalization, UPSAMPLES, type Upsample, type Upsampler, makeNorm, normAct } from './layers.js';

type T4 = tf.Tensor4D;

/**
 * Convolutional encoder: strided 'same' convolutions (each followed by normalization and the
 * activation), flattened, then dense layers to the posterior's parameters (a linear last layer).
 * Stage i has `channels[i]` output channels and divides the map by `stride` (rounding up).
 */
export class ConvEncoder extends ImageEncoder<ImageNetOptions & { kernel: number; stride: number }> {
  readonly convs: Conv2D[];
  readonly head: Dense[];
  readonly featureShape: [number, number, number];
  private readonly norms: (Normalization | null)[];

  constructor(
    inputShape: number[],
    outputShape: number[],
    options: ImageNetOptions & { kernel: number; stride: number },
    rng: RandomStream,
    condDim = 0,
    path = 'encoder',
  ) {
    super('conv encoder', inputShape, outputShape, options, condDim, path);
    const { height, width, channels } = this.input;
    const o = options;
    checkStages(o.channels.length, height, width, o.stride, `${path}.channels`, 'channels');
    checkGroups(o.norm, o.norm_groups, o.channels, path);
    let inC = channels;
    this.convs = o.channels.map((c) => {
      const conv = new Conv2D(inC, c, o.kernel, o.stride, o.init, rng);
      inC = c;
      return conv;
    });
    this.norms = o.channels.map((c) => makeNorm(o.norm, c, o.norm_groups));
    const n = o.channels.length;
    this.featureShape = [shrink(height, o.stride, n), shrink(width, o.stride, n), inC];
    this.head = this.makeHead(sizeOf(this.featureShape), rng);
  }

  protected parts() {
    return [...this.convs, ...this.norms.filter((x): x is Normalization => x !== null), ...this.head];
  }

  protected features(x: T4): T4 {
    let h = x;
    // the first convolution's input is data: no input gradient needed
    this.convs.forEach((conv, i) => (h = normAct(conv.apply(h, i > 0), this.norms[i], this.options.activation, this.training)));
    return h;
  }
}

/**
 * Convolutional decoder: dense layers from z to a feature map of `channels[0]` channels at the
 * data's size divided by 2^stages (rounding up), then one upsampling stage per entry of `channels`
 * (stage i goes to channels[i+1], the last one to the likelihood's parameters per pixel, linear),
 * then a crop to the data's height and width (for sizes that are not multiples of 2^stages).
 */
export class ConvDecoder extends ImageDecoder<UpsampleOptions<ImageNetOptions>> {
  readonly stages: Upsampler[];
  private readonly norms: (Normalization | null)[];

  constructor(latentDim: number, outputShape: number[], options: UpsampleOptions<ImageNetOptions>, rng: RandomStream, condDim = 0, path = 'decoder') {
    super('conv decoder', latentDim, outputShape, options, rng, condDim, path);
    this.stages = this.makeUpsamplers(this.outChannels, rng);
    this.norms = options.channels.slice(1).map((c) => makeNorm(options.norm, c, options.norm_groups));
  }

  protected parts() {
    return [...this.stem, ...this.stages, ...this.norms.filter((x): x is Normalization => x !== null)];
  }

  protected upsample(x: T4, labelMaps: tf.Tensor2D | undefined): T4 {
    let h = labelMaps ? concatMaps(x, labelMaps) : x;
    this.stages.forEach((stage, i) => {
      h = stage.apply(h);
      if (i < this.stages.length - 1) h = normAct(h, this.norms[i], this.options.activation, this.training);
    });
    return h;
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
  create: (options, ctx) => new ConvDecoder(ctx.latentDim, ctx.outputShape, withKernel(options), ctx.streams.stream('init/decoder'), ctx.condDim ?? 0),
});
