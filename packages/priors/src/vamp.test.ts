import * as tf from '@tensorflow/tfjs-core';
import {
  ComponentConfigError,
  ComponentRegistry,
  type Distribution,
  Normal,
  type PriorModelAccess,
  RandomStream,
  RandomStreams,
  ShapeError,
  hasAnalyticKL,
  kl,
} from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { VampPrior, components } from './index.js';

const registry = () => new ComponentRegistry().use({ components });
const ctx = (latentDim: number, dataShape: number[], seed = 1) => ({ latentDim, dataShape, streams: new RandomStreams(seed), cwd: '.' });

// Data of shape [3], latent 2. A small linear encoder x W -> [μ, log σ], then a diagonal Gaussian.
const W = [
  [0.5, -1, 0.2, -0.3],
  [1, 0.4, -0.1, 0.1],
  [-0.6, 0.8, 0.3, -0.2],
];
function linearEncoder(weights: tf.Tensor2D, posteriorName = 'diagonal_gaussian'): PriorModelAccess {
  return {
    dataShape: [3],
    posteriorName,
    encode: (x) => {
      const [loc, logScale] = tf.split(tf.matMul(x as tf.Tensor2D, weights), 2, 1);
      return new Normal(loc!, tf.exp(logScale!), 1, logScale);
    },
  };
}
const opts = (k: number, clamp = true) => ({ pseudoInputs: k, initMean: 0.5, initStd: 0.2, clamp });

/* float64 reference: (1/K) Σ_k N(z; μ(u_k), σ(u_k)²) with u clamped to [0, 1]. */
function referenceLogDensity(us: number[][], z: number[]): number {
  const perK = us.map((u0) => {
    const u = u0.map((v) => Math.min(1, Math.max(0, v)));
    const out = [0, 1, 2, 3].map((j) => u.reduce((s, v, i) => s + v * W[i]![j]!, 0));
    return [0, 1].reduce((s, j) => {
      const sd = Math.exp(out[2 + j]!);
      return s - 0.5 * ((z[j]! - out[j]!) / sd) ** 2 - Math.log(sd) - 0.5 * Math.log(2 * Math.PI);
    }, 0);
  });
  const top = Math.max(...perK);
  return top + Math.log(perK.reduce((s, v) => s + Math.exp(v - top), 0)) - Math.log(us.length);
}

