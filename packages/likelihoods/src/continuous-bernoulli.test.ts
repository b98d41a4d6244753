import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, RandomStream, RandomStreams, ShapeError, SupportError, withValidation } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { ContinuousBernoulli, ContinuousBernoulliLikelihood, components } from './index.js';

/* Expected values in float64 from the paper's λ-form (Loaiza-Ganem & Cunningham 2019, eq. 7 and §3). */

const logit = (lam: number) => Math.fround(Math.log(lam / (1 - lam)));
const sigmoid = (l: number) => 1 / (1 + Math.exp(-l));
/** log λ and log(1 − λ) for logits ℓ, without rounding λ to 1. */
const logLam = (l: number) => -Math.log1p(Math.exp(-l));
const log1mLam = (l: number) => -Math.log1p(Math.exp(l));

/** log C(λ), C(λ) = 2 artanh(1 − 2λ)/(1 − 2λ), C(½) = 2; for |ℓ| > 15, λ rounds to 1, so ℓ/tanh(ℓ/2). */
function logC(l: number): number {
  if (Math.abs(l) > 15) return Math.log(l / Math.tanh(l / 2));
  const lam = sigmoid(l);
  if (lam === 0.5) return Math.LN2;
  return Math.log((2 * Math.atanh(1 - 2 * lam)) / (1 - 2 * lam));
}
/** E[X] = λ/(2λ − 1) + 1/(2 artanh(1 − 2λ)), ½ at λ = ½; for |ℓ| > 15, 1/(1 − e^−ℓ) − 1/ℓ. */
function mean(l: number): number {
  if (Math.abs(l) > 15) return 1 / (1 - Math.exp(-l)) - 1 / l;
  const lam = sigmoid(l);
  if (lam === 0.5) return 0.5;
  return lam / (2 * lam - 1) + 1 / (2 * Math.atanh(1 - 2 * lam));
}
/** Var[X] = λ(λ − 1)/(1 − 2λ)² + 1/(2 artanh(1 − 2λ))². */
function variance(l: number): number {
  const lam = sigmoid(l);
  return (lam * (lam - 1)) / (1 - 2 * lam) ** 2 + 1 / (2 * Math.atanh(1 - 2 * lam)) ** 2;
}
const logDensity = (x: number, l: number) => x * logLam(l) + (1 - x) * log1mLam(l) + logC(l);
const entropy = (l: number) => {
  const m = mean(l);
  return -(m * logLam(l) + (1 - m) * log1mLam(l) + logC(l));
};
/** Inverse CDF: F(x) = (λˣ(1 − λ)¹⁻ˣ + λ − 1)/(2λ − 1) solved for x; u at ℓ = 0. */
const quantile = (u: number, l: number) => (l === 0 ? u : Math.log1p((u * (2 * sigmoid(l) - 1)) / sigmoid(-l)) / l);
/** The same with (2λ − 1)/(1 − λ) = expm1(ℓ): exact for large |ℓ|, and for tiny ℓ ≠ 0. */
const quantileLarge = (u: number, l: number) => Math.log1p(u * Math.expm1(l)) / l;

const LAMBDAS = [0.5, 0.5 + 1e-4, 0.5 - 1e-4, 0.5 + 0.01, 0.5 - 0.01, 0.01, 0.999];
const LOGITS = [...LAMBDAS.map(logit), 20, -20, 50, -50];

function closeTo(actual: number, expected: number, tol: number): void {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected)));
}

