import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { fillTriangular, matrixDiagonal, solveLowerTriangular, triangleSize, triangularMatVec } from './linalg.js';

/** Forward substitution in float64: y = L⁻¹ b for one matrix and one vector. */
function solveJs(l: number[][], b: number[]): number[] {
  const y: number[] = [];
  for (let i = 0; i < b.length; i++) {
    let r = b[i]!;
    for (let j = 0; j < i; j++) r -= l[i]![j]! * y[j]!;
    y.push(r / l[i]![i]!);
  }
  return y;
}

const L1 = [
  [1.5, 0, 0],
  [-0.4, 0.7, 0],
  [0.9, 0.3, 2.1],
];
const L2 = [
  [0.3, 0, 0],
  [1.2, 1.1, 0],
  [-0.5, -2.0, 0.8],
];

describe('solveLowerTriangular', () => {
  it('matches float64 forward substitution, with extra leading sample axes', () => {
    const b = [
      [
        [1, -2, 0.5],
        [0.3, 0.3, -1],
      ],
      [
        [-0.7, 4, 2],
        [2, 0, 1.5],
      ],
    ]; // [k = 2, batch = 2, D = 3]
    const y = solveLowerTriangular(tf.tensor3d([L1, L2]), tf.tensor3d(b));
    expect(y.shape).toEqual([2, 2, 3]);
    const got = y.arraySync() as number[][][];
    for (let s = 0; s < 2; s++) {
      for (let n = 0; n < 2; n++) {
        const want = solveJs(n === 0 ? L1 : L2, b[s]![n]!);
        want.forEach((v, i) => expect(got[s]![n]![i]).toBeCloseTo(v, 4));
      }
    }
  });

  it('ignores entries above the diagonal', () => {
    const upper = L1.map((row, i) => row.map((v, j) => (j > i ? 99 : v)));
    const y = solveLowerTriangular(tf.tensor3d([upper]), tf.tensor2d([[1, 2, 3]]));
    solveJs(L1, [1, 2, 3]).forEach((v, i) => expect(y.dataSync()[i]).toBeCloseTo(v, 4));
  });

  it('is differentiable: the gradient matches central finite differences', () => {
    const b = tf.tensor2d([[0.4, -1.3, 0.8]]);
    const f = (l: tf.Tensor) => tf.sum(tf.square(solveLowerTriangular(l, b)));
    const l0 = tf.tensor3d([L1]);
    const grad = tf.grad(f)(l0).dataSync();
    const base = l0.dataSync();
    const h = 1e-2;
    for (const idx of [0, 3, 4, 6, 7, 8]) {
      const plus = Float32Array.from(base);
      const minus = Float32Array.from(base);
      plus[idx]! += h;
      minus[idx]! -= h;
      const fd = (f(tf.tensor3d(plus, [1, 3, 3])).dataSync()[0]! - f(tf.tensor3d(minus, [1, 3, 3])).dataSync()[0]!) / (2 * h);
      expect(grad[idx]).toBeCloseTo(fd, 2);
    }
  });

  it('rejects mismatched shapes', () => {
    expect(() => solveLowerTriangular(tf.zeros([1, 3, 3]), tf.zeros([1, 2]))).toThrow(ShapeError);
  });
});

describe('fillTriangular', () => {
  it('fills the lower triangle row-major and maps the diagonal to positive values', () => {
    const raw = [1, 2, 3, 4, 5, 6]; // L00, L10, L11, L20, L21, L22
    expect(triangleSize(3)).toBe(6);
    const { scaleTril, logDiagonal } = fillTriangular(tf.tensor2d([raw]), 3, (d) => ({ diagonal: tf.exp(d), logDiagonal: d }));
    const l = (scaleTril.arraySync() as number[][][])[0]!;
    const e = Math.exp;
    const want = [
      [e(1), 0, 0],
      [2, e(3), 0],
      [4, 5, e(6)],
    ];
    want.forEach((row, i) => row.forEach((v, j) => expect(l[i]![j]).toBeCloseTo(v, 3)));
    expect(Array.from(logDiagonal.dataSync())).toEqual([1, 3, 6]);
    expect(Array.from(matrixDiagonal(scaleTril).dataSync()).map((v) => Math.log(v))).toEqual([1, 3, 6].map((v) => expect.closeTo(v, 5)));
  });

  it('multiplies L v as a matrix-vector product', () => {
    const v = [0.5, -1, 2];
    const got = triangularMatVec(tf.tensor3d([L1]), tf.tensor2d([v])).dataSync();
    L1.forEach((row, i) => expect(got[i]).toBeCloseTo(row.reduce((s, x, j) => s + x * v[j]!, 0), 5));
  });
});
