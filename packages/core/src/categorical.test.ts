import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { OneHotCategorical, RelaxedOneHotCategorical, klOneHotCategorical } from './categorical.js';
import { ShapeError, SupportError } from './errors.js';
import { hasAnalyticKL, kl } from './kl.js';
import { RandomStream } from './random.js';
import { withValidation } from './tensor.js';

/* Expected values in plain float64 JS. */
const logSoftmax = (l: number[]) => {
  const m = Math.max(...l);
  const lse = m + Math.log(l.reduce((s, v) => s + Math.exp(v - m), 0));
  return l.map((v) => v - lse);
};
const logSumExp = (l: number[]) => {
  const m = Math.max(...l);
  return m + Math.log(l.reduce((s, v) => s + Math.exp(v - m), 0));
};
/** Concrete log-density of y (one group) with logits l and temperature τ (Maddison et al. 2017, Def. 1). */
const concreteLogDensity = (y: number[], l: number[], tau: number) => {
  const k = l.length;
  let logFact = 0;
  for (let i = 2; i < k; i++) logFact += Math.log(i);
  const lp = logSoftmax(l);
  const terms = lp.map((a, i) => a - (tau + 1) * Math.log(y[i]!));
  const norm = logSumExp(lp.map((a, i) => a - tau * Math.log(y[i]!)));
  return logFact + (k - 1) * Math.log(tau) + terms.reduce((s, v) => s + v, 0) - k * norm;
};
const chunk = (v: number[], k: number) => Array.from({ length: v.length / k }, (_, i) => v.slice(i * k, i * k + k));

// Two examples, N = 2 variables of K = 3 categories: event [6].
const logitRows = [
  [0.5, -1, 2, 0, 0.2, -0.1],
  [-0.3, 1.2, 0.1, 3, -2, 0.4],
];
const K = 3;

