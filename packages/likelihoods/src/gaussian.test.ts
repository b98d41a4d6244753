import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, Normal, RandomStream, RandomStreams, ShapeError, SupportError, withValidation } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { FixedGaussianLikelihood, GaussianLikelihood, components } from './index.js';

const LOG_2PI = Math.log(2 * Math.PI);
/** log N(x; μ, σ²) in float64. */
const logNormal = (x: number, m: number, s: number) => -0.5 * ((x - m) / s) ** 2 - Math.log(s) - 0.5 * LOG_2PI;

const registry = new ComponentRegistry().use({ components });
const ctx = (dataShape: number[]) => ({ dataShape, levels: null, streams: new RandomStreams(1), cwd: '.' });

describe('gaussian, scale: fixed', () => {
  it('keeps the 0.1 config {name: gaussian, sigma: 1} and its FixedGaussianLikelihood', () => {
    const lk = registry.build('likelihood', { name: 'gaussian', sigma: 1 }, ctx([2]));
    expect(lk).toBeInstanceOf(GaussianLikelihood);
    expect(lk.variables).toEqual([]);
    expect(lk.discrete).toBe(false);
    expect(lk.paramShape([2])).toEqual([2]);
    const lp = new FixedGaussianLikelihood([2], 0.5).distribution(tf.tensor2d([[0, 1]])).logProb(tf.tensor2d([[0.5, 0.75]]));
    expect(lp.dataSync()[0]).toBeCloseTo(logNormal(0.5, 0, 0.5) + logNormal(0.75, 1, 0.5), 5);
  });

  it('logProb, entropy and mean match the closed forms', () => {
    const d = new GaussianLikelihood([3], { sigma: 0.3 }).distribution(tf.tensor2d([[0.1, 0.5, 0.9]]));
    const x = [0.2, 0.5, 0.0];
    const lp = d.logProb(tf.tensor2d([x])).dataSync()[0]!;
    expect(lp).toBeCloseTo(x.reduce((acc, v, i) => acc + logNormal(v, [0.1, 0.5, 0.9][i]!, 0.3), 0), 4);
    expect(d.entropy!().dataSync()[0]).toBeCloseTo(3 * (0.5 + 0.5 * LOG_2PI + Math.log(0.3)), 5);
    expect(Array.from(d.mean!().dataSync())).toEqual([0.1, 0.5, 0.9].map(Math.fround));
  });
});