describe('vamp prior', () => {
  const us = [[0.2, 0.9, 0.4], [1.4, 0.1, 0.6], [0.5, 0.5, -0.3]]; // some outside [0, 1]: clamped

  function bound() {
    const prior = new VampPrior(2, [3], opts(3), new RandomStream('init/prior', 1));
    prior.pseudoInputs.assign(tf.tensor2d(us));
    const weights = tf.variable(tf.tensor2d(W));
    prior.bind(linearEncoder(weights as tf.Tensor2D));
    return { prior, weights };
  }

  it('logProb is the uniform mixture of the posterior at the clamped pseudo-inputs', () => {
    const { prior, weights } = bound();
    const d = prior.distribution(2);
    expect(d.batchShape).toEqual([2]);
    expect(d.eventShape).toEqual([2]);
    const z = [[0.3, -0.2], [1.5, 2]];
    const lp = d.logProb(tf.tensor2d(z)).arraySync() as number[];
    expect(lp[0]).toBeCloseTo(referenceLogDensity(us, z[0]!), 4);
    expect(lp[1]).toBeCloseTo(referenceLogDensity(us, z[1]!), 4);
    const zs = [z, [[0, 0], [-1, 1]]];
    const stacked = d.logProb(tf.tensor3d(zs)).arraySync() as number[][];
    expect(stacked[1]![1]).toBeCloseTo(referenceLogDensity(us, [-1, 1]), 4);
    expect(hasAnalyticKL(new Normal(tf.zeros([2, 2]), tf.ones([2, 2])), d)).toBe(false);
    prior.dispose();
    weights.dispose();
  });

  it('gradients reach the pseudo-inputs (as finite differences say; zero where clamped) and the encoder', () => {
    const { prior, weights } = bound();
    const z = tf.tensor2d([[0.3, -0.2], [1.5, 2], [-0.4, 0.8]]);
    const f = () => tf.mean(prior.distribution(3).logProb(z)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(f);
    const gU = grads[prior.pseudoInputs.name]!.arraySync() as number[][];
    const gW = Array.from(grads[weights.name]!.dataSync());
    expect(gW.some((g) => Math.abs(g) > 1e-3)).toBe(true);
    expect(gU[1]![0]).toBe(0); // 1.4 is clamped to 1
    expect(gU[2]![2]).toBe(0); // −0.3 is clamped to 0
    const h = 1e-2;
    const at = (i: number, j: number, delta: number) => {
      const bumped = us.map((row, r) => row.map((v, c) => (r === i && c === j ? v + delta : v)));
      return z.arraySync().reduce((s, zz) => s + referenceLogDensity(bumped, zz), 0) / 3;
    };
    for (const [i, j] of [[0, 0], [0, 1], [1, 2], [2, 0]] as const) {
      expect(gU[i]![j]).toBeCloseTo((at(i, j, h) - at(i, j, -h)) / (2 * h), 3);
    }
    expect(value.dataSync()[0]).toBeCloseTo(at(0, 0, 0), 4);
    value.dispose();
    tf.dispose(grads);
    prior.dispose();
    weights.dispose();
  });

  it('samples: choose k uniformly, then sample q(z | u_k); moments match the mixture', () => {
    // Identity-like encoder: μ(u) = u, σ = 0.5, so p(z) = (1/K) Σ N(u_k, 0.25 I).
    const us2 = [[0.1, 0.9], [0.5, 0.2], [0.8, 0.7]];
    const prior = new VampPrior(2, [2], opts(3), new RandomStream('init/prior', 1));
    prior.pseudoInputs.assign(tf.tensor2d(us2));
    prior.bind({ dataShape: [2], posteriorName: 'diagonal_gaussian', encode: (x) => new Normal(x, tf.fill(x.shape, 0.5)) });
    const n = 20_000;
    const d = prior.distribution(n);
    const s = d.sample(new RandomStream('s', 2));
    expect(s.shape).toEqual([n, 2]);
    const { mean, variance } = tf.moments(s, 0);
    const m = Array.from(mean.dataSync());
    const v = Array.from(variance.dataSync());
    const closedMean = d.mean().arraySync() as number[][];
    for (let j = 0; j < 2; j++) {
      const col = us2.map((u) => u[j]!);
      const mu = col.reduce((a, b) => a + b, 0) / 3;
      const variance64 = 0.25 + col.reduce((a, b) => a + (b - mu) ** 2, 0) / 3;
      expect(closedMean[0]![j]).toBeCloseTo(mu, 5);
      expect(Math.abs(m[j]! - mu)).toBeLessThan(4 * Math.sqrt(variance64 / n));
      expect(v[j]! / variance64).toBeCloseTo(1, 1);
    }
    prior.dispose();
  });

  it('refuses a posterior whose log-density exists only at its own samples, naming the prior and the posterior', () => {
    const prior = new VampPrior(2, [3], opts(4), new RandomStream('init/prior', 1));
    const flowLike = (n: number): Distribution => ({
      batchShape: [n],
      eventShape: [2],
      logProbOnlyAtOwnSamples: true,
      sample: () => tf.zeros([n, 2]),
      logProb: () => tf.zeros([n]),
    });
    const model = { dataShape: [3], posteriorName: 'planar_flow', encode: (x: tf.Tensor) => flowLike(x.shape[0]!) };
    expect(() => prior.bind(model)).toThrow(ComponentConfigError);
    expect(() => prior.bind(model)).toThrow(/prior 'vamp' cannot be used with posterior 'planar_flow'.*logProbOnlyAtOwnSamples/);
    const noLogProb = { dataShape: [3], posteriorName: 'odd', encode: (x: tf.Tensor) => ({ ...flowLike(x.shape[0]!), logProbOnlyAtOwnSamples: false, logProb: undefined }) as unknown as Distribution };
    expect(() => prior.bind(noLogProb)).toThrow(/posterior 'odd'.*lack logProb/);
    prior.dispose();
  });

  it('says what is wrong when unbound, or bound to a model of another data or latent shape', () => {
    const prior = new VampPrior(2, [3], opts(4), new RandomStream('init/prior', 1));
    expect(() => prior.distribution(2)).toThrow(/before bind\(\)/);
    expect(() => prior.bind({ ...linearEncoder(tf.tensor2d(W)), dataShape: [4] })).toThrow(ShapeError);
    const wide = { dataShape: [3], posteriorName: 'diagonal_gaussian', encode: (x: tf.Tensor) => new Normal(x, tf.onesLike(x)) };
    expect(() => prior.bind(wide)).toThrow(/event \[3\], expected \[1\] and \[2\]/);
    prior.dispose();
  });

  it('is built from config with the documented defaults', () => {
    const prior = registry().build('prior', { name: 'vamp' }, ctx(2, [4, 4, 1])) as VampPrior;
    expect(prior.pseudoInputs.shape).toEqual([500, 4, 4, 1]);
    expect(prior.options).toEqual({ pseudoInputs: 500, initMean: 0.05, initStd: 0.01, clamp: true });
    const { mean, variance } = tf.moments(prior.pseudoInputs);
    expect(mean.dataSync()[0]).toBeCloseTo(0.05, 3);
    expect(Math.sqrt(variance.dataSync()[0]!)).toBeCloseTo(0.01, 3);
    const small = registry().build('prior', { name: 'vamp', pseudo_inputs: 7, clamp: false }, ctx(2, [3])) as VampPrior;
    expect(small.pseudoInputs.shape).toEqual([7, 3]);
    expect(() => registry().build('prior', { name: 'vamp', pseudo_inputs: 1.5 }, ctx(2, [3]), 'prior')).toThrow(/prior\.pseudo_inputs/);
    prior.dispose();
    small.dispose();
  });

  it('a training-like step (Monte Carlo KL) leaks no tensors', () => {
    const { prior, weights } = bound();
    const model = linearEncoder(weights as tf.Tensor2D);
    const rng = new RandomStream('leak', 1);
    const x = tf.tensor2d([[0.1, 0.5, 0.9], [1, 0, 0.3]]);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.mean(kl(model.encode(x), prior.distribution(2), { rng }).value) as tf.Scalar));
      value.dispose();
      tf.dispose(grads);
    };
    step();
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
    prior.dispose();
    weights.dispose();
  });
});
