import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, RandomStream, RandomStreams, ShapeError, SupportError, withValidation } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { Bernoulli, ContinuousBernoulli, DiscretizedLogisticMixture, Laplace, LaplaceLikelihood, QuantizedCategorical, components } from './index.js';

/** log Laplace(x; μ, b) = −|x − μ|/b − log(2b), float64. */
const logLaplace = (x: number, m: number, b: number) => -Math.abs(x - m) / b - Math.log(2 * b);
/** Inverse CDF at u ∈ (−½, ½). */
const quantile = (u: number, m: number, b: number) => m - b * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));

const registry = new ComponentRegistry().use({ components });
const ctx = (dataShape: number[]) => ({ dataShape, levels: null, streams: new RandomStreams(1), cwd: '.' });

describe('Laplace', () => {
  const loc = tf.tensor2d([[0.1, -2, 3]]);
  const scale = tf.tensor2d([[0.5, 1, 2.5]]);

  it('logProb, entropy and mean match the closed forms', () => {
    const d = new Laplace(loc, scale, 1);
    const x = [0.3, -2, -1];
    const expected = x.reduce((acc, v, i) => acc + logLaplace(v, [0.1, -2, 3][i]!, [0.5, 1, 2.5][i]!), 0);
    expect(d.logProb(tf.tensor2d([x])).dataSync()[0]).toBeCloseTo(expected, 5);
    // Extra leading sample axis: x [2, 1, 3] against batch [1].
    const lp2 = d.logProb(tf.tensor3d([[x], [[0.1, -2, 3]]])).arraySync() as number[][];
    expect(lp2[0]![0]).toBeCloseTo(expected, 5);
    expect(lp2[1]![0]).toBeCloseTo(-Math.log(2 * 0.5) - Math.log(2 * 1) - Math.log(2 * 2.5), 5); // x = μ
    expect(d.entropy().dataSync()[0]).toBeCloseTo([0.5, 1, 2.5].reduce((acc, b) => acc + 1 + Math.log(2 * b), 0), 5);
    expect(Array.from(d.mean().dataSync())).toEqual([0.1, -2, 3].map(Math.fround));
    expect(d.batchShape).toEqual([1]);
    expect(d.eventShape).toEqual([3]);
  });

  it('rsample is the inverse CDF at the drawn u, and its gradients match finite differences', () => {
    const rng = () => new RandomStream('lap', 11);
    const u = rng().uniform([1, 3], -0.5, 0.5).dataSync();
    const x = new Laplace(loc, scale, 1).rsample(rng()).dataSync();
    [0.1, -2, 3].forEach((m, i) => expect(x[i]).toBeCloseTo(quantile(u[i]!, m, [0.5, 1, 2.5][i]!), 5));
    // f(μ, b) = Σ w·x: ∂f/∂μ = w, ∂f/∂b = w·(x − μ)/b; compare with central differences in float64.
    const w = [1, -2, 0.5];
    const f = (l: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(tf.tensor2d([w]), new Laplace(l, s, 1).rsample(rng())));
    const [gLoc, gScale] = tf.grads(f)([loc, scale]).map((g) => g.dataSync());
    const h = 1e-6;
    [0.1, -2, 3].forEach((m, i) => {
      const b = Math.fround([0.5, 1, 2.5][i]!);
      const mf = Math.fround(m);
      const dMu = (w[i]! * (quantile(u[i]!, mf + h, b) - quantile(u[i]!, mf - h, b))) / (2 * h);
      const dB = (w[i]! * (quantile(u[i]!, mf, b + h) - quantile(u[i]!, mf, b - h))) / (2 * h);
      expect(gLoc![i]).toBeCloseTo(dMu, 4);
      expect(gScale![i]).toBeCloseTo(dB, 4);
    });
  });

  it('sample moments match μ and 2b²', () => {
    const n = 20_000;
    const s = new Laplace(tf.fill([n, 1], 0.5), tf.fill([n, 1], 0.4), 1).sample(new RandomStream('ls', 2));
    const m = tf.mean(s).dataSync()[0]!;
    const v = tf.mean(tf.square(tf.sub(s, m))).dataSync()[0]!;
    const variance = 2 * 0.4 ** 2;
    expect(Math.abs(m - 0.5)).toBeLessThan(4 * Math.sqrt(variance / n));
    expect(Math.abs(v - variance) / variance).toBeLessThan(0.06);
  });

  it('under validation, a negative b is a SupportError', () => {
    expect(() => withValidation(() => new Laplace(tf.zeros([1, 2]), tf.tensor2d([[1, -0.5]]), 1))).toThrow(SupportError);
    expect(() => withValidation(() => new Laplace(tf.zeros([1, 2]), tf.tensor2d([[1, -0.5]]), 1))).toThrow(
      /Laplace: scale b must be positive and finite; got -0\.5 at index \[0, 1\] of shape \[1, 2\]/,
    );
    expect(() => new Laplace(tf.zeros([1, 2]), tf.zeros([1, 3]), 1)).toThrow(ShapeError);
  });
});

