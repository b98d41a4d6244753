import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';

/*
 * The wasm Sum gradient (sum-gradient.ts) against what tfjs's stock gradient computes, dy reshaped
 * and multiplied by ones, compared as float32 bit patterns, for the trailing-axes case it serves and
 * the cases it leaves to the stock gradient.
 */

const bits = (t: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));

describe('Sum gradient on wasm', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  const cases: { shape: number[]; axis?: number | number[] }[] = [
    { shape: [128, 28, 28, 1], axis: [1, 2, 3] }, // sumEvent of a batch of MNIST images: the SIMD pass
    { shape: [6, 8], axis: 1 },
    { shape: [6, 8], axis: -1 },
    { shape: [2, 3, 4, 4], axis: [-2, 3] },
    { shape: [4, 4] }, // every axis: one row
    { shape: [6, 8], axis: 0 }, // not trailing: stock gradient
    { shape: [3, 3], axis: 1 }, // rows of 3: stock gradient
    { shape: [2, 5, 6], axis: [1, 2] }, // rows of 30: stock gradient
  ];

  for (const { shape, axis } of cases) {
    it(`shape [${shape.join(', ')}], axis ${JSON.stringify(axis)}: the stock gradient's values, bit for bit`, () => {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 3);
      const reduced = tf.sum(x, axis);
      const dy = tf.randomNormal(reduced.shape, 0, 2, 'float32', 5);
      const before = tf.memory().numTensors;
      const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.add(tf.mul(x, 0), v), axis))(x, dy);
      expect(tf.memory().numTensors).toBe(before + 1);
      // the stock formula: reshape dy with the reduced axes kept as 1, times ones
      const keep = shape.map((d, i) => {
        const axes = axis === undefined ? shape.map((_, k) => k) : (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + shape.length : a));
        return axes.includes(i) ? 1 : d;
      });
      const expected = tf.mul(tf.reshape(dy, keep), tf.ones(shape));
      expect(grad.shape).toEqual(shape);
      expect(bits(grad)).toEqual(bits(expected));
      tf.dispose([x, reduced, dy, grad, expected]);
    });
  }

  it('serves trailing axes with its kernel (no ones, no Multiply) and leaves the others to the stock one', async () => {
    const kernelsOf = async (shape: number[], axis: number | number[]) => {
      const x = tf.randomNormal(shape);
      const profile = await tf.profile(() => {
        const g = tf.grad((v: tf.Tensor) => tf.sum(v, axis))(x);
        g.dispose();
      });
      x.dispose();
      return profile.kernels.map((k) => k.name);
    };
    const served = await kernelsOf([128, 28, 28, 1], [1, 2, 3]);
    expect(served).toContain('VaelabBroadcastRows');
    expect(served).not.toContain('Multiply');
    const stock = await kernelsOf([6, 8], 0);
    expect(stock).not.toContain('VaelabBroadcastRows');
    expect(stock).toContain('Multiply');
  });

  it('keeps -0, infinities and NaN exactly (pure data movement)', () => {
    const x = tf.zeros([2, 4]);
    const dy = tf.tensor1d([-0, Number.NaN]);
    const dyInf = tf.tensor1d([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(v, 1))(x, dy);
    const gInf = tf.grad((v: tf.Tensor) => tf.sum(v, 1))(x, dyInf);
    expect(bits(g)).toEqual(bits(tf.tensor1d([-0, -0, -0, -0, Number.NaN, Number.NaN, Number.NaN, Number.NaN])));
    expect(Array.from(gInf.dataSync())).toEqual([Infinity, Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity, -Infinity]);
    tf.dispose([x, dy, dyInf, g, gInf]);
  });
});