describe('gaussian, scale: learned', () => {
  it('owns one scalar log σ variable, initialised to log(sigma), and disposes it', () => {
    const lk = registry.build('likelihood', { name: 'gaussian', scale: 'learned', sigma: 0.5 }, ctx([2, 2, 1])) as GaussianLikelihood;
    expect(lk.variables).toHaveLength(1);
    expect(lk.variables[0]!.shape).toEqual([]);
    expect(lk.variables[0]!.dataSync()[0]).toBeCloseTo(Math.log(0.5), 6);
    expect(lk.sigma).toBeCloseTo(0.5, 6);
    expect(lk.paramShape([2, 2, 1])).toEqual([2, 2, 1]);
    const d = lk.distribution(tf.zeros([3, 2, 2, 1]));
    expect(d.logProb(tf.fill([3, 2, 2, 1], 0.25)).dataSync()[1]).toBeCloseTo(4 * logNormal(0.25, 0, 0.5), 4);
    lk.dispose();
    expect(lk.variables[0]!.isDisposed).toBe(true);
  });

  it('with min_sigma, σ = min_sigma + exp(r) starts at sigma and log σ stays exact when exp(r) underflows', () => {
    const lk = new GaussianLikelihood([1], { scale: 'learned', sigma: 0.5, minSigma: 0.1 });
    expect(lk.variables[0]!.dataSync()[0]).toBeCloseTo(Math.log(0.4), 6);
    expect(lk.sigma).toBeCloseTo(0.5, 6);
    lk.variables[0]!.assign(tf.scalar(-200));
    const d = lk.distribution(tf.zeros([1, 1]));
    expect(d.scale.dataSync()[0]).toBeCloseTo(0.1, 6);
    expect(d.logProb(tf.tensor2d([[0.05]])).dataSync()[0]).toBeCloseTo(logNormal(0.05, 0, 0.1), 4);
    lk.dispose();
  });

  it('rsample gradient with respect to the learned log σ matches central finite differences', () => {
    const lk = new GaussianLikelihood([4], { scale: 'learned', sigma: 0.7 });
    const r = lk.variables[0]!;
    const loc = tf.tensor2d([[0.1, -0.3, 0.5, 2]]);
    const f = () => tf.sum(tf.square(lk.distribution(loc).rsample(new RandomStream('gl', 9)))) as tf.Scalar;
    const { grads } = tf.variableGrads(f, [r]);
    const analytic = grads[r.name]!.dataSync()[0]!;
    const r0 = r.dataSync()[0]!;
    const h = 1e-2;
    r.assign(tf.scalar(r0 + h));
    const up = f().dataSync()[0]!;
    r.assign(tf.scalar(r0 - h));
    const down = f().dataSync()[0]!;
    r.assign(tf.scalar(r0));
    // Also against d/dr Σ (μ + e^r ε)² = Σ 2(μ + σε)·σε in float64 from the drawn ε.
    const eps = new RandomStream('gl', 9).normal([1, 4]).dataSync();
    const sigma = Math.exp(r0);
    const exact = [0.1, -0.3, 0.5, 2].reduce((acc, m, i) => acc + 2 * (m + sigma * eps[i]!) * sigma * eps[i]!, 0);
    expect(analytic).toBeCloseTo((up - down) / (2 * h), 2);
    expect(analytic).toBeCloseTo(exact, 4);
    lk.dispose();
  });

  it('a few Adam steps move the learned σ toward the spread of the data', () => {
    const lk = new GaussianLikelihood([50], { scale: 'learned', sigma: 1 });
    const x = tf.mul(new RandomStream('data', 4).normal([8, 50]), 0.3);
    const rms = Math.sqrt(tf.mean(tf.square(x)).dataSync()[0]!);
    const mu = tf.zeros([8, 50]);
    const optimizer = tf.train.adam(0.1);
    const before = Math.abs(lk.sigma! - rms);
    for (let step = 0; step < 40; step++) {
      const cost = optimizer.minimize(() => tf.neg(tf.mean(lk.distribution(mu).logProb(x))) as tf.Scalar, true, lk.variables);
      cost?.dispose();
    }
    const after = Math.abs(lk.sigma! - rms);
    expect(after).toBeLessThan(0.1 * before);
    optimizer.dispose();
    lk.dispose();
  });
});

