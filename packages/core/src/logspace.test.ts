import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { iwBound, logAddExp, logMeanExp, logSumExp } from './logspace.js';

const lmeRef = (v: number[]) => {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0) / v.length);
};

describe('logMeanExp, logSumExp, iwBound', () => {
  it('are exact at ±1000, where a naive form overflows or underflows', () => {
    const x = tf.tensor2d([[1000, -1000], [999, -1001], [998, -1000.5]]); // [3, 2]
    const v = logMeanExp(x, 0).arraySync() as number[];
    expect(v[0]).toBeCloseTo(lmeRef([1000, 999, 998]), 4);
    expect(v[1]).toBeCloseTo(lmeRef([-1000, -1001, -1000.5]), 4);
    const rows = logMeanExp(x, 1).arraySync() as number[];
    expect(rows[0]).toBeCloseTo(lmeRef([1000, -1000]), 4);
    expect(logMeanExp(x, -1).arraySync()).toEqual(rows);
    expect(Array.from(logSumExp(x, 0).dataSync()).every(Number.isFinite)).toBe(true);
  });

  it('stay −∞ (not NaN) when every term is −∞, and logAddExp adds in log space', () => {
    const x = tf.tensor2d([[-Infinity, 0], [-Infinity, Math.log(3)]]);
    const v = logMeanExp(x, 0).arraySync() as number[];
    expect(v[0]).toBe(-Infinity);
    expect(v[1]).toBeCloseTo(Math.log(2), 5);
    expect(logAddExp(tf.tensor1d([Math.log(2), -Infinity]), tf.tensor1d([Math.log(3), -Infinity])).arraySync()).toEqual([
      expect.closeTo(Math.log(5), 5),
      -Infinity,
    ]);
  });

  it('iwBound is log (1/k) Σ w per example, identical to tf.logSumExp − log k', () => {
    const logW = tf.tensor2d([[-90.1, -85], [-88.7, -86.2], [-91.3, -84.9]]); // [k = 3, batch = 2]
    const bound = iwBound(logW);
    expect(bound.shape).toEqual([2]);
    const reference = tf.sub(tf.logSumExp(logW, 0), Math.log(3));
    expect(Array.from(bound.dataSync())).toEqual(Array.from(reference.dataSync()));
    expect(bound.dataSync()[0]).toBeCloseTo(lmeRef([-90.1, -88.7, -91.3]), 4);
    // Gradients match too: the softmax weights of the samples.
    const g = tf.grad((w: tf.Tensor) => tf.sum(iwBound(w)))(logW).arraySync() as number[][];
    const gRef = tf.grad((w: tf.Tensor) => tf.sum(tf.sub(tf.logSumExp(w, 0), Math.log(3))))(logW).arraySync() as number[][];
    expect(g).toEqual(gRef);
  });
});
