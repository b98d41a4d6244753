import * as tf from '@tensorflow/tfjs-core';
import { type Decoder, type Encoder, type RandomStream, ShapeError, sizeOf } from '@vaelab/core';
import { type Activation, Dense, type Init, activate } from './dense.js';
import { type Condition, checkCond, checkGroups, checkInput, checkStages, concatMaps, condWidths, imageDims, shrink } from './image.js';
import { type Norm, type Upsample, Upsampler } from './layers.js';

/*
 * What the convolutional and residual networks share: the options, the bookkeeping of variables
 * and state, an encoder's input handling and dense head, and a decoder's dense stem to a feature
 * map and its final crop. The conv and resnet files add only their stages.
 */

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

/** Dense layers with `activation` between them and a linear last layer: [b, n] -> [b, out]. */
export function denseStack(layers: Dense[], h: tf.Tensor2D, activation: Activation, linearLast: boolean): tf.Tensor2D {
  let y = h;
  layers.forEach((layer, i) => {
    y = layer.apply(y);
    if (!linearLast || i < layers.length - 1) y = activate(y, activation) as tf.Tensor2D;
  });
  return y;
}

/** Dense layers from sizes[0] through each later size, initialized in order from `rng`. */
export function denseLayers(sizes: readonly number[], init: Init, rng: RandomStream): Dense[] {
  return sizes.slice(1).map((out, i) => new Dense(sizes[i]!, out, init, rng));
}

/** A decoder's options: the image options and its stages' upsampling. */
export type UpsampleOptions<O extends ImageNetOptions> = O & { upsample: Upsample; kernel: number };

/** A decoder's options with the kernel filled in: 4 for transposed convolutions, 3 otherwise. */
export function withKernel<O extends { upsample: Upsample; kernel?: number | undefined }>(options: O): O & { kernel: number } {
  return { ...options, kernel: options.kernel ?? (options.upsample === 'transposed' ? 4 : 3) };
}

/** Common plumbing: variables and state in the order of `parts()`, the training flag, disposal. */
export abstract class ImageNet {
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
 * An image encoder: the input as a map [batch, h, w, c] (the one-hot label broadcast over it as
 * extra channels with `condition: maps`), the subclass's `features`, flattened (the label
 * concatenated with `condition: dense`), then the dense `head` to the posterior's parameters.
 */
export abstract class ImageEncoder<O extends ImageNetOptions> extends ImageNet implements Encoder {
  /** The input image's size; `channels` counts the label maps too when they join the input. */
  protected readonly input: { height: number; width: number; channels: number };
  protected abstract readonly head: Dense[];

  constructor(
    private readonly what: string,
    readonly inputShape: number[],
    readonly outputShape: number[],
    readonly options: O,
    readonly condDim: number,
    path: string,
  ) {
    super();
    const { height, width, channels } = imageDims(inputShape, path, what);
    this.input = { height, width, channels: channels + condWidths(condDim, options.condition).maps };
  }

  /** The dense head from `features` values per example (and the label, when dense) to the output. */
  protected makeHead(features: number, rng: RandomStream): Dense[] {
    const o = this.options;
    return denseLayers([features + condWidths(this.condDim, o.condition).dense, ...o.hidden, sizeOf(this.outputShape)], o.init, rng);
  }

  /** The convolutional part: input map (label maps included) -> final feature map. */
  protected abstract features(h: T4): T4;

  // x: [batch, h, w, c] (or [batch, h, w]), cond: [batch, condDim] -> [batch, ...outputShape]
  apply(x: tf.Tensor, cond?: tf.Tensor): tf.Tensor {
    checkInput(this.what, x, this.inputShape);
    const batch = x.shape[0]!;
    const c = checkCond(this.what, cond, this.condDim, batch);
    const { activation, condition } = this.options;
    let h = (x.rank === 4 ? x : tf.reshape(x, [batch, this.inputShape[0]!, this.inputShape[1]!, 1])) as T4;
    if (c && condition === 'maps') h = concatMaps(h, c);
    h = this.features(h);
    let flat = tf.reshape(h, [batch, -1]) as tf.Tensor2D;
    if (c && condition === 'dense') flat = tf.concat([flat, c], 1);
    return tf.reshape(denseStack(this.head, flat, activation, true), [batch, ...this.outputShape]);
  }
}

