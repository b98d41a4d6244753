import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { installFastMatMulGradient, selectBackend } from './backend.js';

describe('selectBackend', () => {
  it('auto picks wasm here (tfjs-node is not installed) and logs why tensorflow was skipped', async () => {
    const lines: string[] = [];
    const sel = await selectBackend('auto', (l) => lines.push(l));
    expect(sel.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(sel.skipped.map((s) => s.backend)).toEqual(['tensorflow']);
    expect(lines.join('\n')).toMatch(/backend: wasm .*skipped tensorflow/);
  });

  it('an explicit tensorflow request that cannot be met says what to install', async () => {
    await expect(selectBackend('tensorflow')).rejects.toThrow(/@tensorflow\/tfjs-node/);
  });

  it('rejects an unknown backend name with the allowed ones', async () => {
    await expect(selectBackend('gpu' as never)).rejects.toThrow(/allowed: auto, tensorflow, wasm, cpu/);
  });

  it('cpu can be selected explicitly', async () => {
    expect((await selectBackend('cpu')).name).toBe('cpu');
  });
});

describe('installFastMatMulGradient', () => {
  it('gives d(op(A) op(B)) for every transpose combination, checked against hand-computed products', async () => {
    await selectBackend('cpu');
    installFastMatMulGradient();
    const A = [[1, 2, 3], [4, 5, 6]];
    const B = [[0.5, -1], [2, 0], [1, 3]];
    const G = [[1, -2], [0.5, 3]]; // dL/d(AB) for L = Σ G ⊙ (AB)
    const T = (m: number[][]) => m[0]!.map((_, j) => m.map((r) => r[j]!));
    const mul = (x: number[][], y: number[][]) => x.map((r) => y[0]!.map((_, j) => r.reduce((s, v, k) => s + v * y[k]![j]!, 0)));
    const dA = mul(G, T(B)); // G Bᵀ
    const dB = mul(T(A), G); // Aᵀ G
    expect(dA).toEqual([[2.5, 2, -5], [-2.75, 1, 9.5]]);
    const cases: [number[][], number[][], boolean, boolean, number[][], number[][]][] = [
      [A, B, false, false, dA, dB],
      [A, T(B), false, true, dA, T(dB)],
      [T(A), B, true, false, T(dA), dB],
      [T(A), T(B), true, true, T(dA), T(dB)],
    ];
    const g = tf.tensor2d(G);
    for (const [x, y, ta, tb, ex, ey] of cases) {
      const [gx, gy] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D, ta, tb), g)))([
        tf.tensor2d(x),
        tf.tensor2d(y),
      ]);
      expect(gx!.arraySync()).toEqual(ex);
      expect(gy!.arraySync()).toEqual(ey);
    }
  });
});
