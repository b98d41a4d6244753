import * as tf from '@tensorflow/tfjs-core';
import { RandomStreams } from '@vaelab/core';
import { afterAll, describe, expect, it } from 'vitest';
import { conv2d, conv2dTranspose, depthToSpace, upsampleNearest } from './conv-ops.js';

/** Largest |a − b| relative to the largest |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 1e-12;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  expect(a.length).toBe(b.length);
  return err / scale;
}

/** Runs `f` on the cpu backend (tfjs's own conv2d and its stock gradients), then returns to the test backend. */
async function onCpu<R>(f: () => R): Promise<R> {
  const before = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return f();
  } finally {
    await tf.setBackend(before);
  }
}

const rng = new RandomStreams(7).stream('conv-ops');
const data = (shape: number[]) => Array.from(rng.normal(shape).dataSync());
const backend = tf.getBackend();

afterAll(async () => {
  await tf.setBackend(backend);
});

// [h, w, cIn, cOut, k, stride]: even and odd sizes, non-square, k = 1..5, strides 1..3
const CASES: [number, number, number, number, number, number][] = [
  [8, 8, 3, 5, 4, 2],
  [7, 9, 2, 4, 3, 2],
  [5, 5, 4, 3, 3, 1],
  [7, 7, 3, 2, 1, 2],
  [9, 6, 2, 3, 5, 3],
  [6, 6, 2, 2, 4, 1],
];

describe('conv2d on the test backend (wasm) equals tfjs conv2d on cpu', () => {
  it.each(CASES)('h=%i w=%i cIn=%i cOut=%i k=%i s=%i: value and both gradients', async (h, w, cIn, cOut, k, s) => {
    const b = 3;
    const xs = data([b, h, w, cIn]);
    const ws = data([k, k, cIn, cOut]);
    const ho = Math.ceil(h / s);
    const wo = Math.ceil(w / s);
    const dys = data([b, ho, wo, cOut]);
    const run = (ours: boolean) =>
      tf.tidy(() => {
        const x = tf.tensor4d(xs, [b, h, w, cIn]);
        const wt = tf.tensor4d(ws, [k, k, cIn, cOut]);
        const dy = tf.tensor4d(dys, [b, ho, wo, cOut]);
        const f = (xx: tf.Tensor, ww: tf.Tensor) =>
          tf.sum(tf.mul(ours ? conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, s) : tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, s, 'same'), dy));
        const y = ours ? conv2d(x, wt, s) : tf.conv2d(x, wt, s, 'same');
        const [gx, gw] = tf.grads(f)([x, wt]);
        return [y.dataSync(), gx!.dataSync(), gw!.dataSync()].map((v) => Array.from(v));
      });
    const mine = run(true);
    const reference = await onCpu(() => run(false));
    for (let i = 0; i < 3; i++) expect(relErr(mine[i]!, reference[i]!)).toBeLessThan(2e-6);
  });
});

describe('conv2dTranspose equals tfjs conv2dTranspose on cpu', () => {
  it.each([
    [4, 4, 3, 2, 4, 2],
    [3, 5, 2, 3, 3, 2],
    [4, 3, 2, 2, 5, 3],
  ])('h=%i w=%i cIn=%i cOut=%i k=%i s=%i: value and both gradients', async (h, w, cIn, cOut, k, s) => {
    const b = 2;
    const xs = data([b, h, w, cIn]);
    const ws = data([k, k, cOut, cIn]);
    const dys = data([b, h * s, w * s, cOut]);
    const run = (ours: boolean) =>
      tf.tidy(() => {
        const x = tf.tensor4d(xs, [b, h, w, cIn]);
        const wt = tf.tensor4d(ws, [k, k, cOut, cIn]);
        const dy = tf.tensor4d(dys, [b, h * s, w * s, cOut]);
        const op = (xx: tf.Tensor, ww: tf.Tensor) =>
          ours
            ? conv2dTranspose(xx as tf.Tensor4D, ww as tf.Tensor4D, s)
            : tf.conv2dTranspose(xx as tf.Tensor4D, ww as tf.Tensor4D, [b, h * s, w * s, cOut], s, 'same');
        const y = op(x, wt);
        const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(op(xx, ww), dy)))([x, wt]);
        return [y.dataSync(), gx!.dataSync(), gw!.dataSync()].map((v) => Array.from(v));
      });
    const mine = run(true);
    const reference = await onCpu(() => run(false));
    for (let i = 0; i < 3; i++) expect(relErr(mine[i]!, reference[i]!)).toBeLessThan(2e-6);
  });
});

describe('depthToSpace and nearest upsampling', () => {
  it('match tf.depthToSpace and tf.image.resizeNearestNeighbor, and have gradients', () => {
    tf.tidy(() => {
      const x = tf.tensor4d(data([2, 3, 4, 8]), [2, 3, 4, 8]);
      expect(Array.from(depthToSpace(x, 2).dataSync())).toEqual(Array.from(tf.depthToSpace(x, 2).dataSync()));
      const up = upsampleNearest(x, 2);
      expect(up.shape).toEqual([2, 6, 8, 8]);
      expect(Array.from(up.dataSync())).toEqual(Array.from(tf.image.resizeNearestNeighbor(x, [6, 8]).dataSync()));
      // d/dx Σ upsample(x) = r² per element; Σ depthToSpace(x)·c has gradient c rearranged back.
      expect(Array.from(tf.grad((v: tf.Tensor) => tf.sum(upsampleNearest(v as tf.Tensor4D, 2)))(x).dataSync())).toEqual(new Array(x.size).fill(4));
      const target = tf.depthToSpace(x, 2);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(depthToSpace(v as tf.Tensor4D, 2), target)))(x);
      expect(Array.from(g.dataSync())).toEqual(Array.from(x.dataSync()));
    });
  });
});
