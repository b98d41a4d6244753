import * as tf from '@tensorflow/tfjs';
import { ShapeError } from './errors.js';

export const LOG_2PI = Math.log(2 * Math.PI);

/**
 * Identity in the forward pass, zero gradient in the backward pass (tfjs has no stop_gradient).
 * Used for `sample()` and, later, for VQ-VAE's sg[·].
 */
export const stopGradient = tf.customGrad((...inputs) => ({
  value: (inputs[0] as tf.Tensor).clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

/** Sum over the trailing `eventRank` axes: per-element terms -> one number per batch member. */
export function sumEvent(x: tf.Tensor, eventRank: number): tf.Tensor {
  if (eventRank === 0) return x;
  const axes = Array.from({ length: eventRank }, (_, i) => x.rank - eventRank + i);
  return tf.sum(x, axes);
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Throws a ShapeError naming `who` and both shapes unless they are equal. */
export function assertShape(who: string, what: string, actual: readonly number[], expected: readonly number[]): void {
  if (!shapesEqual(actual, expected)) {
    throw new ShapeError(`${who}: ${what} has shape [${actual.join(', ')}], expected [${expected.join(', ')}]`);
  }
}

/** The number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
