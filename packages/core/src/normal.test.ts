import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { hasAnalyticKL, kl } from './kl.js';
import { Normal, klNormalNormal } from './normal.js';
import { RandomStream } from './random.js';

const t = (v: number[][]) => tf.tensor2d(v);

describe('Normal', () => {
  const loc = t([[0, 1], [-2, 0.5]]);
  const scale = t([[1, 2], [0.5, 3]]);
  const d = new Normal(loc, scale);

  it('states batch and event shapes', () => {
    expect(d.batchShape).toEqual([2]);
    expect(d.eventShape).toEqual([2]);
    expect(new Normal(tf.zeros([3, 4, 5]), tf.ones([3, 4, 5]), 2).batchShape).toEqual([3]);
  });

  it('logProb matches the closed form, summed over the event', () => {
    const x = t([[0.3, -1], [1, 2]]);
    const expected = [
      [0.3, 0, 1],
      [-1, 1, 2],
      [1, -2, 0.5],
      [2, 0.5, 3],
    ].map(([xv, m, s]) => -0.5 * ((xv! - m!) / s!) ** 2 - Math.log(s!) - 0.5 * Math.log(2 * Math.PI));
    const lp = d.logProb(x).arraySync() as number[];
    expect(lp[0]).toBeCloseTo(expected[0]! + expected[1]!, 5);
    expect(lp[1]).toBeCloseTo(expected[2]! + expected[3]!, 5);
  });

  it('entropy matches ½ log(2πe σ²) summed over the event', () => {
    const h = d.entropy().arraySync() as number[];
    const e = (s: number) => 0.5 * Math.log(2 * Math.PI * Math.E * s * s);
    expect(h[0]).toBeCloseTo(e(1) + e(2), 5);
    expect(h[1]).toBeCloseTo(e(0.5) + e(3), 5);
  });

  it('sample moments match the mean and variance', () => {
    const n = 20_000;
    const big = new Normal(tf.fill([n, 2], 1.5), tf.tensor2d(Array.from({ length: n }, () => [0.5, 2])));
    const s = big.rsample(new RandomStream('m', 1));
    const { mean, variance } = tf.moments(s, 0);
    const m = mean.arraySync() as number[];
    const v = variance.arraySync() as number[];
    expect(m[0]).toBeCloseTo(1.5, 1);
    expect(m[1]).toBeCloseTo(1.5, 1);
    expect(v[0]! / 0.25).toBeCloseTo(1, 1);
    expect(v[1]! / 4).toBeCloseTo(1, 1);
  });

  it('rsample gradients match finite differences; sample has no gradient', () => {
    // f(μ, s) = Σ z², z = μ + exp(s) ε with fixed ε (same seed each evaluation).
    const f = (mu: tf.Tensor, logS: tf.Tensor) =>
      tf.sum(tf.square(new Normal(mu, tf.exp(logS), 1, logS).rsample(new RandomStream('fd', 9))));
    const mu = tf.tensor2d([[0.2, -0.4, 1.1]]);
    const logS = tf.tensor2d([[-0.3, 0.1, 0.5]]);
    const [gMu, gS] = tf.grads(f)([mu, logS]).map((g) => g.arraySync() as number[][]);
    const h = 1e-2;
    for (let j = 0; j < 3; j++) {
      const bump = (x: tf.Tensor, dj: number) => tf.add(x, tf.mul(tf.oneHot([j], 3), dj));
      const fdMu = (f(bump(mu, h), logS).dataSync()[0]! - f(bump(mu, -h), logS).dataSync()[0]!) / (2 * h);
      const fdS = (f(mu, bump(logS, h)).dataSync()[0]! - f(mu, bump(logS, -h)).dataSync()[0]!) / (2 * h);
      expect(gMu![0]![j]).toBeCloseTo(fdMu, 2);
      expect(gS![0]![j]).toBeCloseTo(fdS, 2);
    }
    const g = tf.grad((m: tf.Tensor) => tf.sum(new Normal(m, tf.onesLike(m)).sample(new RandomStream('s', 1))))(mu);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0]);
  });
});

