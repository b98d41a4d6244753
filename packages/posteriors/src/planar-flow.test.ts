import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, Normal, RandomStream, RandomStreams, ShapeError, SupportError, kl, withValidation } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { FlowLogProbError, PlanarFlow, PlanarFlowPosterior, components, constrainPlanar, klRules } from './index.js';
import { jacobianFd, logAbsDet } from './test-helpers.js';

/* Float64 references, independent of the code under test. */

const LOG_2PI = Math.log(2 * Math.PI);
const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);

interface LayerJs {
  u: number[];
  w: number[];
  b: number;
}

/** The planar flow of Rezende & Mohamed (2015) in float64: z_K and Σ log|det|. */
function planarJs(z0: number[], layers: LayerJs[]): { z: number[]; logDet: number } {
  let z = [...z0];
  let logDet = 0;
  for (const { u, w, b } of layers) {
    const wu = dot(w, u);
    const uHat = u.map((ui, i) => ui + ((-1 + softplus(wu) - wu) * w[i]!) / dot(w, w));
    const t = Math.tanh(dot(w, z) + b);
    z = z.map((zi, i) => zi + uHat[i]! * t);
    logDet += Math.log(Math.abs(1 + (1 - t * t) * dot(uHat, w)));
  }
  return { z, logDet };
}

// D = 2, K = 3, log_var base.
const MU = [0.3, -0.8];
const LOG_VAR = [-0.5, 0.4];
const LAYERS: LayerJs[] = [
  { u: [1.2, -0.7], w: [0.9, 1.5], b: 0.2 },
  { u: [-2, 0.4], w: [0.3, -1.1], b: -0.5 },
  { u: [0.5, 0.5], w: [-1.4, 0.2], b: 1 },
];
const paramsOf = (mu: number[], s: number[], layers: LayerJs[]) => [...mu, ...s, ...layers.flatMap((l) => [...l.u, ...l.w, l.b])];
const PARAMS = paramsOf(MU, LOG_VAR, LAYERS);
const family = new PlanarFlowPosterior(2, 3, 'log_var');

/** The expected sample and log q for noise ε, in float64. */
function expected(eps: number[]): { z: number[]; logQ: number } {
  const sigma = LOG_VAR.map((s) => Math.exp(0.5 * s));
  const z0 = MU.map((m, i) => m + sigma[i]! * eps[i]!);
  const logQ0 = z0.reduce((s, v, i) => s - 0.5 * ((v - MU[i]!) / sigma[i]!) ** 2 - Math.log(sigma[i]!) - 0.5 * LOG_2PI, 0);
  const { z, logDet } = planarJs(z0, LAYERS);
  return { z, logQ: logQ0 - logDet };
}

