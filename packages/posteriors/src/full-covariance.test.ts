import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, Normal, RandomStream, RandomStreams, ShapeError, SupportError, kl, withValidation } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { FullCovarianceGaussianPosterior, MultivariateNormalTriL, components, klRules } from './index.js';

/* Float64 reference algebra, independent of the code under test. */

type Matrix = number[][];
const LOG_2PI = Math.log(2 * Math.PI);
const softplus = (x: number) => Math.log1p(Math.exp(x));

/** L from the encoder's raw lower triangle (row-major), diagonal through softplus + 1e-5 or exp. */
function lowerJs(raw: number[], dim: number, diagonal: 'softplus' | 'exp'): Matrix {
  const l: Matrix = Array.from({ length: dim }, () => new Array<number>(dim).fill(0));
  let at = 0;
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++, at++) {
      const v = raw[at]!;
      l[i]![j] = j < i ? v : diagonal === 'exp' ? Math.exp(v) : softplus(v) + 1e-5;
    }
  }
  return l;
}

const matMul = (a: Matrix, b: Matrix): Matrix => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const transpose = (a: Matrix): Matrix => a[0]!.map((_, j) => a.map((row) => row[j]!));

/** Gauss–Jordan inverse and LU determinant with partial pivoting. */
function inverseAndLogDet(a: Matrix): { inverse: Matrix; logDet: number } {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  let logDet = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const pivot = m[c]![c]!;
    logDet += Math.log(Math.abs(pivot));
    for (let j = 0; j < 2 * n; j++) m[c]![j]! /= pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let j = 0; j < 2 * n; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  return { inverse: m.map((row) => row.slice(n)), logDet };
}

function mvnLogProbJs(x: number[], mu: number[], cov: Matrix): number {
  const { inverse, logDet } = inverseAndLogDet(cov);
  const d = x.map((v, i) => v - mu[i]!);
  const quad = d.reduce((s, di, i) => s + di * d.reduce((t, dj, j) => t + inverse[i]![j]! * dj, 0), 0);
  return -0.5 * (quad + logDet + x.length * LOG_2PI);
}

function klJs(muQ: number[], covQ: Matrix, muP: number[], covP: Matrix): number {
  const { inverse, logDet: logDetP } = inverseAndLogDet(covP);
  const logDetQ = inverseAndLogDet(covQ).logDet;
  const trace = matMul(inverse, covQ).reduce((s, row, i) => s + row[i]!, 0);
  const d = muP.map((v, i) => v - muQ[i]!);
  const quad = d.reduce((s, di, i) => s + di * d.reduce((t, dj, j) => t + inverse[i]![j]! * dj, 0), 0);
  return 0.5 * (trace + quad - muQ.length + logDetP - logDetQ);
}

const D = 3;
const MU_Q = [0.5, -1, 2];
const RAW_Q = [0.3, -0.6, 0.1, 0.8, 0.4, -0.2];
const MU_P = [0, 0.5, -0.5];
const RAW_P = [-0.2, 0.5, 0.7, -0.3, 0.2, 0.4];

const family = new FullCovarianceGaussianPosterior(D);
const qOf = (mu: number[], raw: number[], fam = family) => fam.distribution(tf.tensor2d([[...mu, ...raw]]));
const covOf = (raw: number[], diagonal: 'softplus' | 'exp' = 'softplus') => {
  const l = lowerJs(raw, D, diagonal);
  return matMul(l, transpose(l));
};

/** Monte Carlo mean and standard error of log q(z) − log p(z), z ~ q, with n draws. */
function monteCarloKL(q: MultivariateNormalTriL, p: { logProb(x: tf.Tensor): tf.Tensor }, n: number, seed: number): { mean: number; se: number } {
  const values = tf.tidy(() => {
    const z = q.sample(new RandomStream('mc', seed));
    return Array.from(tf.sub(q.logProb(z), p.logProb(z)).dataSync());
  });
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
}

const tiled = (mu: number[], raw: number[], n: number) => tf.tile(tf.tensor2d([[...mu, ...raw]]), [n, 1]);

