import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, ComponentRegistry, RandomStream, RandomStreams, ShapeError, SupportError, withValidation } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { DiscretizedLogisticLikelihood, DiscretizedLogisticMixture, MIN_LOG_SCALE, components } from './index.js';

const registry = new ComponentRegistry().use({ components });
const ctx = (dataShape: number[], levels: number | null = 256) => ({ dataShape, levels, streams: new RandomStreams(1), cwd: '.' });

/* Float64 reference: bins of width 1/255 around k/255, the end bins open to ±∞ (Salimans et al. 2017, eq. 2). */

const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));
const MIN = -7 - Math.LN2;

interface Component {
  logit: number;
  mean: number;
  logScale: number;
}

/** P(k) of one logistic component, by the difference of CDFs. */
function binMass(k: number, c: Component): number {
  const s = Math.exp(Math.max(Math.fround(c.logScale), MIN));
  const m = Math.fround(c.mean);
  const upper = k === 255 ? 1 : sigmoid((k / 255 + 0.5 / 255 - m) / s);
  const lower = k === 0 ? 0 : sigmoid((k / 255 - 0.5 / 255 - m) / s);
  return upper - lower;
}

function weights(cs: Component[]): number[] {
  const e = cs.map((c) => Math.exp(Math.fround(c.logit)));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

const mixtureMass = (k: number, cs: Component[]) => weights(cs).reduce((acc, w, m) => acc + w * binMass(k, cs[m]!), 0);

/** Decoder output for one value: [logits | means | log-scales]. */
const paramsOf = (cs: Component[]) => [...cs.map((c) => c.logit), ...cs.map((c) => c.mean), ...cs.map((c) => c.logScale)];

const SETTINGS: Component[][] = [
  [
    { logit: 0.3, mean: 0.2, logScale: Math.log(0.05) },
    { logit: -0.5, mean: 0.7, logScale: Math.log(0.1) },
    { logit: 1, mean: 0.45, logScale: Math.log(0.01) },
  ],
  [
    { logit: 0, mean: -0.3, logScale: Math.log(0.2) },
    { logit: 2, mean: 1.4, logScale: -3 },
    { logit: -1, mean: 0.5, logScale: -20 }, // clamped to MIN_LOG_SCALE
  ],
  [
    { logit: 5, mean: 0.999, logScale: 2 },
    { logit: -3, mean: 0.0, logScale: MIN },
    { logit: 0, mean: 0.3, logScale: -6 },
  ],
];

/** Mixture with batch [SETTINGS.length], event [1], M = 3. */
function mixture(): DiscretizedLogisticMixture {
  const lk = new DiscretizedLogisticLikelihood([1], 3);
  return lk.distribution(tf.tensor3d(SETTINGS.map((cs) => [paramsOf(cs)])));
}

describe('DiscretizedLogisticMixture', () => {
  it('probabilities over all 256 values sum to 1 (float64 sum of exp(logProb))', () => {
    const lp = mixture().logProb(tf.reshape(tf.div(tf.range(0, 256), 255), [256, 1, 1])).arraySync() as number[][];
    SETTINGS.forEach((_, b) => {
      let total = 0;
      for (let k = 0; k < 256; k++) total += Math.exp(lp[k]![b]!);
      expect(Math.abs(total - 1)).toBeLessThan(1e-5);
    });
  });

  it('logProb matches the mixture of CDF differences at hand-picked levels, including both end bins', () => {
    // Tolerance: at the smallest scale (s ≈ 4.6e-4) float32 rounding of k/255 − μ ± 1/510 alone moves
    // the standardized bin edges by ~1e-4, i.e. log-masses by ~1e-5.
    const d = mixture();
    for (const k of [0, 1, 51, 115, 128, 200, 254, 255]) {
      const lp = d.logProb(tf.fill([SETTINGS.length, 1], k / 255)).dataSync();
      SETTINGS.forEach((cs, b) => {
        const expected = Math.log(mixtureMass(k, cs));
        expect(Math.abs(lp[b]! - expected), `k = ${k}, setting ${b}: ${lp[b]} vs ${expected}`).toBeLessThan(2e-5 * Math.max(1, Math.abs(expected)));
      });
    }
  });

  it('reads the decoder output as [M logits | M means | M log-scales] and sums over the event', () => {
    const lk = new DiscretizedLogisticLikelihood([2], 2);
    const a: Component[] = [{ logit: 0.5, mean: 0.3, logScale: -3 }, { logit: 0, mean: 0.8, logScale: -4 }];
    const b: Component[] = [{ logit: -1, mean: 0.1, logScale: -2 }, { logit: 1, mean: 0.6, logScale: -5 }];
    const d = lk.distribution(tf.tensor3d([[paramsOf(a), paramsOf(b)]]));
    expect(d.batchShape).toEqual([1]);
    expect(d.eventShape).toEqual([2]);
    const lp = d.logProb(tf.tensor2d([[80 / 255, 150 / 255]])).dataSync()[0]!;
    expect(lp).toBeCloseTo(Math.log(mixtureMass(80, a)) + Math.log(mixtureMass(150, b)), 4);
  });

  it('stays exact in the far tail, where the CDF difference underflows, by working in log space', () => {
    // μ = 0.9 with the smallest scale: the bin at 128/255 holds a mass of about e^−870.
    const c: Component = { logit: 0, mean: 0.9, logScale: MIN };
    const d = new DiscretizedLogisticLikelihood([1], 1).distribution(tf.tensor3d([[paramsOf([c])]]));
    const lp = d.logProb(tf.tensor2d([[128 / 255]])).dataSync()[0]!;
    const s = Math.exp(MIN);
    const hi = (128.5 / 255 - Math.fround(0.9)) / s;
    const lo = (127.5 / 255 - Math.fround(0.9)) / s;
    // log(σ(hi) − σ(lo)) = hi + log(1 − e^(lo − hi)) − log(1 + e^hi) − log(1 + e^lo), float64.
    const expected = hi + Math.log(-Math.expm1(lo - hi)) - Math.log1p(Math.exp(hi)) - Math.log1p(Math.exp(lo));
    expect(expected).toBeLessThan(-800);
    expect(Math.abs(lp - expected) / Math.abs(expected)).toBeLessThan(1e-5);
  });

  it('falls back to the density at the bin centre when the bin is negligible against the scale', () => {
    // log s = 70: the bin width in units of s underflows; mass = pdf(centre)/255 = 1/(4s·255).
    const c: Component = { logit: 0, mean: 0.5, logScale: 70 };
    const d = new DiscretizedLogisticLikelihood([1], 1).distribution(tf.tensor3d([[paramsOf([c])]]));
    const lp = d.logProb(tf.tensor3d([[[100 / 255]], [[0]], [[1]]])).dataSync();
    expect(lp[0]).toBeCloseTo(-70 - Math.log(4) - Math.log(255), 4);
    expect(lp[1]).toBeCloseTo(-Math.LN2, 5); // the lowest bin holds half the mass
    expect(lp[2]).toBeCloseTo(-Math.LN2, 5);
  });

  it('clamps log-scales at −7 − log 2 (the paper’s −7 on [−1, 1])', () => {
    expect(MIN_LOG_SCALE).toBeCloseTo(-7 - Math.LN2, 12);
    const lk = new DiscretizedLogisticLikelihood([1], 1);
    const at = (logScale: number) => lk.distribution(tf.tensor3d([[[0, 0.5, logScale]]])).logProb(tf.tensor2d([[128 / 255]])).dataSync()[0];
    expect(at(-30)).toBe(at(MIN_LOG_SCALE));
    expect(at(-7)).not.toBe(at(MIN_LOG_SCALE));
  });

  it('has finite gradients everywhere, and none below the clamp', () => {
    const lk = new DiscretizedLogisticLikelihood([4], 2);
    const params = tf.tensor3d([
      [
        [0, 1, 0.5, 0.1, -30, -2],
        [3, -3, 1e3, -1e3, 100, MIN],
        [0, 0, 0.2, 0.9, MIN, 0],
        [1, 1, 0.5, 0.5, -8, 70],
      ],
    ]);
    const x = tf.tensor2d([[0, 1, 128 / 255, 1 / 255]]);
    const g = tf.grad((p: tf.Tensor) => tf.sum(lk.distribution(p).logProb(x)))(params).arraySync() as number[][][];
    for (const v of g.flat(2)) expect(Number.isFinite(v)).toBe(true);
    expect(Math.abs(g[0]![0]![4]!)).toBe(0); // log-scale −30, below the clamp
  });

  it('mean is the mixture mean of the clipped logistic means; samples have the distribution’s mean', () => {
    const m = mixture().mean().dataSync();
    SETTINGS.forEach((cs, b) => {
      const w = weights(cs);
      expect(m[b]).toBeCloseTo(cs.reduce((acc, c, j) => acc + w[j]! * Math.min(1, Math.max(0, Math.fround(c.mean))), 0), 5);
    });
    // Samples: levels only, with the discretized distribution's exact mean Σ_k (k/255) P(k).
    const cs = SETTINGS[0]!;
    const n = 4000;
    const d = new DiscretizedLogisticLikelihood([1], 3).distribution(tf.tile(tf.tensor3d([[paramsOf(cs)]]), [n, 1, 1]));
    const s = d.sample(new RandomStream('dl', 5)).dataSync();
    let sum = 0;
    let sq = 0;
    let offLevel = 0;
    for (const v of s) {
      sum += v;
      sq += v * v;
      if (Math.abs(v * 255 - Math.round(v * 255)) > 1e-3) offLevel++;
    }
    expect(offLevel).toBe(0);
    let exact = 0;
    let second = 0;
    for (let k = 0; k < 256; k++) {
      exact += (k / 255) * mixtureMass(k, cs);
      second += (k / 255) ** 2 * mixtureMass(k, cs);
    }
    const sd = Math.sqrt(second - exact * exact);
    expect(Math.abs(sum / n - exact)).toBeLessThan((4 * sd) / Math.sqrt(n));
    expect(Math.abs(Math.sqrt(sq / n - (sum / n) ** 2) - sd) / sd).toBeLessThan(0.08);
  });

  it('under validation, a value that is not a level is a SupportError', () => {
    const d = mixture();
    expect(() => withValidation(() => d.logProb(tf.tensor2d([[0], [0.3], [1]])))).toThrow(SupportError);
    expect(() => withValidation(() => d.logProb(tf.tensor2d([[0], [0.3], [1]])))).toThrow(/got 0\.3\d* at index \[1, 0\] of shape \[3, 1\]/);
    expect(() => withValidation(() => d.logProb(tf.tensor2d([[0], [77 / 255], [1]])))).not.toThrow();
  });
});

describe('discretized_logistic likelihood', () => {
  it('is built from config for 8-bit data, with 3·M values per pixel, and is discrete', () => {
    const lk = registry.build('likelihood', { name: 'discretized_logistic' }, ctx([28, 28, 1]));
    expect(lk.discrete).toBe(true);
    expect(lk.paramShape([28, 28, 1])).toEqual([28, 28, 1, 15]);
    const two = registry.build('likelihood', { name: 'discretized_logistic', mixtures: 2 }, ctx([3]));
    expect(two.paramShape([3])).toEqual([3, 6]);
    expect(() => two.distribution(tf.zeros([2, 3, 5]))).toThrow(ShapeError);
    expect(() => two.distribution(tf.zeros([2, 3, 5]))).toThrow(/discretized_logistic.*\[2, 3, 5\].*\[batch, 3, 6\]/);
  });

  it('rejects bad options and non-8-bit data', () => {
    const build = (o: Record<string, unknown>, levels: number | null = 256) => () =>
      registry.build('likelihood', { name: 'discretized_logistic', ...o }, ctx([3], levels), 'likelihood');
    expect(build({ mixtures: 0 })).toThrow(/likelihood\.mixtures/);
    expect(build({ mixtures: 2.5 })).toThrow(/likelihood\.mixtures/);
    expect(build({}, null)).toThrow(ComponentConfigError);
    expect(build({}, null)).toThrow(/'discretized_logistic' needs 256-level data/);
  });

  it('checkData accepts k/255 only', () => {
    const lk = new DiscretizedLogisticLikelihood([3]);
    const info = { split: 'train', dataset: 'sprites', levels: 256 };
    expect(() => lk.checkData(Float32Array.from([0, 1, 2, 3, 254, 255], (k) => k / 255), info)).not.toThrow();
    expect(() => lk.checkData(Float32Array.from([0, 1, 2, 3, 0.5, 255], (k) => k / 255), info)).toThrow(
      /discretized_logistic: dataset 'sprites', split 'train': value .* at index 4 \(example 1, position \[1\] of \[3\]\)/,
    );
  });
});
