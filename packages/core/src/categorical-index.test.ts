import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Categorical, OneHotCategorical, isCategorical, klCategorical } from './categorical.js';
import { ShapeError, SupportError } from './errors.js';
import { hasAnalyticKL, kl } from './kl.js';
import { RandomStream } from './random.js';
import { withValidation } from './tensor.js';

/* float64 references */
const logSoftmax = (l: number[]) => {
  const m = Math.max(...l);
  const lse = m + Math.log(l.reduce((s, v) => s + Math.exp(v - m), 0));
  return l.map((v) => v - lse);
};
const klRef = (lq: number[], lp: number[]) => {
  const q = logSoftmax(lq);
  const p = logSoftmax(lp);
  return q.reduce((s, v, k) => s + Math.exp(v) * (v - p[k]!), 0);
};

const qLogits = [[0.5, -1, 2, 0], [-0.3, 1.2, 0.1, 3]];
const pLogits = [[0, 0.4, -0.2, 1], [1, 1, -1, 0.5]];

describe('Categorical (index-valued)', () => {
  const d = new Categorical(tf.tensor2d(qLogits));

  it('states shapes: batch [...logits batch], event []', () => {
    expect(d.batchShape).toEqual([2]);
    expect(d.eventShape).toEqual([]);
    expect(d.categories).toBe(4);
    expect(isCategorical(d)).toBe(true);
    expect(isCategorical(new OneHotCategorical(tf.zeros([1, 4]), 4))).toBe(false);
    expect(() => new Categorical(tf.scalar(1))).toThrow(ShapeError);
  });

  it('logProb of indices (int32 or float) is log softmax(logits)[x], with extra leading axes', () => {
    const x = [2, 0];
    const expected = qLogits.map((l, b) => logSoftmax(l)[x[b]!]!);
    for (const xs of [tf.tensor1d(x, 'int32'), tf.tensor1d(x)]) {
      const lp = d.logProb(xs).arraySync() as number[];
      lp.forEach((v, b) => expect(v).toBeCloseTo(expected[b]!, 5));
    }
    const stacked = d.logProb(tf.tensor2d([[2, 0], [1, 3], [3, 3]], [3, 2], 'int32'));
    expect(stacked.shape).toEqual([3, 2]);
    expect((stacked.arraySync() as number[][])[1]![1]).toBeCloseTo(logSoftmax(qLogits[1]!)[3]!, 5);
    withValidation(() => {
      expect(() => d.logProb(tf.tensor1d([4, 0]))).toThrow(SupportError);
      expect(() => d.logProb(tf.tensor1d([0.5, 0]))).toThrow(SupportError);
    });
  });

  it('entropy, probs and mode match their closed forms', () => {
    const h = d.entropy().arraySync() as number[];
    const probs = d.probs().arraySync() as number[][];
    qLogits.forEach((l, b) => {
      const lp = logSoftmax(l);
      expect(h[b]).toBeCloseTo(-lp.reduce((s, v) => s + Math.exp(v) * v, 0), 5);
      lp.forEach((v, k) => expect(probs[b]![k]).toBeCloseTo(Math.exp(v), 5));
    });
    expect(Array.from(d.mode().dataSync())).toEqual([2, 3]);
  });

  it('sample frequencies match the probabilities; samples are int32 indices', () => {
    const n = 4000;
    const big = new Categorical(tf.tile(tf.tensor2d([[0.2, -1, 1.5]]), [n, 1]));
    const s = big.sample(new RandomStream('cat', 1));
    expect(s.dtype).toBe('int32');
    const counts = [0, 0, 0];
    for (const v of s.dataSync()) counts[v]! += 1;
    logSoftmax([0.2, -1, 1.5]).forEach((lp, k) => expect(Math.abs(counts[k]! / n - Math.exp(lp))).toBeLessThan(0.03));
  });

  it('KL(Categorical ‖ Categorical) matches the closed form, is registered, and agrees with Monte Carlo', () => {
    const p = new Categorical(tf.tensor2d(pLogits));
    const v = klCategorical(d, p).arraySync() as number[];
    qLogits.forEach((l, b) => expect(v[b]).toBeCloseTo(klRef(l, pLogits[b]!), 5));
    expect(hasAnalyticKL(d, p)).toBe(true);
    const mc = kl(d, p, { rng: new RandomStream('mc', 2), samples: 3000, forceMonteCarlo: true }).value.arraySync() as number[];
    mc.forEach((m, b) => expect(Math.abs(m - v[b]!)).toBeLessThan(0.08));
  });

  it('KL between index-valued and one-hot categoricals of one group is the KL of the probabilities, both ways', () => {
    const p = new OneHotCategorical(tf.tensor2d(pLogits), 4);
    const qp = kl(d, p, { rng: new RandomStream('k', 1) });
    expect(qp.analytic).toBe(true);
    (qp.value.arraySync() as number[]).forEach((v, b) => expect(v).toBeCloseTo(klRef(qLogits[b]!, pLogits[b]!), 5));
    const pq = kl(p, d, { rng: new RandomStream('k', 1) });
    expect(pq.analytic).toBe(true);
    (pq.value.arraySync() as number[]).forEach((v, b) => expect(v).toBeCloseTo(klRef(pLogits[b]!, qLogits[b]!), 5));
    const twoGroups = new OneHotCategorical(tf.zeros([2, 8]), 4);
    expect(() => kl(d, twoGroups, { rng: new RandomStream('k', 1) })).toThrow(/one group of 4/);
  });
});
