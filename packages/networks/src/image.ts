import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, ShapeError, sizeOf } from '@vaelab/core';
import { z } from 'zod';
import { ACTIVATIONS, type Activation, INITS, type Init } from './dense.js';
import { NORMS, type Norm } from './layers.js';

/* Shape arithmetic and label conditioning shared by the convolutional and residual networks. */

export type Condition = 'dense' | 'maps';
export const CONDITIONS: readonly Condition[] = ['dense', 'maps'];

/** An example's shape read as an image [height, width, channels]; [h, w] means one channel. */
export function imageDims(shape: number[], path: string, what: string): { height: number; width: number; channels: number } {
  if ((shape.length !== 3 && shape.length !== 2) || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ComponentConfigError(
      `${path}: a ${what} needs image data of shape [height, width, channels]; the data has shape [${shape.join(', ')}]. Use the mlp ${path.split('.')[0]} for flat data`,
      path,
    );
  }
  return { height: shape[0]!, width: shape[1]!, channels: shape[2] ?? 1 };
}

/**
 * The number of stride-`stride` stages an image of `height`×`width` allows: each stage divides the
 * map (rounding up), and the last one must still see more than one pixel along the shorter side.
 */
export function maxStages(height: number, width: number, stride: number): number {
  if (stride === 1) return Infinity;
  let n = 0;
  for (let size = Math.min(height, width); size >= stride; size = Math.ceil(size / stride)) n++;
  return n;
}

/** Throws a config error saying why when `stages` stride-`stride` stages do not fit the image. */
export function checkStages(stages: number, height: number, width: number, stride: number, path: string, what: string): void {
  const most = maxStages(height, width, stride);
  if (stages > most) {
    throw new ComponentConfigError(
      `${path}: ${stages} stages with stride ${stride} do not fit a ${height}×${width} image (each stage divides the map by ${stride}; the ` +
        `last would see a map smaller than ${stride} pixels). A ${height}×${width} image allows at most ${most}: give ${what} at most ${most} entries` +
        (stride > 2 ? ' or use a smaller stride' : ''),
      path,
    );
  }
}

/** ceil(n / s^k). */
export function shrink(n: number, stride: number, stages: number): number {
  let m = n;
  for (let i = 0; i < stages; i++) m = Math.ceil(m / stride);
  return m;
}

/** Options every image network has, each described for `vaelab list`. */
export const imageOptions = {
  activation: z.enum(ACTIVATIONS as [Activation, ...Activation[]]).default('relu').describe('activation after every hidden layer'),
  norm: z.enum(NORMS as [Norm, ...Norm[]]).default('none').describe('normalization after every hidden convolution: none, batch, group or layer'),
  norm_groups: z.number().int().positive().default(8).describe('groups of channels for norm: group (must divide every hidden channel count)'),
  init: z.enum(INITS as [Init, ...Init[]]).default('uniform_fan_in').describe('weight initialization'),
  condition: z
    .enum(CONDITIONS as [Condition, ...Condition[]])
    .default('dense')
    .describe(
      'how a label condition enters (conditional runs only): dense = one-hot concatenated to the input of the dense part; maps = one-hot broadcast over the feature map as extra channels',
    ),
};

/** Checks that `groups` divides every channel count when group normalization is used. */
export function checkGroups(norm: Norm, groups: number, channels: readonly number[], path: string): void {
  if (norm !== 'group') return;
  const bad = channels.find((c) => c % groups !== 0);
  if (bad !== undefined) {
    throw new ComponentConfigError(`${path}.norm_groups: ${groups} groups do not divide ${bad} channels; choose a divisor of every entry of channels (${channels.join(', ')})`, `${path}.norm_groups`);
  }
}

/**
 * Checks a condition tensor against what the network was built for: cond [batch, condDim] when
 * condDim > 0, nothing otherwise.
 */
export function checkCond(name: string, cond: tf.Tensor | undefined, condDim: number, batch: number): tf.Tensor2D | undefined {
  if (condDim === 0) return undefined;
  if (!cond) throw new ShapeError(`${name}: built for a label condition of size ${condDim} but called without one (pass cond: [batch, ${condDim}])`);
  if (cond.rank !== 2 || cond.shape[0] !== batch || cond.shape[1] !== condDim) {
    throw new ShapeError(`${name}: condition has shape [${cond.shape.join(', ')}], expected [${batch}, ${condDim}]`);
  }
  return cond as tf.Tensor2D;
}

/** How many label values join the dense part (`condition: dense`) and the feature map (`maps`). */
export function condWidths(condDim: number, condition: Condition): { dense: number; maps: number } {
  return { dense: condDim > 0 && condition === 'dense' ? condDim : 0, maps: condDim > 0 && condition === 'maps' ? condDim : 0 };
}

/** cond [b, k] broadcast over an h×w map and concatenated to x [b, h, w, c] as k more channels. */
export function concatMaps(x: tf.Tensor4D, cond: tf.Tensor2D): tf.Tensor4D {
  const [b, h, w] = x.shape;
  const k = cond.shape[1];
  const maps = tf.mul(tf.reshape(cond, [b, 1, 1, k]), tf.ones([1, h, w, 1]));
  return tf.concat([x, maps], 3) as tf.Tensor4D;
}

/** Checks the input of an image encoder: [batch, ...inputShape]. */
export function checkInput(name: string, x: tf.Tensor, inputShape: number[]): void {
  if (sizeOf(x.shape.slice(1)) !== sizeOf(inputShape) || x.shape.length - 1 !== inputShape.length) {
    throw new ShapeError(`${name}: input has shape [${x.shape.join(', ')}], expected [batch, ${inputShape.join(', ')}]`);
  }
}
