import * as tf from '@tensorflow/tfjs-core';
import { RandomStream } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { interpolate, interpolateCodes } from './interpolate.js';
import { reconstruct } from './reconstruct.js';
import { linearGaussianModel, sampleData } from './test-helpers.js';

const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
const row = (values: Float32Array, i: number, dim: number) => values.subarray(i * dim, (i + 1) * dim);

describe('interpolateCodes', () => {
  it('linear: evenly spaced points from a to b, endpoints exact', () => {
    const path = interpolateCodes([0, 2], [4, -2], 5, 'linear');
    expect(Array.from(path)).toEqual([0, 2, 1, 1, 2, 0, 3, -1, 4, -2]);
  });

  it('slerp keeps the norm on the path between codes of equal norm, and follows the great circle', () => {
    const a = [3, 0, 4];
    const b = [0, 5, 0];
    const path = interpolateCodes(a, b, 9, 'slerp');
    for (let s = 0; s < 9; s++) expect(norm(row(path, s, 3))).toBeCloseTo(5, 5);
    // the midpoint is at 45° from each end (Ω = 90°), where the straight line's norm falls to 5/√2
    const mid = row(path, 4, 3);
    expect(mid[0]! / 3).toBeCloseTo(Math.SQRT1_2, 5);
    expect(mid[1]! / 5).toBeCloseTo(Math.SQRT1_2, 5);
    expect(norm(row(interpolateCodes(a, b, 9, 'linear'), 4, 3))).toBeCloseTo(5 / Math.SQRT2, 5);
    expect(Array.from(row(path, 0, 3))).toEqual(a);
    expect(Array.from(row(path, 8, 3))).toEqual(b);
  });

  it('slerp falls back to the straight line for parallel and antipodal codes', () => {
    expect(Array.from(interpolateCodes([1, 1], [2, 2], 3, 'slerp'))).toEqual([1, 1, 1.5, 1.5, 2, 2]);
    expect(Array.from(interpolateCodes([1, 0], [-1, 0], 3, 'slerp'))).toEqual([1, 0, 0, 0, -1, 0]);
  });

  it('rejects bad arguments with what is allowed', () => {
    expect(() => interpolateCodes([0], [1], 1)).toThrow(/steps must be an integer >= 2/);
    expect(() => interpolateCodes([0], [1, 2], 3)).toThrow(/1 and 2 dimensions/);
    expect(() => interpolateCodes([0], [1], 3, 'cubic' as 'linear')).toThrow(/linear, slerp/);
  });
});

describe('interpolate (a model)', () => {
  it('the endpoints decode to the reconstructions of the two inputs, for both modes, without leaking tensors', () => {
    const model = linearGaussianModel();
    const [a, b] = sampleData(2, 7);
    const from = tf.tensor2d([a!]);
    const to = tf.tensor2d([b!]);
    const before = tf.memory().numTensors;
    for (const mode of ['linear', 'slerp'] as const) {
      const path = interpolate(model, from, to, { steps: 6, mode });
      expect(path.codes.shape).toEqual([6, 2]);
      expect(path.images.shape).toEqual([6, 3]);
      const images = path.images.arraySync() as number[][];
      const rng = new RandomStream('unused', 1);
      for (const [x, got] of [[from, images[0]!], [to, images[5]!]] as const) {
        const r = reconstruct(model, x, rng);
        const want = (r.reconstruction.arraySync() as number[][])[0]!;
        got.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 5));
        r.reconstruction.dispose();
        r.posteriorMean?.dispose();
      }
      path.codes.dispose();
      path.images.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([from, to]);
  });
});