describe('OneHotCategorical', () => {
  const d = new OneHotCategorical(tf.tensor2d(logitRows), K);

  it('states shapes and rejects logits whose last axis is not a multiple of K', () => {
    expect(d.batchShape).toEqual([2]);
    expect(d.eventShape).toEqual([6]);
    expect(d.groups).toBe(2);
    expect(() => new OneHotCategorical(tf.zeros([2, 5]), 3)).toThrow(ShapeError);
    expect(() => new OneHotCategorical(tf.zeros([2, 5]), 3)).toThrow(/\[2, 5\].*K = 3/);
    expect(() => d.logProb(tf.zeros([2, 4]))).toThrow(ShapeError);
  });

  it('logProb of one-hot values matches the log-pmf, also with extra leading sample axes', () => {
    const x = [
      [0, 0, 1, 1, 0, 0],
      [0, 1, 0, 0, 0, 1],
    ];
    const expected = logitRows.map((l, b) => {
      const groups = chunk(l, K).map(logSoftmax);
      const xs = chunk(x[b]!, K);
      return groups.reduce((s, lp, n) => s + lp[xs[n]!.indexOf(1)]!, 0);
    });
    const lp = d.logProb(tf.tensor2d(x)).arraySync() as number[];
    expect(lp[0]).toBeCloseTo(expected[0]!, 5);
    expect(lp[1]).toBeCloseTo(expected[1]!, 5);
    const stacked = d.logProb(tf.stack([tf.tensor2d(x), tf.tensor2d(x), tf.tensor2d(x)]));
    expect(stacked.shape).toEqual([3, 2]);
    expect((stacked.arraySync() as number[][])[2]![1]).toBeCloseTo(expected[1]!, 5);
  });

  it('entropy, mean and mode match their closed forms', () => {
    const h = d.entropy().arraySync() as number[];
    const m = d.mean().arraySync() as number[][];
    const mode = d.mode().arraySync() as number[][];
    logitRows.forEach((l, b) => {
      const groups = chunk(l, K).map(logSoftmax);
      const entropy = groups.reduce((s, lp) => s - lp.reduce((t, v) => t + Math.exp(v) * v, 0), 0);
      expect(h[b]).toBeCloseTo(entropy, 5);
      groups.flat().forEach((v, i) => expect(m[b]![i]).toBeCloseTo(Math.exp(v), 5));
      const expectedMode = chunk(l, K).flatMap((g) => g.map((v) => (v === Math.max(...g) ? 1 : 0)));
      expect(mode[b]).toEqual(expectedMode);
    });
  });

  it('samples are one-hot with frequencies matching the probabilities (Gumbel-max)', () => {
    const n = 20_000;
    const logits = [0.5, -1, 2];
    const big = new OneHotCategorical(tf.tile(tf.tensor2d([logits]), [n, 1]), K);
    const s = big.sample(new RandomStream('cat', 1));
    expect(s.shape).toEqual([n, 3]);
    expect(Array.from(tf.sum(s, 1).dataSync()).every((v) => v === 1)).toBe(true);
    const freq = Array.from(tf.mean(s, 0).dataSync());
    logSoftmax(logits).forEach((lp, k) => {
      const p = Math.exp(lp);
      // 4 standard errors of a frequency over n draws
      expect(Math.abs(freq[k]! - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
    });
  });

  it('under validation, a value that is not one-hot raises a SupportError naming the component', () => {
    withValidation(() => {
      expect(() => d.logProb(tf.tensor2d([[0, 0.5, 0.5, 1, 0, 0], [0, 1, 0, 0, 0, 1]]))).toThrow(SupportError);
      expect(() => d.logProb(tf.tensor2d([[0, 0.5, 0.5, 1, 0, 0], [0, 1, 0, 0, 0, 1]]))).toThrow(/OneHotCategorical: value must be one-hot.*0\.5 at index \[0, 1\]/);
      expect(() => d.logProb(tf.tensor2d([[1, 1, 0, 1, 0, 0], [0, 1, 0, 0, 0, 1]]))).toThrow(/number of ones per group/);
      expect(() => new OneHotCategorical(tf.tensor2d([[0, NaN, 1]]), 3)).toThrow(SupportError);
      expect(d.logProb(tf.tensor2d([[1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 0, 1]])).shape).toEqual([2]);
    });
  });
});

describe('KL(OneHotCategorical ‖ OneHotCategorical)', () => {
  const q = new OneHotCategorical(tf.tensor2d([[0.5, -1, 2, 0.3, 0.1, -0.7]]), K);
  const p = new OneHotCategorical(tf.tensor2d([[0, 1, -0.5, 0, 0, 0]]), K);
  const byHand = chunk([0.5, -1, 2, 0.3, 0.1, -0.7], K).reduce((s, lq, n) => {
    const a = logSoftmax(lq);
    const b = logSoftmax(chunk([0, 1, -0.5, 0, 0, 0], K)[n]!);
    return s + a.reduce((t, v, i) => t + Math.exp(v) * (v - b[i]!), 0);
  }, 0);

  it('matches the closed form and is registered as analytic', () => {
    expect(klOneHotCategorical(q, p).dataSync()[0]).toBeCloseTo(byHand, 5);
    expect(hasAnalyticKL(q, p)).toBe(true);
    const r = kl(q, p, { rng: new RandomStream('kl', 1) });
    expect(r.analytic).toBe(true);
    expect(r.value.dataSync()[0]).toBeCloseTo(byHand, 5);
    expect(() => klOneHotCategorical(q, new OneHotCategorical(tf.zeros([1, 6]), 2))).toThrow(ShapeError);
  });

  it('agrees with a Monte Carlo estimate within 4 standard errors', () => {
    const n = 20_000;
    const qBig = new OneHotCategorical(tf.tile(q.logits, [n, 1]), K);
    const pBig = new OneHotCategorical(tf.tile(p.logits, [n, 1]), K);
    const r = kl(qBig, pBig, { rng: new RandomStream('mc', 3), forceMonteCarlo: true });
    expect(r.analytic).toBe(false);
    const v = Array.from(r.value.dataSync());
    const mean = v.reduce((s, x) => s + x, 0) / n;
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
    expect(Math.abs(mean - byHand)).toBeLessThan((4 * sd) / Math.sqrt(n));
  });
});

describe('RelaxedOneHotCategorical', () => {
  it('logProb matches the Concrete log-density at hand-picked points of the simplex', () => {
    const tau = 0.7;
    const d = new RelaxedOneHotCategorical(tf.tensor2d(logitRows), K, tau);
    const y = [
      [0.2, 0.3, 0.5, 0.9, 0.05, 0.05],
      [0.01, 0.98, 0.01, 1 / 3, 1 / 3, 1 / 3],
    ];
    const lp = d.logProb(tf.tensor2d(y)).arraySync() as number[];
    logitRows.forEach((l, b) => {
      const expected = chunk(y[b]!, K).reduce((s, g, n) => s + concreteLogDensity(g, chunk(l, K)[n]!, tau), 0);
      expect(lp[b]).toBeCloseTo(expected, 3);
    });
    // extra leading sample axes
    expect(d.logProb(tf.stack([tf.tensor2d(y), tf.tensor2d(y)])).shape).toEqual([2, 2]);
  });

  it('the Concrete density integrates to 1 over the simplex for K = 2', () => {
    // y = (t, 1 − t), t = sigmoid(v): ∫ p(t) dt = ∫ p(sigmoid v) sigmoid(v) sigmoid(−v) dv (trapezoid).
    const h = 0.005;
    const vs = Array.from({ length: Math.round(60 / h) + 1 }, (_, i) => -30 + i * h);
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const y = tf.tensor2d(vs.map((v) => [sig(v), sig(-v)]));
    for (const tau of [0.5, 1, 2]) {
      const d = new RelaxedOneHotCategorical(tf.tensor2d([[0.8, -0.4]]), 2, tau);
      const lp = Array.from(d.logProb(y).dataSync());
      const f = lp.map((l, i) => Math.exp(l + Math.log(sig(vs[i]!)) + Math.log(sig(-vs[i]!))));
      const integral = h * (f.reduce((s, v) => s + v, 0) - 0.5 * (f[0]! + f[f.length - 1]!));
      expect(integral).toBeCloseTo(1, 3);
    }
  });

  it('samples lie on the simplex and their argmax frequencies match the probabilities', () => {
    const n = 20_000;
    const logits = [0.5, -1, 2];
    const d = new RelaxedOneHotCategorical(tf.tile(tf.tensor2d([logits]), [n, 1]), K, 0.5);
    const s = d.rsample(new RandomStream('relaxed', 2));
    expect(s.shape).toEqual([n, 3]);
    const sums = Array.from(tf.sum(s, 1).dataSync());
    expect(sums.every((v) => Math.abs(v - 1) < 1e-5)).toBe(true);
    expect(Array.from(s.dataSync()).every((v) => v >= 0 && v <= 1)).toBe(true);
    const freq = Array.from(tf.mean(tf.oneHot(tf.argMax(s, 1), K), 0).dataSync());
    logSoftmax(logits).forEach((lp, k) => {
      const p = Math.exp(lp);
      expect(Math.abs(freq[k]! - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
    });
  });

  it('rsample gradients match central finite differences; sample has none', () => {
    // f(logits) = Σ w ⊙ y with fixed noise (a fresh stream of the same seed each evaluation).
    const w = tf.tensor2d([[1, -2, 0.5, 3, 0.2, -1]]);
    const f = (l: tf.Tensor) => tf.sum(tf.mul(w, new RelaxedOneHotCategorical(l, K, 0.8).rsample(new RandomStream('fd', 4))));
    const l0 = tf.tensor2d([[0.3, -0.2, 0.5, 1, -1, 0]]);
    const g = tf.grad(f)(l0).arraySync() as number[][];
    const h = 1e-2;
    for (let j = 0; j < 6; j++) {
      const bump = (dj: number) => tf.add(l0, tf.mul(tf.oneHot([j], 6), dj));
      const fd = (f(bump(h)).dataSync()[0]! - f(bump(-h)).dataSync()[0]!) / (2 * h);
      expect(g[0]![j]).toBeCloseTo(fd, 2);
    }
    const gs = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(w, new RelaxedOneHotCategorical(l, K, 0.8).sample(new RandomStream('s', 1)))))(l0);
    expect(Array.from(gs.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('straight-through: forward values are one-hot, the gradient is that of the relaxed sample', () => {
    const w = tf.tensor2d([[1, -2, 0.5, 3, 0.2, -1], [0.1, 0.4, -0.3, 2, 1, -0.5]]);
    const l0 = tf.tensor2d(logitRows);
    const draw = (l: tf.Tensor, straightThrough: boolean) =>
      new RelaxedOneHotCategorical(l, K, 0.6, { straightThrough }).rsample(new RandomStream('st', 5));
    const hard = draw(l0, true);
    const soft = draw(l0, false);
    const hardRows = hard.arraySync() as number[][];
    const softRows = soft.arraySync() as number[][];
    hardRows.forEach((row, b) =>
      chunk(row, K).forEach((g, n) => {
        const relaxed = chunk(softRows[b]!, K)[n]!;
        expect(g).toEqual(relaxed.map((v) => (v === Math.max(...relaxed) ? 1 : 0)));
      }),
    );
    const gHard = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(w, draw(l, true))))(l0).arraySync() as number[][];
    const gSoft = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(w, draw(l, false))))(l0).arraySync() as number[][];
    gHard.flat().forEach((v, i) => expect(v).toBeCloseTo(gSoft.flat()[i]!, 6));
  });

  it('straight-through logProb is the categorical log-pmf of the one-hot value', () => {
    const d = new RelaxedOneHotCategorical(tf.tensor2d(logitRows), K, 0.6, { straightThrough: true });
    const x = tf.tensor2d([[0, 0, 1, 1, 0, 0], [0, 1, 0, 0, 0, 1]]);
    const c = new OneHotCategorical(tf.tensor2d(logitRows), K);
    const a = Array.from(d.logProb(x).dataSync());
    const b = Array.from(c.logProb(x).dataSync());
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 6));
    withValidation(() => expect(() => d.logProb(tf.fill([2, 6], 1 / 3))).toThrow(SupportError));
  });

  it('KL against a OneHotCategorical is the KL of the underlying categoricals, registered as analytic', () => {
    const q = new RelaxedOneHotCategorical(tf.tensor2d([logitRows[1]!]), K, 0.5);
    const p = new OneHotCategorical(tf.zeros([1, 6]), K);
    const byHand = chunk(logitRows[1]!, K).reduce((s, l) => s + logSoftmax(l).reduce((t, v) => t + Math.exp(v) * (v - Math.log(1 / K)), 0), 0);
    const r = kl(q, p, { rng: new RandomStream('kl', 1) });
    expect(r.analytic).toBe(true);
    expect(r.value.dataSync()[0]).toBeCloseTo(byHand, 5);
    // With straight-through samples (categorical draws, scored by the log-pmf) the Monte Carlo
    // estimate has the same expectation.
    const n = 20_000;
    const qSt = new RelaxedOneHotCategorical(tf.tile(q.logits, [n, 1]), K, 0.5, { straightThrough: true });
    const pBig = new OneHotCategorical(tf.zeros([n, 6]), K);
    const v = Array.from(kl(qSt, pBig, { rng: new RandomStream('mc', 2), forceMonteCarlo: true }).value.dataSync());
    const mean = v.reduce((s, x) => s + x, 0) / n;
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
    expect(Math.abs(mean - byHand)).toBeLessThan((4 * sd) / Math.sqrt(n));
  });

  it('rejects a non-positive temperature and, under validation, values off the simplex', () => {
    expect(() => new RelaxedOneHotCategorical(tf.zeros([1, 3]), 3, 0)).toThrow(SupportError);
    expect(() => new RelaxedOneHotCategorical(tf.zeros([1, 3]), 3, -1)).toThrow(/temperature must be positive/);
    const d = new RelaxedOneHotCategorical(tf.zeros([1, 3]), 3, 1);
    withValidation(() => {
      expect(() => d.logProb(tf.tensor2d([[0.5, 0.5, 0.5]]))).toThrow(/sum of each group/);
      expect(() => d.logProb(tf.tensor2d([[1.5, -0.5, 0]]))).toThrow(SupportError);
    });
  });

  it('a training-like step leaks no tensors', () => {
    const logits = tf.variable(tf.tensor2d(logitRows));
    const prior = new OneHotCategorical(tf.zeros([2, 6]), K);
    const rng = new RandomStream('leak', 1);
    const step = () => {
      const { value, grads } = tf.variableGrads(() =>
        tf.tidy(() => {
          const q = new RelaxedOneHotCategorical(logits, K, 0.7, { straightThrough: true });
          const z = q.rsample(rng);
          return tf.add(tf.mean(tf.sum(tf.square(z), 1)), tf.mean(kl(q, prior, { rng }).value)) as tf.Scalar;
        }),
      );
      value.dispose();
      tf.dispose(grads);
    };
    step();
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
    logits.dispose();
  });
});