describe('laplace likelihood', () => {
  it('scale: fixed uses b, the default config is fixed with b = 1', () => {
    const lk = registry.build('likelihood', { name: 'laplace' }, ctx([2]));
    expect(lk.variables).toEqual([]);
    expect(lk.discrete).toBe(false);
    const lp = lk.distribution(tf.tensor2d([[0, 1]])).logProb(tf.tensor2d([[0.5, 0.25]])).dataSync()[0]!;
    expect(lp).toBeCloseTo(logLaplace(0.5, 0, 1) + logLaplace(0.25, 1, 1), 5);
    const fixed = new LaplaceLikelihood([1], { b: 0.2 });
    expect(fixed.distribution(tf.zeros([1, 1])).logProb(tf.tensor2d([[0.1]])).dataSync()[0]).toBeCloseTo(logLaplace(0.1, 0, 0.2), 5);
  });

  it('scale: learned owns one log b variable that receives a gradient from logProb', () => {
    const lk = registry.build('likelihood', { name: 'laplace', scale: 'learned', b: 0.5 }, ctx([3])) as LaplaceLikelihood;
    expect(lk.variables).toHaveLength(1);
    expect(lk.b).toBeCloseTo(0.5, 6);
    const x = tf.tensor2d([[0.1, -0.2, 0.3]]);
    const { grads, value } = tf.variableGrads(() => tf.sum(lk.distribution(tf.zeros([1, 3])).logProb(x)) as tf.Scalar);
    // d/dr Σ −|x|/b − log b with b = e^r: Σ |x|/b − 1.
    expect(grads[lk.variables[0]!.name]!.dataSync()[0]).toBeCloseTo(0.6 / 0.5 - 3, 5);
    expect(value.dataSync()[0]).toBeCloseTo(logLaplace(0.1, 0, 0.5) + logLaplace(-0.2, 0, 0.5) + logLaplace(0.3, 0, 0.5), 5);
    lk.dispose();
  });

  it('scale: per_pixel reads [μ | log b] channels-last, with min_b as a floor', () => {
    const lk = registry.build('likelihood', { name: 'laplace', scale: 'per_pixel', min_b: 0.1 }, ctx([1, 2]));
    expect(lk.paramShape([1, 2])).toEqual([1, 4]);
    const d = lk.distribution(tf.tensor3d([[[0.2, 0.4, Math.log(0.5), -100]]])) as Laplace;
    expect(Array.from(d.scale.dataSync()).map((v) => Number(v.toFixed(6)))).toEqual([0.6, 0.1]);
    const lp = d.logProb(tf.tensor3d([[[0, 1]]])).dataSync()[0]!;
    expect(lp).toBeCloseTo(logLaplace(0, 0.2, 0.6) + logLaplace(1, 0.4, 0.1), 4);
    expect(() => lk.distribution(tf.zeros([1, 1, 2]))).toThrow(/laplace.*\[1, 1, 2\].*\[batch, 1, 4\]/);
  });

  it('rejects bad options with the config path', () => {
    const build = (o: Record<string, unknown>) => () => registry.build('likelihood', { name: 'laplace', ...o }, ctx([2]), 'likelihood');
    expect(build({ b: -1 })).toThrow(/likelihood\.b/);
    expect(build({ scale: 'l1' })).toThrow(/likelihood\.scale/);
    expect(build({ min_b: 0.5 })).toThrow(/likelihood\.min_b: min_b applies only/);
    expect(build({ sigma: 1 })).toThrow(/unknown option 'sigma'/);
  });
});

describe('Laplace parameter broadcasting and eventRank defaults', () => {
  it('a number, a scalar or a shared scale gives the logProb of explicit tiling', () => {
    const loc = tf.tensor2d([[0, 1, -2], [0.5, 0, 1]]);
    const x = tf.tensor2d([[0.3, -1, 2], [1, 2, -0.5]]);
    const tiled = Array.from(new Laplace(loc, tf.fill([2, 3], 0.7)).logProb(x).dataSync());
    for (const d of [new Laplace(loc, 0.7), new Laplace(loc, tf.scalar(0.7)), new Laplace(loc, tf.tensor1d([0.7, 0.7, 0.7]))]) {
      expect(d.batchShape).toEqual([2]);
      Array.from(d.logProb(x).dataSync()).forEach((v, i) => expect(v).toBeCloseTo(tiled[i]!, 5));
    }
    const zeroLoc = new Laplace(0, tf.fill([2, 3], 0.7));
    expect(zeroLoc.loc.shape).toEqual([2, 3]);
    expect(() => new Laplace(tf.zeros([2, 3]), tf.ones([2, 2]))).toThrow(ShapeError);
  });

  it('Bernoulli, ContinuousBernoulli, QuantizedCategorical and DiscretizedLogisticMixture default to eventRank 1, as Normal', () => {
    expect(new Bernoulli(tf.zeros([4, 3])).batchShape).toEqual([4]);
    expect(new Bernoulli(tf.zeros([4, 3])).logProb(tf.ones([4, 3])).shape).toEqual([4]);
    expect(new ContinuousBernoulli(tf.zeros([4, 3])).eventShape).toEqual([3]);
    expect(new QuantizedCategorical(tf.zeros([4, 3, 256])).batchShape).toEqual([4]);
    expect(new DiscretizedLogisticMixture(tf.zeros([4, 3, 2]), tf.zeros([4, 3, 2]), tf.zeros([4, 3, 2])).eventShape).toEqual([3]);
  });
});