describe('full_covariance_gaussian', () => {
  it('asks the encoder for D + D(D+1)/2 values', () => {
    expect(new FullCovarianceGaussianPosterior(4).paramShape({ dim: 4 })).toEqual([4 + 10]);
    expect(new FullCovarianceGaussianPosterior(64).paramShape({ dim: 64 })).toEqual([64 + 2080]);
  });

  it('reads μ, then the lower triangle row-major with a softplus (+1e-5) or exp diagonal', () => {
    for (const diagonal of ['softplus', 'exp'] as const) {
      const q = qOf(MU_Q, RAW_Q, new FullCovarianceGaussianPosterior(D, diagonal));
      expect(q.batchShape).toEqual([1]);
      expect(q.eventShape).toEqual([D]);
      expect(Array.from(q.mean().dataSync())).toEqual(MU_Q.map((v) => expect.closeTo(v, 6)));
      const l = (q.scaleTril.arraySync() as Matrix[])[0]!;
      lowerJs(RAW_Q, D, diagonal).forEach((row, i) => row.forEach((v, j) => expect(l[i]![j]).toBeCloseTo(v, 5)));
    }
  });

  it('logProb matches the float64 closed form, for x with extra leading sample axes', () => {
    const q = family.distribution(tf.tensor2d([[...MU_Q, ...RAW_Q], [...MU_P, ...RAW_P]]));
    const xs = [
      [
        [0.1, 0.2, 0.3],
        [-1, 2, 0.5],
      ],
      [
        [1.5, -2.5, 3],
        [0, 0, 0],
      ],
    ]; // [k = 2, batch = 2, D]
    const lp = q.logProb(tf.tensor3d(xs));
    expect(lp.shape).toEqual([2, 2]);
    const got = lp.arraySync() as number[][];
    for (let k = 0; k < 2; k++) {
      expect(got[k]![0]).toBeCloseTo(mvnLogProbJs(xs[k]![0]!, MU_Q, covOf(RAW_Q)), 3);
      expect(got[k]![1]).toBeCloseTo(mvnLogProbJs(xs[k]![1]!, MU_P, covOf(RAW_P)), 3);
    }
    expect(q.logProb(tf.tensor2d(xs[0]!)).shape).toEqual([2]);
    expect(() => q.logProb(tf.zeros([2, 4]))).toThrow(ShapeError);
  });

  it('entropy matches ½ log det(2πe Σ) in float64', () => {
    const h = qOf(MU_Q, RAW_Q).entropy().dataSync()[0]!;
    const want = 0.5 * (inverseAndLogDet(covOf(RAW_Q)).logDet + D * (1 + LOG_2PI));
    expect(h).toBeCloseTo(want, 4);
  });

  it('samples have mean μ and covariance L Lᵀ', () => {
    const n = 20000;
    const q = family.distribution(tiled(MU_Q, RAW_Q, n));
    const z = q.sample(new RandomStream('moments', 3));
    expect(z.shape).toEqual([n, D]);
    const rows = z.arraySync() as Matrix;
    const cov = covOf(RAW_Q);
    const mean = MU_Q.map((_, i) => rows.reduce((s, r) => s + r[i]!, 0) / n);
    mean.forEach((m, i) => expect(Math.abs(m - MU_Q[i]!)).toBeLessThan(4 * Math.sqrt(cov[i]![i]! / n)));
    for (let i = 0; i < D; i++) {
      for (let j = 0; j < D; j++) {
        const c = rows.reduce((s, r) => s + (r[i]! - mean[i]!) * (r[j]! - mean[j]!), 0) / (n - 1);
        const se = Math.sqrt((cov[i]![i]! * cov[j]![j]! + cov[i]![j]! ** 2) / n);
        expect(Math.abs(c - cov[i]![j]!)).toBeLessThan(4 * se);
      }
    }
  });

  it('rsample gradients with respect to the encoder output match central finite differences', () => {
    for (const diagonal of ['softplus', 'exp'] as const) {
      const fam = new FullCovarianceGaussianPosterior(D, diagonal);
      // The same noise on every evaluation: a fresh stream with the same name and seed.
      const f = (params: tf.Tensor) => {
        const z = fam.distribution(params).rsample(new RandomStream('g', 5));
        return tf.sum(tf.add(tf.sin(z), tf.mul(0.3, tf.square(z))));
      };
      const params = [...MU_Q, ...RAW_Q];
      const grad = tf.grad(f)(tf.tensor2d([params])).dataSync();
      const h = 1e-2;
      params.forEach((_, i) => {
        const plus = [...params];
        const minus = [...params];
        plus[i]! += h;
        minus[i]! -= h;
        const fd = (f(tf.tensor2d([plus])).dataSync()[0]! - f(tf.tensor2d([minus])).dataSync()[0]!) / (2 * h);
        expect(grad[i]).toBeCloseTo(fd, 2);
      });
    }
  });

  describe('KL', () => {
    new ComponentRegistry().use({ components, klRules });
    const rng = new RandomStream('kl', 1);

    it('MVN-TriL ‖ MVN-TriL matches the float64 closed form, is analytic, and is 0 against itself', () => {
      const q = qOf(MU_Q, RAW_Q);
      const p = qOf(MU_P, RAW_P);
      const r = kl(q, p, { rng });
      expect(r.analytic).toBe(true);
      expect(r.value.shape).toEqual([1]);
      expect(r.value.dataSync()[0]).toBeCloseTo(klJs(MU_Q, covOf(RAW_Q), MU_P, covOf(RAW_P)), 3);
      expect(kl(q, q, { rng }).value.dataSync()[0]).toBeCloseTo(0, 4);
    });

    it('MVN-TriL ‖ MVN-TriL agrees with a Monte Carlo estimate', () => {
      const n = 20000;
      const q = family.distribution(tiled(MU_Q, RAW_Q, n));
      const p = family.distribution(tiled(MU_P, RAW_P, n));
      const { mean, se } = monteCarloKL(q, p, n, 11);
      expect(Math.abs(mean - kl(q, p, { rng }).value.dataSync()[0]!)).toBeLessThan(4 * se);
    });

    it('MVN-TriL ‖ Normal matches the closed form for N(0, I) and for a learnable diagonal Gaussian', () => {
      const q = qOf(MU_Q, RAW_Q);
      const standard = new Normal(tf.zeros([1, D]), tf.ones([1, D]));
      const identity = MU_Q.map((_, i) => MU_Q.map((__, j) => (i === j ? 1 : 0)));
      const r = kl(q, standard, { rng });
      expect(r.analytic).toBe(true);
      expect(r.value.dataSync()[0]).toBeCloseTo(klJs(MU_Q, covOf(RAW_Q), [0, 0, 0], identity), 3);

      const sigma = [0.5, 2, 1.3];
      const learned = new Normal(tf.tensor2d([MU_P]), tf.tensor2d([sigma]));
      const diag = sigma.map((s, i) => sigma.map((__, j) => (i === j ? s * s : 0)));
      expect(kl(q, learned, { rng }).value.dataSync()[0]).toBeCloseTo(klJs(MU_Q, covOf(RAW_Q), MU_P, diag), 3);
    });

    it('MVN-TriL ‖ Normal agrees with a Monte Carlo estimate', () => {
      const n = 20000;
      const q = family.distribution(tiled(MU_Q, RAW_Q, n));
      const p = new Normal(tf.tile(tf.tensor2d([MU_P]), [n, 1]), tf.tile(tf.tensor2d([[0.5, 2, 1.3]]), [n, 1]));
      const { mean, se } = monteCarloKL(q, p, n, 12);
      expect(Math.abs(mean - tf.mean(kl(q, p, { rng }).value).dataSync()[0]!)).toBeLessThan(4 * se);
    });

    it('rejects a Normal over another event shape', () => {
      expect(() => kl(qOf(MU_Q, RAW_Q), new Normal(tf.zeros([1, 2]), tf.ones([1, 2])), { rng })).toThrow(ShapeError);
    });
  });

  it('rejects an encoder output of the wrong shape, naming both', () => {
    expect(() => family.distribution(tf.zeros([2, 8]))).toThrow(ShapeError);
    expect(() => family.distribution(tf.zeros([2, 8]))).toThrow(/full_covariance_gaussian.*\[2, 8\].*\[batch, 9\]/);
  });

  it('raises SupportError for a non-positive diagonal under validation only', () => {
    const loc = tf.zeros([1, 2]);
    const bad = tf.tensor3d([
      [
        [1, 0],
        [0.5, -0.1],
      ],
    ]);
    expect(() => new MultivariateNormalTriL(loc, bad)).not.toThrow();
    expect(() => withValidation(() => new MultivariateNormalTriL(loc, bad))).toThrow(SupportError);
    expect(() => withValidation(() => new MultivariateNormalTriL(loc, bad))).toThrow(/diagonal of scale_tril must be positive.*-0\.1/);
    // exp(−200) underflows to 0 in float32: the family's output is checked too.
    const underflow = new FullCovarianceGaussianPosterior(2, 'exp');
    expect(() => withValidation(() => underflow.distribution(tf.tensor2d([[0, 0, 0, 0, -200]])))).toThrow(SupportError);
  });

  it('is built from config, with its KL rules, and rejects an unknown diagonal option', () => {
    const registry = new ComponentRegistry().use({ components, klRules });
    const ctx = { latentDim: 2, streams: new RandomStreams(1), cwd: '.' };
    const built = registry.build('posterior', { name: 'full_covariance_gaussian', diagonal: 'exp' }, ctx);
    expect(built.reparameterized).toBe(true);
    expect(built.paramShape({ dim: 2 })).toEqual([5]);
    expect(registry.build('posterior', { name: 'full_covariance_gaussian' }, ctx)).toMatchObject({ diagonal: 'softplus' });
    expect(() => registry.build('posterior', { name: 'full_covariance_gaussian', diagonal: 'square' }, ctx, 'posterior')).toThrow(/posterior\.diagonal/);
  });

  it('leaves no tensors behind after a training-like step', () => {
    const rng = new RandomStream('leak', 2);
    const x = rng.normal([5, 4]);
    const encoder = tf.variable(tf.mul(rng.normal([4, family.paramShape({ dim: D })[0]!]), 0.3));
    const step = () => {
      const { value, grads } = tf.variableGrads(() => {
        const q = family.distribution(tf.matMul(x, encoder));
        const z = q.rsample(rng);
        const prior = new Normal(tf.zeros([5, D]), tf.ones([5, D]));
        return tf.mean(tf.add(kl(q, prior, { rng, z }).value, tf.sum(tf.square(z), -1))) as tf.Scalar;
      }, [encoder]);
      expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(); // warm-up: kernels and constants created once
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
  });
});