describe('KL(Normal ‖ Normal)', () => {
  it('matches the closed form at hand-picked points and is registered as analytic', () => {
    const q = new Normal(t([[1, 0]]), t([[0.5, 2]]));
    const p = new Normal(t([[0, 0]]), t([[1, 1]]));
    // KL per dim: log(σp/σq) + (σq² + (μq−μp)²)/(2σp²) − ½
    const perDim = (mq: number, sq: number, mp: number, sp: number) => Math.log(sp / sq) + (sq * sq + (mq - mp) ** 2) / (2 * sp * sp) - 0.5;
    expect(klNormalNormal(q, p).dataSync()[0]).toBeCloseTo(perDim(1, 0.5, 0, 1) + perDim(0, 2, 0, 1), 5);
    expect(hasAnalyticKL(q, p)).toBe(true);
    const r = kl(q, p, { rng: new RandomStream('kl', 1) });
    expect(r.analytic).toBe(true);
  });

  it('agrees with a Monte Carlo estimate', () => {
    const q = new Normal(t([[0.7, -1.2, 0.1]]), t([[0.4, 1.3, 0.8]]));
    const p = new Normal(t([[0.2, 0.5, -0.3]]), t([[1.5, 0.9, 1.1]]));
    const exact = kl(q, p, { rng: new RandomStream('kl', 1) }).value.dataSync()[0]!;
    const mc = kl(q, p, { rng: new RandomStream('kl', 2), samples: 20_000, forceMonteCarlo: true });
    expect(mc.analytic).toBe(false);
    // Standard error of the estimate is about 0.01 here.
    expect(Math.abs(mc.value.dataSync()[0]! - exact)).toBeLessThan(0.05);
  });
});

describe('Normal parameter broadcasting', () => {
  const x = t([[0.3, -1, 2], [1, 2, -0.5]]);
  const loc = t([[0, 1, -2], [0.5, 0, 1]]);

  it('a scalar scale, a number, or a scale shared by the batch gives the logProb of explicit tiling', () => {
    const tiled = new Normal(loc, tf.fill([2, 3], 0.7)).logProb(x).arraySync() as number[];
    for (const d of [new Normal(loc, 0.7), new Normal(loc, tf.scalar(0.7)), new Normal(loc, tf.tensor1d([0.7, 0.7, 0.7]))]) {
      expect(d.batchShape).toEqual([2]);
      expect(d.eventShape).toEqual([3]);
      expect(d.scale.shape).toEqual([2, 3]);
      const lp = d.logProb(x).arraySync() as number[];
      lp.forEach((v, i) => expect(v).toBeCloseTo(tiled[i]!, 5));
    }
    const perScale = tf.tensor1d([0.5, 1, 2]);
    const shared = new Normal(loc, perScale).logProb(x).arraySync() as number[];
    const explicit = new Normal(loc, tf.tile(tf.expandDims(perScale, 0), [2, 1])).logProb(x).arraySync() as number[];
    shared.forEach((v, i) => expect(v).toBeCloseTo(explicit[i]!, 5));
  });

  it('a scalar loc broadcasts against the scale; KL and entropy see the broadcast shapes', () => {
    const scale = t([[1, 2, 0.5], [0.3, 1, 1]]);
    const d = new Normal(0, scale);
    expect(d.loc.shape).toEqual([2, 3]);
    const explicit = new Normal(tf.zeros([2, 3]), scale);
    expect(Array.from(d.logProb(x).dataSync())).toEqual(Array.from(explicit.logProb(x).dataSync()));
    expect(Array.from(d.entropy().dataSync())).toEqual(Array.from(explicit.entropy().dataSync()));
    const std = new Normal(0, 1, 0);
    expect(std.batchShape).toEqual([]);
    const k = kl(d, new Normal(tf.zeros([2, 3]), 1), { rng: new RandomStream('b', 1) });
    expect(k.analytic).toBe(true);
    expect(k.value.shape).toEqual([2]);
  });

  it('gradients reach a broadcast parameter (summed over the broadcast axes)', () => {
    const g = tf.grad((s: tf.Tensor) => tf.sum(new Normal(loc, s).logProb(x)))(tf.scalar(0.8));
    // d/dσ Σ [−(x−μ)²/(2σ²) − log σ] = Σ (x−μ)²/σ³ − n/σ
    const xs = x.arraySync() as number[][];
    const ls = loc.arraySync() as number[][];
    let expected = 0;
    xs.forEach((row, i) => row.forEach((v, j) => (expected += (v - ls[i]![j]!) ** 2 / 0.8 ** 3 - 1 / 0.8)));
    expect(g.dataSync()[0]).toBeCloseTo(expected, 3);
  });

  it('rejects parameters that do not broadcast, naming both shapes', () => {
    expect(() => new Normal(tf.zeros([2, 3]), tf.ones([2, 2]))).toThrow(/loc \[2, 3\], scale \[2, 2\]/);
  });
});
