import * as tf from '@tensorflow/tfjs-core';
import { VaeLabError } from '@vaelab/core';
import type { VaeModel } from '@vaelab/objectives';
import { type CodeOptions, decodeCodes, encodeMeans } from './generate.js';

export const INTERPOLATION_MODES = ['linear', 'slerp'] as const;
export type InterpolationMode = (typeof INTERPOLATION_MODES)[number];

/** Below this angle (radians) slerp is numerically linear interpolation, and is computed as such. */
const SLERP_MIN_ANGLE = 1e-4;

/**
 * `steps` codes from `a` to `b` (both endpoints included), at t = 0, 1/(steps−1), …, 1.
 * linear: (1 − t)·a + t·b. slerp (White 2016, "Sampling Generative Networks", §2.2):
 *   slerp(a, b; t) = sin((1 − t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b,  cos Ω = â·b̂,
 * which follows the great circle and keeps |z| when |a| = |b|: under a Gaussian prior, codes
 * concentrate near a sphere of radius √d, and the straight line's midpoint falls inside it where
 * the prior put little mass. Near Ω = 0 and at Ω = π (antipodes, no unique great circle) slerp
 * falls back to the straight line. Returns [steps * dim] values, row-major.
 */
export function interpolateCodes(a: ArrayLike<number>, b: ArrayLike<number>, steps: number, mode: InterpolationMode = 'linear'): Float32Array {
  const dim = a.length;
  if (b.length !== dim) throw new VaeLabError(`interpolateCodes: the endpoints have ${dim} and ${b.length} dimensions`);
  if (!Number.isInteger(steps) || steps < 2) throw new VaeLabError(`interpolateCodes: steps must be an integer >= 2, got ${steps}`);
  if (!INTERPOLATION_MODES.includes(mode)) throw new VaeLabError(`interpolateCodes: mode must be one of ${INTERPOLATION_MODES.join(', ')}, got '${String(mode)}'`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let j = 0; j < dim; j++) {
    dot += a[j]! * b[j]!;
    na += a[j]! ** 2;
    nb += b[j]! ** 2;
  }
  const cos = na > 0 && nb > 0 ? Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb))) : 1;
  const omega = Math.acos(cos);
  const spherical = mode === 'slerp' && omega > SLERP_MIN_ANGLE && Math.PI - omega > SLERP_MIN_ANGLE;
  const out = new Float32Array(steps * dim);
  for (let s = 0; s < steps; s++) {
    const t = s / (steps - 1);
    const [wa, wb] = spherical ? [Math.sin((1 - t) * omega) / Math.sin(omega), Math.sin(t * omega) / Math.sin(omega)] : [1 - t, t];
    for (let j = 0; j < dim; j++) out[s * dim + j] = wa * a[j]! + wb * b[j]!;
  }
  // the endpoints exactly (sin((1 − t)Ω)/sin Ω is 1 only up to rounding)
  for (let j = 0; j < dim; j++) {
    out[j] = a[j]!;
    out[(steps - 1) * dim + j] = b[j]!;
  }
  return out;
}

export interface InterpolationOptions extends CodeOptions {
  steps?: number;
  mode?: InterpolationMode;
  /** The condition of each endpoint for a conditional model ([1, classes] each); the path uses `cond` of the first. */
}

export interface Interpolation {
  /** [steps, latentDim]: the path between the posterior means of the two inputs. */
  codes: tf.Tensor2D;
  /** [steps, ...dataShape]: the decoded path; the first and last are the reconstructions of the inputs. */
  images: tf.Tensor;
}

/**
 * Encode two inputs (each [1, ...dataShape]) to their posterior means and decode the path between
 * them. The endpoints decode exactly to the inputs' reconstructions (`reconstruct`).
 */
export function interpolate(model: VaeModel, from: tf.Tensor, to: tf.Tensor, opts: InterpolationOptions = {}): Interpolation {
  const steps = opts.steps ?? 10;
  const codes = tf.tidy(() => {
    const ends = encodeMeans(model, tf.concat([from, to], 0), opts.cond ? { ...opts, cond: tf.concat([opts.cond, opts.cond], 0) } : opts);
    const values = ends.dataSync();
    const dim = ends.shape[1];
    return tf.tensor2d(interpolateCodes(values.subarray(0, dim), values.subarray(dim), steps, opts.mode ?? 'linear'), [steps, dim]);
  });
  const cond = opts.cond ? tf.tile(opts.cond, [steps, 1]) : undefined;
  const images = decodeCodes(model, codes, { ...opts, cond });
  cond?.dispose();
  return { codes, images };
}
