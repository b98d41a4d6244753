import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, SupportError } from './errors.js';

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

/* Argument validation (TFP's validate_args): off by default because it reads tensors back. */

let validating = false;

/** Turn value checks of distribution parameters and arguments on or off; returns the old setting. */
export function setValidation(on: boolean): boolean {
  const old = validating;
  validating = on;
  return old;
}

export function validationEnabled(): boolean {
  return validating;
}

/** Run `fn` with validation on, restoring the previous setting afterwards. */
export function withValidation<T>(fn: () => T): T {
  const old = setValidation(true);
  try {
    return fn();
  } finally {
    setValidation(old);
  }
}

export interface ValueConstraint {
  /** Human description of what is allowed, e.g. "positive" or "integers in 0..255". */
  readonly allowed: string;
  readonly min?: number;
  readonly max?: number;
  /** Exclusive bounds. */
  readonly above?: number;
  readonly below?: number;
  readonly integer?: boolean;
}

function violates(v: number, c: ValueConstraint): boolean {
  if (Number.isNaN(v)) return true;
  if (c.min !== undefined && v < c.min) return true;
  if (c.max !== undefined && v > c.max) return true;
  if (c.above !== undefined && !(v > c.above)) return true;
  if (c.below !== undefined && !(v < c.below)) return true;
  if (c.integer && !Number.isInteger(v)) return true;
  return false;
}

/** The multi-index of flat offset `i` in `shape` (row-major), for messages naming a position. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    const n = shape[a]!;
    out[a] = i % n;
    i = Math.floor(i / n);
  }
  return out;
}

/**
 * Throws a SupportError naming `who`, `what`, the shape, the first offending value and its index,
 * unless every value satisfies the constraint. Reads the tensor back: call it when
 * `validationEnabled()` or on data that is checked once.
 */
export function assertValues(who: string, what: string, values: tf.Tensor | ArrayLike<number>, c: ValueConstraint, shape?: readonly number[]): void {
  const data = values instanceof tf.Tensor ? values.dataSync() : values;
  const dims = values instanceof tf.Tensor ? values.shape : (shape ?? [data.length]);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (violates(v, c)) {
      throw new SupportError(
        `${who}: ${what} must be ${c.allowed}; got ${v} at index [${unravel(i, dims).join(', ')}] of shape [${dims.join(', ')}]`,
      );
    }
  }
}

/**
 * `tf.broadcastTo` with a fast gradient. tfjs's own BroadcastTo gradient takes seconds on wasm
 * (26 s for a scalar broadcast to [128, 28, 28, 1], against 4 ms here); adding zeros of the target
 * shape broadcasts the same values and its gradient is a plain sum over the broadcast axes.
 */
export function broadcastTo(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
  return tf.tidy(() => tf.add(x, tf.zeros([...shape], x.dtype)));
}

/**
 * The shape that all `shapes` broadcast to (numpy rules: align on the right, 1 stretches), or a
 * ShapeError naming `who` and each shape. `shapes` pairs a name with a shape.
 */
export function broadcastShapes(who: string, shapes: ReadonlyArray<readonly [string, readonly number[]]>): number[] {
  const rank = Math.max(0, ...shapes.map(([, s]) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const [, s] of shapes) {
    for (let i = 0; i < s.length; i++) {
      const a = rank - s.length + i;
      const n = s[i]!;
      if (n === out[a] || n === 1) continue;
      if (out[a] === 1) out[a] = n;
      else {
        const listed = shapes.map(([name, sh]) => `${name} [${sh.join(', ')}]`).join(', ');
        throw new ShapeError(`${who}: parameter shapes do not broadcast: ${listed}`);
      }
    }
  }
  return out;
}

/** x broadcast to `shape` with `broadcastTo` (fast gradient), or x itself when it has that shape already. */
export function broadcastIfNeeded(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
  return shapesEqual(x.shape, shape) ? x : broadcastTo(x, shape);
}

/** A number as a float32 scalar tensor; a tensor as it is. */
export function asTensor(x: tf.Tensor | number): tf.Tensor {
  return typeof x === 'number' ? tf.scalar(x) : x;
}
