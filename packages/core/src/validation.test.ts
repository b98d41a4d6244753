import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Normal, SupportError, assertValues, setValidation, validationEnabled, withValidation } from './index.js';

describe('value validation', () => {
  it('is off by default and scoped by withValidation', () => {
    expect(validationEnabled()).toBe(false);
    expect(withValidation(() => validationEnabled())).toBe(true);
    expect(validationEnabled()).toBe(false);
    expect(() =>
      withValidation(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(validationEnabled()).toBe(false);
    expect(setValidation(true)).toBe(false);
    expect(setValidation(false)).toBe(true);
  });

  it('names the owner, the value, its index and the shape', () => {
    const t = tf.tensor2d([
      [1, 2, 3],
      [4, -5, 6],
    ]);
    expect(() => assertValues('gaussian', 'sigma', t, { allowed: 'positive', above: 0 })).toThrow(
      new SupportError('gaussian: sigma must be positive; got -5 at index [1, 1] of shape [2, 3]'),
    );
    expect(() => assertValues('categorical_256', 'x', [0, 3, 2.5], { allowed: 'integers in 0..255', min: 0, max: 255, integer: true })).toThrow(
      /got 2\.5 at index \[2\] of shape \[3\]/,
    );
    expect(() => assertValues('bernoulli', 'probs', [0, 1, NaN], { allowed: 'in [0, 1]', min: 0, max: 1 })).toThrow(/got NaN/);
    expect(() => assertValues('bernoulli', 'probs', [0, 0.5, 1], { allowed: 'in [0, 1]', min: 0, max: 1 })).not.toThrow();
    t.dispose();
  });

  it('makes Normal reject a non-positive scale only while validating', () => {
    tf.tidy(() => {
      const loc = tf.zeros([2, 2]);
      const scale = tf.tensor2d([
        [1, 0],
        [1, 1],
      ]);
      expect(() => new Normal(loc, scale)).not.toThrow();
      expect(() => withValidation(() => new Normal(loc, scale))).toThrow(/Normal: scale must be positive and finite; got 0 at index \[0, 1\] of shape \[2, 2\]/);
    });
  });
});

describe('reportsBitsPerDim', () => {
  it('only when a discrete likelihood covers exactly the data levels', async () => {
    const { reportsBitsPerDim } = await import('./index.js');
    expect(reportsBitsPerDim({ discrete: true, levels: 2 }, 2)).toBe(true);
    expect(reportsBitsPerDim({ discrete: true, levels: 2 }, 256)).toBe(false); // Bernoulli on grey levels
    expect(reportsBitsPerDim({ discrete: true, levels: 256 }, 256)).toBe(true);
    expect(reportsBitsPerDim({ discrete: false }, 256)).toBe(false);
    expect(reportsBitsPerDim({ discrete: true }, null)).toBe(false);
  });
});

describe('broadcastTo', () => {
  it('broadcasts like tf.broadcastTo, and its gradient sums over the broadcast axes', async () => {
    const { broadcastTo } = await import('./index.js');
    tf.tidy(() => {
      const x = tf.tensor2d([[1], [2]]); // [2, 1]
      const y = broadcastTo(x, [3, 2, 4]);
      expect(y.shape).toEqual([3, 2, 4]);
      expect(Array.from(y.dataSync())).toEqual(Array.from(tf.broadcastTo(x, [3, 2, 4]).dataSync()));
      const w = tf.reshape(tf.range(0, 24), [3, 2, 4]);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(broadcastTo(a, [3, 2, 4]), w)))(x);
      // d/dx[i] = Σ over the broadcast axes of w[:, i, :]
      const wv = w.arraySync() as number[][][];
      const expected = [0, 1].map((i) => wv.reduce((s, plane) => s + plane[i]!.reduce((a, b) => a + b, 0), 0));
      expect(g.shape).toEqual([2, 1]);
      expect(Array.from(g.dataSync())).toEqual(expected);
    });
  });
});
