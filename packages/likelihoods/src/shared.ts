import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, ShapeError, SupportError, shapesEqual, sizeOf, unravel } from '@vaelab/core';

/* Helpers shared by the likelihoods of this package (not exported from index.ts). */

/** Smallest positive normal float32; log of it is ≈ −87.3. */
export const TINY = 1.1754944e-38;
/** Largest float32 below 1. */
export const ONE_MINUS_EPS = 1 - 2 ** -24;

/**
 * Checks that the decoder output `params` is [...batch, ...expected] with at least one batch axis;
 * throws a ShapeError naming the component and both shapes.
 */
export function checkParamShape(who: string, params: tf.Tensor, expected: readonly number[], dataShape: readonly number[]): void {
  const lead = params.rank - expected.length;
  if (lead < 1 || !shapesEqual(params.shape.slice(lead), expected)) {
    throw new ShapeError(
      `${who}: decoder output has shape [${params.shape.join(', ')}], expected [batch, ${expected.join(', ')}] ` +
        `(the parameter shape for data of shape [${dataShape.join(', ')}])`,
    );
  }
}

/** Where flat offset `i` of a split lies: "index 1570 (example 2, position [0, 2] of [28, 28, 1])". */
function describeDataIndex(i: number, dataShape: readonly number[]): string {
  const size = sizeOf(dataShape);
  if (size === 0) return `index ${i}`;
  return `index ${i} (example ${Math.floor(i / size)}, position [${unravel(i % size, dataShape).join(', ')}] of [${dataShape.join(', ')}])`;
}

export interface DataInfo {
  split: string;
  dataset: string;
  levels: number | null;
}

/** `checkData` for likelihoods on [0, 1]: throws a SupportError at the first value outside it. */
export function checkUnitIntervalData(who: string, values: Float32Array, info: DataInfo, dataShape: readonly number[]): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= 1)) {
      throw new SupportError(
        `${who}: dataset '${info.dataset}', split '${info.split}': value ${v} at ${describeDataIndex(i, dataShape)} ` +
          `is outside [0, 1], the support of the ${who} likelihood`,
      );
    }
  }
}

/** Tolerance on x·255 being an integer (float32 data stored as k/255). */
export const LEVEL_TOLERANCE = 1e-4;

/** The level index k of x = k/(levels − 1) when x is one, else -1. */
function levelOf(v: number, levels: number): number {
  const scaled = v * (levels - 1);
  const k = Math.round(scaled);
  return Math.abs(scaled - k) <= LEVEL_TOLERANCE && k >= 0 && k <= levels - 1 ? k : -1;
}

/** `checkData` for 8-bit likelihoods: every value is k/255 for an integer k in 0..255. */
export function checkLevelData(who: string, values: Float32Array, info: DataInfo, dataShape: readonly number[], levels: number): void {
  if (info.levels !== levels) {
    throw new SupportError(
      `${who}: dataset '${info.dataset}' has levels ${info.levels}, but the ${who} likelihood needs ${levels}-level data ` +
        `(values k/${levels - 1}, k = 0..${levels - 1})`,
    );
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (levelOf(v, levels) < 0) {
      throw new SupportError(
        `${who}: dataset '${info.dataset}', split '${info.split}': value ${v} at ${describeDataIndex(i, dataShape)} ` +
          `is not one of the ${levels} levels k/${levels - 1} (value·${levels - 1} must be an integer in 0..${levels - 1} within ${LEVEL_TOLERANCE})`,
      );
    }
  }
}

/**
 * Under validation: every value of `x` is one of the levels k/(levels − 1). Throws a SupportError
 * naming `who`, the offending value, its index and the shape of `x`.
 */
export function assertLevels(who: string, x: tf.Tensor, levels: number): void {
  const data = x.dataSync();
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (levelOf(v, levels) < 0) {
      throw new SupportError(
        `${who}: value must be one of the ${levels} levels k/${levels - 1} (value·${levels - 1} an integer in 0..${levels - 1}); ` +
          `got ${v} at index [${unravel(i, x.shape).join(', ')}] of shape [${x.shape.join(', ')}]`,
      );
    }
  }
}

/** Build-time check that the dataset is 8-bit; `ctxLevels` is LikelihoodContext.levels. */
export function requireLevels(who: string, ctxLevels: number | null, levels: number): void {
  if (ctxLevels !== levels) {
    throw new ComponentConfigError(
      `likelihood: '${who}' needs ${levels}-level data (8-bit values k/${levels - 1}), but the dataset has levels ${ctxLevels}` +
        `${ctxLevels === null ? ' (continuous)' : ''}; choose a likelihood for continuous data (gaussian, laplace, continuous_bernoulli) or an 8-bit dataset`,
      'likelihood',
    );
  }
}

/** log(eᵃ + eᵇ) = max + softplus(−|a − b|), stable for any a, b (including one of them −∞). */
export function logAddExp(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.add(tf.maximum(a, b), tf.softplus(tf.neg(tf.abs(tf.sub(a, b))))));
}

/**
 * log(1 + y) for y ∈ (−1, ∞), accurate for small |y|: tfjs-wasm computes `tf.log1p(y)` as log(1 + y),
 * which loses all relative precision below |y| ≈ 1e-4. Goldberg's trick: with w = fl(1 + y),
 * log1p(y) = log(w)·y / (w − 1) (and y when w = 1), since log(w)/(w − 1) is smooth around w = 1. The
 * denominator is made safe where w = 1 so that no gradient becomes NaN.
 */
export function log1pAccurate(y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const w = tf.add(1, y);
    const exact = offTape(w, (t) => tf.equal(t, 1));
    const denominator = tf.where(exact, tf.onesLike(w), tf.sub(w, 1));
    return tf.where(exact, y, tf.div(tf.mul(tf.log(w), y), denominator));
  });
}

/** Uniform noise in [TINY, 1 − 2⁻²⁴]: neither log u nor log(1 − u) meets 0. */
export function openUniform(rng: { uniform(shape: number[]): tf.Tensor }, shape: number[]): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(rng.uniform(shape), TINY, ONE_MINUS_EPS));
}

/**
 * fn(x) computed off the gradient tape, so that gradients see a constant (zeros flow back to x).
 * tfjs has no gradient for comparisons (less, equal, ...) or argMax and refuses to differentiate
 * through them even where their output only selects a branch; masks and discrete draws that depend
 * on a parameter are computed through this.
 */
export function offTape(x: tf.Tensor, fn: (x: tf.Tensor) => tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([input]);
    return { value: fn(input), gradFunc: (_dy: tf.Tensor, saved: tf.Tensor[]) => tf.zerosLike(saved[0]!) };
  });
  return f(x);
}