describe('gaussian, scale: per_pixel', () => {
  it('doubles the channel axis and reads [μ | log σ] channels-last', () => {
    const lk = registry.build('likelihood', { name: 'gaussian', scale: 'per_pixel' }, ctx([2, 1, 3]));
    expect(lk.paramShape([28, 28, 1])).toEqual([28, 28, 2]);
    expect(lk.paramShape([784])).toEqual([1568]);
    expect(lk.paramShape([2, 1, 3])).toEqual([2, 1, 6]);
    // One example, 2×1 pixels, 3 channels: μ = channels 0..2, log σ = channels 3..5.
    const params = tf.tensor4d([[[[0.1, 0.2, 0.3, -1, 0, 0.5]], [[0.4, 0.5, 0.6, -2, -0.5, 1]]]]);
    const d = lk.distribution(params) as Normal;
    expect(d.batchShape).toEqual([1]);
    expect(d.eventShape).toEqual([2, 1, 3]);
    const mus = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    const logSigmas = [-1, 0, 0.5, -2, -0.5, 1];
    const xs = [0, 0.25, 0.5, 0.75, 1, 0.2];
    const lp = d.logProb(tf.tensor4d(xs, [1, 2, 1, 3])).dataSync()[0]!;
    expect(lp).toBeCloseTo(xs.reduce((acc, v, i) => acc + logNormal(v, mus[i]!, Math.exp(logSigmas[i]!)), 0), 4);
    expect(d.entropy().dataSync()[0]).toBeCloseTo(logSigmas.reduce((acc, s) => acc + s + 0.5 + 0.5 * LOG_2PI, 0), 5);
    expect(Array.from(d.mean().dataSync())).toEqual(mus.map(Math.fround));
    // A flat data shape splits its one axis in halves.
    const flat = new GaussianLikelihood([2], { scale: 'per_pixel' }).distribution(tf.tensor2d([[0.1, 0.2, 0, Math.log(2)]]));
    expect(flat.logProb(tf.tensor2d([[0, 0]])).dataSync()[0]).toBeCloseTo(logNormal(0, 0.1, 1) + logNormal(0, 0.2, 2), 5);
  });

  it('sample moments match μ and σ per value', () => {
    const n = 20_000;
    const d = new GaussianLikelihood([2], { scale: 'per_pixel', minSigma: 0.05 }).distribution(
      tf.tile(tf.tensor2d([[0.5, -1, Math.log(0.25), Math.log(1.95)]]), [n, 1]),
    );
    const s = d.sample(new RandomStream('gs', 1));
    const m = tf.mean(s, 0).dataSync();
    const sd = tf.sqrt(tf.mean(tf.square(tf.sub(s, m)), 0)).dataSync();
    expect(Math.abs(m[0]! - 0.5)).toBeLessThan((4 * 0.3) / Math.sqrt(n));
    expect(Math.abs(m[1]! + 1)).toBeLessThan((4 * 2) / Math.sqrt(n));
    expect(sd[0]).toBeCloseTo(0.3, 1);
    expect(sd[1]).toBeCloseTo(2, 1);
  });

  it('rejects a decoder output of the wrong shape, naming both shapes', () => {
    const lk = new GaussianLikelihood([28, 28, 1], { scale: 'per_pixel' });
    expect(() => lk.distribution(tf.zeros([2, 28, 28, 1]))).toThrow(ShapeError);
    expect(() => lk.distribution(tf.zeros([2, 28, 28, 1]))).toThrow(/gaussian.*\[2, 28, 28, 1\].*\[batch, 28, 28, 2\]/);
  });

  it('under validation, a σ that underflows to 0 is a SupportError naming the component', () => {
    const lk = new GaussianLikelihood([2], { scale: 'per_pixel' });
    const params = tf.tensor2d([[0, 0, 0, -200]]);
    expect(() => lk.distribution(params)).not.toThrow();
    expect(() => withValidation(() => lk.distribution(params))).toThrow(SupportError);
    expect(() => withValidation(() => lk.distribution(params))).toThrow(/gaussian: scale σ must be positive and finite; got 0 at index \[0, 1\] of shape \[1, 2\]/);
    // A negative σ given to the distribution directly.
    expect(() => withValidation(() => new Normal(tf.zeros([1, 2]), tf.tensor2d([[1, -1]]), 1))).toThrow(SupportError);
  });
});

describe('gaussian options', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ scale: 'diagonal' }, /likelihood\.scale/],
    [{ sigma: 0 }, /likelihood\.sigma/],
    [{ min_sigma: -1, scale: 'learned' }, /likelihood\.min_sigma/],
    [{ min_sigma: 0.1 }, /likelihood\.min_sigma: min_sigma applies only to scale: learned or per_pixel/],
    [{ scale: 'learned', sigma: 0.1, min_sigma: 0.2 }, /likelihood\.sigma: the initial σ \(0\.1\) must exceed min_sigma/],
    [{ b: 1 }, /likelihood: unknown option 'b'/],
  ];
  for (const [options, message] of bad) {
    it(`rejects ${JSON.stringify(options)} with the config path`, () => {
      expect(() => registry.build('likelihood', { name: 'gaussian', ...options }, ctx([2]), 'likelihood')).toThrow(message);
    });
  }
});