/**
 * An image decoder: dense layers from z (and the label, with `condition: dense`) to a feature map
 * of channels[0] channels at the data's size divided by 2^stages (rounding up), the subclass's
 * `upsample` (one ×2 stage per entry of channels), then a crop to the data's height and width (for
 * sizes that are not multiples of 2^stages).
 */
export abstract class ImageDecoder<O extends UpsampleOptions<ImageNetOptions>> extends ImageNet implements Decoder {
  readonly stem: Dense[];
  readonly stemShape: [number, number, number];
  protected readonly height: number;
  protected readonly width: number;
  /** Values per pixel of the likelihood's parameters. */
  protected readonly outChannels: number;

  constructor(
    private readonly what: string,
    readonly latentDim: number,
    readonly outputShape: number[],
    readonly options: O,
    rng: RandomStream,
    readonly condDim: number,
    path: string,
  ) {
    super();
    const o = options;
    if (outputShape.length < 3) imageDims(outputShape, path, what);
    this.height = outputShape[0]!;
    this.width = outputShape[1]!;
    this.outChannels = sizeOf(outputShape.slice(2));
    const n = o.channels.length;
    if (n === 0) throw new ShapeError(`${path}.channels: needs at least one upsampling stage`);
    checkStages(n, this.height, this.width, 2, `${path}.channels`, 'channels');
    checkGroups(o.norm, o.norm_groups, o.channels, path);
    this.stemShape = [shrink(this.height, 2, n), shrink(this.width, 2, n), o.channels[0]!];
    const { dense } = condWidths(condDim, o.condition);
    this.stem = denseLayers([latentDim + dense, ...o.hidden, sizeOf(this.stemShape)], o.init, rng);
  }

  /**
   * One ×2 upsampling per stage, initialized in order from `rng`: stage i from channels[i] to
   * channels[i+1] and the last to `lastChannels`; with `condition: maps` the label maps join the
   * first one's input as extra channels.
   */
  protected makeUpsamplers(lastChannels: number, rng: RandomStream): Upsampler[] {
    const o = this.options;
    const { maps } = condWidths(this.condDim, o.condition);
    return o.channels.map((c, i) => new Upsampler(o.upsample, c + (i === 0 ? maps : 0), o.channels[i + 1] ?? lastChannels, o.kernel, 2, o.init, rng));
  }

  /** The upsampling part: the stem's map -> [batch, ≥height, ≥width, outChannels]; `c` is the label (maps). */
  protected abstract upsample(h: T4, c: tf.Tensor2D | undefined): T4;

  // z: [batch, latentDim], cond: [batch, condDim] -> [batch, ...outputShape]
  apply(z: tf.Tensor, cond?: tf.Tensor): tf.Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.latentDim) {
      throw new ShapeError(`${this.what}: z has shape [${z.shape.join(', ')}], expected [batch, ${this.latentDim}]`);
    }
    const batch = z.shape[0]!;
    const c = checkCond(this.what, cond, this.condDim, batch);
    const { activation, condition } = this.options;
    const input = c && condition === 'dense' ? tf.concat([z as tf.Tensor2D, c], 1) : (z as tf.Tensor2D);
    const stem = tf.reshape(denseStack(this.stem, input, activation, false), [batch, ...this.stemShape]) as T4;
    let h = this.upsample(stem, c && condition === 'maps' ? c : undefined);
    if (h.shape[1] !== this.height || h.shape[2] !== this.width) h = tf.slice(h, [0, 0, 0, 0], [batch, this.height, this.width, -1]);
    return tf.reshape(h, [batch, ...this.outputShape]);
  }
}