describe('ContinuousBernoulli', () => {
  it('logProb matches the closed form at λ = ½, ½ ± 1e-4, ½ ± 0.01, 0.01, 0.999 and logits ±20, ±50', () => {
    const xs = [0, 0.3, 0.5, 0.9, 1];
    const d = new ContinuousBernoulli(tf.tensor2d(LOGITS, [LOGITS.length, 1]), 1);
    for (const x of xs) {
      const lp = d.logProb(tf.fill([LOGITS.length, 1], x)).dataSync();
      LOGITS.forEach((l, i) => closeTo(lp[i]!, logDensity(x, l), 2e-6));
    }
    expect(d.batchShape).toEqual([LOGITS.length]);
    expect(d.eventShape).toEqual([1]);
  });

  it('log C is 2 at ℓ = 0 and the series and closed branches meet at |ℓ| = 0.5', () => {
    const ls = [0, 0.5 - 1e-6, 0.5, -0.5 + 1e-6, -0.5, 1e-8, -3];
    const d = new ContinuousBernoulli(tf.tensor2d(ls, [ls.length, 1]), 1);
    const lp = d.logProb(tf.zeros([ls.length, 1])).dataSync();
    ls.forEach((l, i) => closeTo(lp[i]!, logDensity(0, Math.fround(l)), 1e-6));
  });

  it('integrates to 1 over [0, 1] (Simpson, 2000 intervals)', () => {
    const n = 2000;
    const xs = Array.from({ length: n + 1 }, (_, i) => i / n);
    // Batch [logits], event [1]; x: [n + 1, 1, 1] broadcasts over the batch through an extra leading axis.
    const d = new ContinuousBernoulli(tf.tensor2d(LOGITS, [LOGITS.length, 1]), 1);
    const lp = d.logProb(tf.reshape(tf.tensor1d(xs), [n + 1, 1, 1])).arraySync() as number[][];
    expect([lp.length, lp[0]!.length]).toEqual([n + 1, LOGITS.length]);
    LOGITS.forEach((l, j) => {
      let integral = 0;
      for (let i = 0; i <= n; i++) integral += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * Math.exp(lp[i]![j]!);
      integral /= 3 * n;
      closeTo(integral, 1, 2e-5);
    });
  });

  it('entropy and mean match the closed forms, also on both sides of the series threshold |ℓ| = 1', () => {
    const ls = [...LOGITS, 0.3, 0.9, -0.9, 0.999, 1.001, -1.001, 3].map(Math.fround);
    const d = new ContinuousBernoulli(tf.tensor2d(ls, [ls.length, 1]), 1);
    const h = d.entropy().dataSync();
    const m = d.mean().dataSync();
    ls.forEach((l, i) => {
      closeTo(h[i]!, entropy(l), 2e-6);
      closeTo(m[i]!, mean(l), 2e-6);
    });
    // Summed over the event.
    const two = new ContinuousBernoulli(tf.tensor2d([[0.3, -2]]), 1);
    closeTo(two.entropy().dataSync()[0]!, entropy(Math.fround(0.3)) + entropy(-2), 2e-6);
  });

  it('rsample is the inverse CDF at the drawn u, clipped to [0, 1]', () => {
    const ls = [-50, -5, -0.7, -1e-4, 0, 3e-4, 0.02, 2, 30, 50];
    const logits = tf.tensor2d(ls, [1, ls.length]);
    const x = new ContinuousBernoulli(logits, 1).rsample(new RandomStream('cb', 3)).dataSync();
    const u = new RandomStream('cb', 3).uniform([1, ls.length]).dataSync();
    ls.forEach((l, i) => {
      const ui = u[i]!;
      const expected = Math.abs(l) > 15 ? quantileLarge(ui, l) : quantile(ui, Math.fround(l));
      closeTo(x[i]!, expected, 1e-5);
    });
  });

  it('rsample gradients match central finite differences of the closed-form inverse CDF', () => {
    const ls = [-50, -5, -0.7, -1e-4, 0, 3e-4, 2e-3, 0.02, 0.9, 2, 30];
    const logits = tf.tensor2d(ls, [1, ls.length]);
    const grad = tf.grad((l: tf.Tensor) => tf.sum(new ContinuousBernoulli(l, 1).rsample(new RandomStream('cbg', 5))))(logits).dataSync();
    const u = new RandomStream('cbg', 5).uniform([1, ls.length]).dataSync();
    ls.forEach((l0, i) => {
      const l = Math.fround(l0);
      const h = 1e-4 * Math.max(1, Math.abs(l));
      // The expm1 form of the quantile: the λ-form loses digits to 2λ − 1 at the tiny ℓ a step can land on.
      const f = (t: number) => quantileLarge(u[i]!, t);
      const fd = (f(l + h) - f(l - h)) / (2 * h);
      expect(Math.abs(grad[i]! - fd), `ℓ = ${l}: ${grad[i]} vs ${fd}`).toBeLessThan(1e-4 + 1e-3 * Math.abs(fd));
    });
  });

  it('gradients of logProb, entropy, mean and rsample stay finite at 0, near the branch points and for huge logits', () => {
    const ls = [0, 1e-8, -1e-8, 1e-3, 0.5, -0.5, 1, -1, 50, -50, 100, -100, 1e4, -1e4];
    const logits = tf.tensor2d(ls, [1, ls.length]);
    const x = tf.fill([1, ls.length], 0.25);
    const parts = {
      logProb: (d: ContinuousBernoulli) => d.logProb(x),
      entropy: (d: ContinuousBernoulli) => d.entropy(),
      mean: (d: ContinuousBernoulli) => d.mean(),
      rsample: (d: ContinuousBernoulli) => d.rsample(new RandomStream('cbf', 1)),
    };
    for (const [name, f] of Object.entries(parts)) {
      const [value, grad] = [f(new ContinuousBernoulli(logits, 1)), tf.grad((l: tf.Tensor) => tf.sum(f(new ContinuousBernoulli(l, 1))))(logits)];
      for (const v of [...value.dataSync(), ...grad.dataSync()]) expect(Number.isFinite(v), `${name}: ${v}`).toBe(true);
    }
  });

  it('sample moments match the closed-form mean and variance', () => {
    const l = 1.5;
    const n = 20_000;
    const s = new ContinuousBernoulli(tf.fill([n, 1], l), 1).sample(new RandomStream('cbs', 2)).dataSync();
    let sum = 0;
    let sq = 0;
    let outside = 0;
    for (const v of s) {
      sum += v;
      sq += v * v;
      if (!(v >= 0 && v <= 1)) outside++;
    }
    expect(outside).toBe(0);
    const m = sum / n;
    const v = sq / n - m * m;
    expect(Math.abs(m - mean(l))).toBeLessThan(4 * Math.sqrt(variance(l) / n));
    expect(Math.abs(v - variance(l)) / variance(l)).toBeLessThan(0.05);
  });
});

