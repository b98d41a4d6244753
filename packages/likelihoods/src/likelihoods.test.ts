import * as tf from '@tensorflow/tfjs';
import { ComponentRegistry, RandomStream, RandomStreams } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { Bernoulli, BernoulliLikelihood, FixedGaussianLikelihood, components } from './index.js';

const sigmoid = (l: number) => 1 / (1 + Math.exp(-l));

describe('Bernoulli', () => {
  const logits = tf.tensor2d([[-2, 0.5, 30], [1, -40, 0]]);
  const d = new Bernoulli(logits, 1);

  it('logProb matches Σ x log p + (1 − x) log(1 − p), stably for large |logits|', () => {
    const x = tf.tensor2d([[0, 1, 1], [0.3, 0, 1]]);
    const lp = d.logProb(x).arraySync() as number[];
    const term = (xv: number, l: number) => xv * Math.log(sigmoid(l)) + (1 - xv) * Math.log(1 - sigmoid(l));
    expect(lp[0]).toBeCloseTo(term(0, -2) + term(1, 0.5) + 0 /* log σ(30) ≈ −1e−13 */, 5);
    // log(1 − σ(−40)) ≈ 0, and σ(1) at a grey level 0.3 is the usual cross-entropy.
    expect(lp[1]).toBeCloseTo(term(0.3, 1) + 0 + term(1, 0), 5);
    expect(d.batchShape).toEqual([2]);
    expect(d.eventShape).toEqual([3]);
  });

  it('entropy and mean match the closed form', () => {
    const h = (l: number) => {
      const p = sigmoid(l);
      return -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    };
    const small = new Bernoulli(tf.tensor2d([[-2, 0.5]]), 1);
    expect(small.entropy().dataSync()[0]).toBeCloseTo(h(-2) + h(0.5), 5);
    expect(Array.from(small.mean().dataSync())).toEqual([sigmoid(-2), sigmoid(0.5)].map((v) => Math.fround(v)));
  });

  it('sample moments match the mean', () => {
    const big = new Bernoulli(tf.fill([20_000, 1], 0.8), 1);
    const m = tf.mean(big.sample(new RandomStream('b', 1))).dataSync()[0]!;
    expect(m).toBeCloseTo(sigmoid(0.8), 1);
  });

  it('sums over a rank-3 event (images)', () => {
    const lk = new BernoulliLikelihood([2, 2, 1]);
    expect(lk.paramShape([2, 2, 1])).toEqual([2, 2, 1]);
    const dist = lk.distribution(tf.zeros([3, 2, 2, 1]));
    expect(dist.logProb(tf.ones([3, 2, 2, 1])).shape).toEqual([3]);
    expect(dist.logProb(tf.ones([3, 2, 2, 1])).dataSync()[0]).toBeCloseTo(4 * Math.log(0.5), 5);
  });
});

describe('FixedGaussianLikelihood', () => {
  it('logProb is the normal density with the fixed σ, summed over the image', () => {
    const lk = new FixedGaussianLikelihood([2], 0.5);
    const lp = lk.distribution(tf.tensor2d([[0, 1]])).logProb(tf.tensor2d([[0.5, 0.75]])).dataSync()[0]!;
    const n = (x: number, m: number, s: number) => -0.5 * ((x - m) / s) ** 2 - Math.log(s) - 0.5 * Math.log(2 * Math.PI);
    expect(lp).toBeCloseTo(n(0.5, 0, 0.5) + n(0.75, 1, 0.5), 5);
  });

  it('rejects a non-positive σ through the registry with the config path', () => {
    const registry = new ComponentRegistry().use({ components });
    const ctx = { dataShape: [4], levels: null, streams: new RandomStreams(1), cwd: '.' };
    expect(() => registry.build('likelihood', { name: 'gaussian', sigma: -1 }, ctx, 'likelihood')).toThrow(/likelihood\.sigma/);
    expect(registry.build('likelihood', { name: 'bernoulli' }, ctx).discrete).toBe(true);
  });
});
