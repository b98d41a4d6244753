import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, Normal, RandomStream, RandomStreams, ShapeError, hasAnalyticKL, kl } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { MixtureOfGaussiansPrior, components } from './index.js';

const ctx = (latentDim: number, seed = 1) => ({ latentDim, dataShape: [4], streams: new RandomStreams(seed), cwd: '.' });
const registry = () => new ComponentRegistry().use({ components });

// Three components in two dimensions, hand-picked.
const means = [[-1, 0.5], [2, 0], [0, -1.5]];
const logScales = [[0, -0.5], [0.3, 0.2], [-0.2, 0]];
const logits = [0.2, -0.5, 1];

function handPicked(): MixtureOfGaussiansPrior {
  const prior = new MixtureOfGaussiansPrior(2, { components: 3, initScale: 1, initLogScale: 0 }, new RandomStream('init/prior', 1));
  prior.means.assign(tf.tensor2d(means));
  prior.logScales.assign(tf.tensor2d(logScales));
  prior.logits.assign(tf.tensor1d(logits));
  return prior;
}

/* float64 references */
const weights = (() => {
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
})();
const logDensity = (z: number[]) => {
  const perComponent = means.map((mu, k) =>
    Math.log(weights[k]!) +
    mu.reduce((s, m, j) => {
      const sd = Math.exp(logScales[k]![j]!);
      return s - 0.5 * ((z[j]! - m) / sd) ** 2 - Math.log(sd) - 0.5 * Math.log(2 * Math.PI);
    }, 0),
  );
  const top = Math.max(...perComponent);
  return top + Math.log(perComponent.reduce((s, v) => s + Math.exp(v - top), 0));
};

describe('mixture_of_gaussians prior', () => {
  it('logProb is the log-sum-exp over components, also with extra leading sample axes', () => {
    const d = handPicked().distribution(2);
    expect(d.batchShape).toEqual([2]);
    expect(d.eventShape).toEqual([2]);
    const z = [[0.3, -0.2], [4, 3]];
    const lp = d.logProb(tf.tensor2d(z)).arraySync() as number[];
    expect(lp[0]).toBeCloseTo(logDensity(z[0]!), 4);
    expect(lp[1]).toBeCloseTo(logDensity(z[1]!), 4);
    const zs = [[[1, 1], [-2, 0]], [[0, 0], [0.5, -3]], [[2, 0.1], [-1, 0.5]]];
    const stacked = d.logProb(tf.tensor3d(zs));
    expect(stacked.shape).toEqual([3, 2]);
    (stacked.arraySync() as number[][]).forEach((row, s) => row.forEach((v, b) => expect(v).toBeCloseTo(logDensity(zs[s]![b]!), 4)));
    expect(() => d.logProb(tf.zeros([2, 3]))).toThrow(ShapeError);
  });

  it('sample moments and mean() match the mixture mean and variance', () => {
    const n = 20_000;
    const d = handPicked().distribution(n);
    const s = d.sample(new RandomStream('sample', 3));
    expect(s.shape).toEqual([n, 2]);
    const { mean, variance } = tf.moments(s, 0);
    const m = Array.from(mean.dataSync());
    const v = Array.from(variance.dataSync());
    const closedMean = d.mean().arraySync() as number[][];
    for (let j = 0; j < 2; j++) {
      const mu = weights.reduce((acc, w, k) => acc + w * means[k]![j]!, 0);
      const second = weights.reduce((acc, w, k) => acc + w * (Math.exp(2 * logScales[k]![j]!) + means[k]![j]! ** 2), 0);
      const variance64 = second - mu * mu;
      expect(closedMean[n - 1]![j]).toBeCloseTo(mu, 5);
      expect(Math.abs(m[j]! - mu)).toBeLessThan(4 * Math.sqrt(variance64 / n));
      expect(v[j]! / variance64).toBeCloseTo(1, 1);
    }
  });

  it('has no analytic KL against a Gaussian posterior; the Monte Carlo estimate is used', () => {
    const d = handPicked().distribution(1);
    const q = new Normal(tf.tensor2d([[0.5, -1]]), tf.tensor2d([[0.8, 1.2]]));
    expect(hasAnalyticKL(q, d)).toBe(false);
    expect(kl(q, d, { rng: new RandomStream('kl', 1) }).analytic).toBe(false);
  });

  it('is built from config; means are drawn from the init/prior stream with init_scale', () => {
    const prior = registry().build('prior', { name: 'mixture_of_gaussians' }, ctx(3)) as MixtureOfGaussiansPrior;
    expect(prior.means.shape).toEqual([10, 3]);
    expect(prior.logits.shape).toEqual([10]);
    expect(prior.variables).toHaveLength(3);
    const again = registry().build('prior', { name: 'mixture_of_gaussians' }, ctx(3)) as MixtureOfGaussiansPrior;
    expect(Array.from(again.means.dataSync())).toEqual(Array.from(prior.means.dataSync()));
    const other = registry().build('prior', { name: 'mixture_of_gaussians' }, ctx(3, 2)) as MixtureOfGaussiansPrior;
    expect(Array.from(other.means.dataSync())).not.toEqual(Array.from(prior.means.dataSync()));
    const wide = registry().build('prior', { name: 'mixture_of_gaussians', components: 400, init_scale: 3 }, ctx(5)) as MixtureOfGaussiansPrior;
    const sd = Math.sqrt(tf.moments(wide.means).variance.dataSync()[0]!);
    expect(sd).toBeGreaterThan(2.7);
    expect(sd).toBeLessThan(3.3);
    expect(() => registry().build('prior', { name: 'mixture_of_gaussians', components: 0 }, ctx(3), 'prior')).toThrow(/prior\.components/);
    for (const p of [prior, again, other, wide]) p.dispose();
  });

  it('a training-like step (Monte Carlo KL) reaches every variable and leaks no tensors', () => {
    const prior = handPicked();
    const rng = new RandomStream('leak', 1);
    const loc = tf.variable(tf.tensor2d([[0.5, -1], [0, 0.3]]));
    const step = () => {
      const { value, grads } = tf.variableGrads(() =>
        tf.tidy(() => {
          const q = new Normal(loc, tf.fill([2, 2], 0.7));
          return tf.mean(kl(q, prior.distribution(2), { rng, samples: 2 }).value) as tf.Scalar;
        }),
      );
      const norms = prior.variables.map((v) => tf.tidy(() => tf.sum(tf.abs(grads[v.name]!)).dataSync()[0]!));
      value.dispose();
      tf.dispose(grads);
      return norms;
    };
    expect(step().every((g) => g > 0 && Number.isFinite(g))).toBe(true);
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
    prior.dispose();
    loc.dispose();
  });
});