describe('continuous_bernoulli likelihood', () => {
  const registry = new ComponentRegistry().use({ components });
  const ctx = { dataShape: [2, 2, 1], levels: null, streams: new RandomStreams(1), cwd: '.' };

  it('is built from config, is continuous, and asks for one logit per value', () => {
    const lk = registry.build('likelihood', { name: 'continuous_bernoulli' }, ctx);
    expect(lk.discrete).toBe(false);
    expect(lk.paramShape([2, 2, 1])).toEqual([2, 2, 1]);
    const lp = lk.distribution(tf.zeros([3, 2, 2, 1])).logProb(tf.fill([3, 2, 2, 1], 0.7));
    expect(lp.shape).toEqual([3]);
    closeTo(lp.dataSync()[0]!, 0, 1e-6); // ℓ = 0 is the uniform density
    expect(() => registry.build('likelihood', { name: 'continuous_bernoulli', sigma: 1 }, ctx, 'likelihood')).toThrow(/likelihood.*'sigma'/);
  });

  it('rejects a decoder output of the wrong shape, naming both shapes', () => {
    const lk = new ContinuousBernoulliLikelihood([2, 2, 1]);
    expect(() => lk.distribution(tf.zeros([3, 4]))).toThrow(ShapeError);
    expect(() => lk.distribution(tf.zeros([3, 4]))).toThrow(/continuous_bernoulli.*\[3, 4\].*\[batch, 2, 2, 1\]/);
  });

  it('checkData names the component, dataset, split, value and index', () => {
    const lk = new ContinuousBernoulliLikelihood([2, 2, 1]);
    const info = { split: 'train', dataset: 'toy', levels: null };
    expect(() => lk.checkData(new Float32Array([0, 0.5, 1, 1, 0, 0.2, 1.5, 0]), info)).toThrow(
      /continuous_bernoulli: dataset 'toy', split 'train': value 1\.5 at index 6 \(example 1, position \[1, 0, 0\]/,
    );
    expect(() => lk.checkData(new Float32Array([0, 0.5, 1, 0.25]), info)).not.toThrow();
  });

  it('under validation, rejects values outside [0, 1]', () => {
    const d = new ContinuousBernoulli(tf.zeros([1, 2]), 1);
    expect(() => withValidation(() => d.logProb(tf.tensor2d([[0.5, -0.1]])))).toThrow(SupportError);
  });
});