describe('planar_flow', () => {
  it('asks the encoder for 2D + K(2D + 1) values', () => {
    expect(family.paramShape({ dim: 2 })).toEqual([4 + 3 * 5]);
    expect(new PlanarFlowPosterior(20).paramShape({ dim: 20 })).toEqual([40 + 4 * 41]);
    expect(() => family.paramShape({ dim: 3 })).toThrow(ShapeError);
  });

  it('keeps ûᵀw = m(wᵀu) ≥ −1 for adversarial u and w, and the log-det finite', () => {
    const rng = new RandomStream('adversarial', 4);
    const w = tf.mul(rng.normal([64, 5]), 3);
    const u = tf.add(tf.mul(w, tf.reshape(tf.linspace(-40, 40, 64), [64, 1])), rng.normal([64, 5])); // u ≈ c·w, c from −40 to 40
    const { uHat, onePlusUHatW } = constrainPlanar(u, w);
    const uHats = uHat.arraySync() as number[][];
    const ws = w.arraySync() as number[][];
    const us = u.arraySync() as number[][];
    uHats.forEach((uh, n) => {
      const uHatW = dot(uh, ws[n]!);
      // Bound on float32 rounding: ~1e-7 relative to the magnitudes of the products summed.
      const magnitude = uh.reduce((s, v, i) => s + Math.abs(v * ws[n]![i]!) + Math.abs(us[n]![i]! * ws[n]![i]!), 0);
      const rounding = 1e-6 * magnitude;
      expect(uHatW).toBeGreaterThanOrEqual(-1 - rounding);
      expect(Math.abs(uHatW - (-1 + softplus(dot(us[n]!, ws[n]!))))).toBeLessThanOrEqual(1e-4 + rounding);
    });
    expect(Math.min(...onePlusUHatW.dataSync())).toBeGreaterThanOrEqual(0);
    // The flow at points where h' = 1 (wᵀz + b = 0, where 1 + ûᵀψ = softplus(wᵀu) is smallest) and
    // elsewhere; wᵀu in about [−50, 50], where softplus(wᵀu) does not underflow in float32.
    const wModerate = rng.normal([64, 5]);
    const uModerate = tf.add(tf.mul(wModerate, tf.reshape(tf.linspace(-3, 3, 64), [64, 1])), rng.normal([64, 5]));
    const flow = new PlanarFlow([{ u: uModerate as tf.Tensor2D, w: wModerate as tf.Tensor2D, b: tf.zeros([64, 1]) }]);
    for (const z of [tf.zeros([64, 5]), rng.normal([64, 5])]) {
      const logDet = flow.transform(z as tf.Tensor2D).logDetJacobian.dataSync();
      expect(Array.from(logDet).every((v) => Number.isFinite(v))).toBe(true);
    }
  });

  it('computes the log-det of a near-singular layer (ûᵀw ≈ −0.95) like the finite-difference Jacobian', () => {
    // wᵀu = −3: softplus(−3) ≈ 0.049, so 1 + ûᵀw ≈ 0.049 and the map nearly folds where h' ≈ 1.
    const flow = new PlanarFlow([{ u: tf.tensor2d([[-1.5, -0.75]]), w: tf.tensor2d([[1, 2]]), b: tf.tensor2d([[0.1]]) }]);
    const g = (x: number[]) => Array.from(flow.transform(tf.tensor2d([x])).z.dataSync());
    for (const x of [[0, 0], [0.3, -0.2], [1, 1]]) {
      const logDet = flow.transform(tf.tensor2d([x])).logDetJacobian.dataSync()[0]!;
      expect(logDet).toBeCloseTo(logAbsDet(jacobianFd(g, x, 1e-3)), 2);
    }
  });

  it('log|det| of each layer stack matches the log|det| of a finite-difference Jacobian (D = 2 and 3)', () => {
    const cases = [
      { fam: family, params: PARAMS, points: [[0.1, -0.4], [1.5, 2.0], [-2.2, 0.3]] },
      {
        fam: new PlanarFlowPosterior(3, 2, 'log_std'),
        params: paramsOf([0, 0, 0], [0, 0, 0], [
          { u: [0.8, -1.3, 0.4], w: [1.1, 0.2, -0.7], b: 0.3 },
          { u: [-0.5, 0.9, 1.6], w: [-0.4, 1.2, 0.6], b: -0.8 },
        ]),
        points: [[0.2, -0.5, 0.9], [-1.1, 0.4, 0.0]],
      },
    ];
    for (const { fam, params, points } of cases) {
      const q = fam.distribution(tf.tensor2d([params]));
      const g = (x: number[]) => Array.from(q.flow.transform(tf.tensor2d([x])).z.dataSync());
      for (const x of points) {
        const logDet = q.flow.transform(tf.tensor2d([x])).logDetJacobian.dataSync()[0]!;
        expect(logDet).toBeCloseTo(logAbsDet(jacobianFd(g, x)), 3);
      }
    }
  });

  it('log q at a sample equals log q0(z0) − Σ log|det|, for several samples at once', () => {
    const q = family.distribution(tf.tensor2d([PARAMS]));
    expect(q.logProbOnlyAtOwnSamples).toBe(true);
    expect(q.batchShape).toEqual([1]);
    expect(q.eventShape).toEqual([2]);
    const seeds = [7, 8, 9];
    const zs = seeds.map((seed) => q.rsample(new RandomStream('s', seed)));
    const zSample = q.sample(new RandomStream('s', 10));
    [...zs, zSample].forEach((z, i) => {
      // The same ε the distribution drew: a fresh stream with the same name and seed.
      const eps = Array.from(new RandomStream('s', [...seeds, 10][i]!).normal([1, 2]).dataSync());
      const want = expected(eps);
      Array.from(z.dataSync()).forEach((v, d) => expect(v).toBeCloseTo(want.z[d]!, 4));
      expect(q.logProb(z).shape).toEqual([1]);
      expect(q.logProb(z).dataSync()[0]).toBeCloseTo(want.logQ, 3);
    });
    expect(q.logProb(zs[0]!).dataSync()[0]).not.toBeCloseTo(q.logProb(zs[1]!).dataSync()[0]!, 3);
  });

  it('refuses logProb at a tensor it did not produce, naming the family', () => {
    const q = family.distribution(tf.tensor2d([PARAMS]));
    const z = q.rsample(new RandomStream('s', 1));
    expect(() => q.logProb(z.clone())).toThrow(FlowLogProbError);
    expect(() => q.logProb(tf.zeros([1, 2]))).toThrow(/planar_flow: logProb is only available at this distribution's own samples/);
    expect(() => family.distribution(tf.tensor2d([PARAMS])).logProb(z)).toThrow(FlowLogProbError);
  });

  it('rsample and its log q have gradients matching central finite differences', () => {
    const f = (params: tf.Tensor) => {
      const q = family.distribution(params);
      const z = q.rsample(new RandomStream('g', 3));
      return tf.add(tf.sum(tf.add(tf.sin(z), tf.mul(0.3, tf.square(z)))), tf.sum(q.logProb(z)));
    };
    const grad = tf.grad(f)(tf.tensor2d([PARAMS])).dataSync();
    const h = 1e-2;
    PARAMS.forEach((_, i) => {
      const plus = [...PARAMS];
      const minus = [...PARAMS];
      plus[i]! += h;
      minus[i]! -= h;
      const fd = (f(tf.tensor2d([plus])).dataSync()[0]! - f(tf.tensor2d([minus])).dataSync()[0]!) / (2 * h);
      expect(grad[i]).toBeCloseTo(fd, 2);
    });
  });

  it('rejects an encoder output of the wrong shape and non-finite base parameters under validation', () => {
    expect(() => family.distribution(tf.zeros([2, 18]))).toThrow(/planar_flow.*\[2, 18\].*\[batch, 19\]/);
    const nan = [...PARAMS];
    nan[2] = NaN;
    expect(() => family.distribution(tf.tensor2d([nan]))).not.toThrow();
    expect(() => withValidation(() => family.distribution(tf.tensor2d([nan])))).toThrow(SupportError);
  });

  it('is built from config and rejects a bad number of layers', () => {
    const registry = new ComponentRegistry().use({ components, klRules });
    const ctx = { latentDim: 2, streams: new RandomStreams(1), cwd: '.' };
    const built = registry.build('posterior', { name: 'planar_flow', layers: 3 }, ctx);
    expect(built.reparameterized).toBe(true);
    expect(built.paramShape({ dim: 2 })).toEqual([19]);
    expect(registry.build('posterior', { name: 'planar_flow' }, ctx).paramShape({ dim: 2 })).toEqual([4 + 4 * 5]);
    expect(() => registry.build('posterior', { name: 'planar_flow', layers: 0 }, ctx, 'posterior')).toThrow(/posterior\.layers/);
  });

  it('leaves no tensors behind after a training-like step with a Monte Carlo KL', () => {
    const rng = new RandomStream('leak', 2);
    const x = rng.normal([5, 4]);
    const encoder = tf.variable(tf.mul(rng.normal([4, 19]), 0.3));
    const step = () => {
      const { value, grads } = tf.variableGrads(() => {
        const q = family.distribution(tf.matMul(x, encoder));
        const z = q.rsample(rng);
        const prior = new Normal(tf.zeros([5, 2]), tf.ones([5, 2]));
        const r = kl(q, prior, { rng, z, samples: 2 });
        expect(r.analytic).toBe(false);
        return tf.mean(tf.add(r.value, tf.sum(tf.square(z), -1))) as tf.Scalar;
      }, [encoder]);
      expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
      expect(tf.tidy(() => tf.sum(tf.abs(grads[encoder.name]!)).dataSync()[0])).toBeGreaterThan(0);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
  });
});
