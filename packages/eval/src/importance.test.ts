import * as tf from '@tensorflow/tfjs-core';
import { RandomStream, VaeLabError } from '@vaelab/core';
import { DiagonalGaussianPosterior } from '@vaelab/posteriors';
import { describe, expect, it } from 'vitest';
import { defaultChunkSize, importanceSample, logLikelihood } from './importance.js';
import {
  LinearEncoder,
  OwnSamplesOnlyPosterior,
  exactLogLikelihood,
  exactPosterior,
  linearGaussianModel,
  sampleData,
} from './test-helpers.js';

const points = [
  [0, 0, 0],
  [0.2, -0.1, 0.3],
  [1.5, -0.7, 0.9],
  [-2, 1, -0.4],
];
const exact = points.map(exactLogLikelihood);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** KL(N(μ, diag v) ‖ N(0, I)) in float64. */
function klToStandard(mu: number[], variance: number[]): number {
  return mu.reduce((s, m, j) => s + 0.5 * (variance[j]! + m * m - 1 - Math.log(variance[j]!)), 0);
}

describe('importance-sampled log-likelihood on a linear-Gaussian model (closed-form log p(x))', () => {
  it('with the exact posterior as q, equals log p(x) for any K and any chunking', () => {
    const model = linearGaussianModel();
    const x = tf.tensor2d(points);
    for (const [K, chunkSize] of [
      [1, undefined],
      [7, 3],
      [50, 50],
      [64, undefined],
    ] as const) {
      const r = importanceSample(model, x, { samples: K, rng: new RandomStream('eval', K), ...(chunkSize ? { chunkSize } : {}) });
      const got = Array.from(r.logLikelihood.dataSync());
      got.forEach((v, i) => expect(v).toBeCloseTo(exact[i]!, 4));
      tf.dispose([r.logLikelihood, r.reconstruction, r.kl]);
    }
    x.dispose();
  });

  it('reports the analytic KL, and reconstruction + KL = −ELBO ≈ −log p(x) (exact q)', () => {
    const model = linearGaussianModel();
    const x = tf.tensor2d(points);
    const r = importanceSample(model, x, { samples: 4000, rng: new RandomStream('eval', 3) });
    expect(r.klAnalytic).toBe(true);
    const { variance, A } = exactPosterior();
    const klExpected = points.map((p) => klToStandard(A.map((row) => row.reduce((s, a, i) => s + a * (p[i]! - [0.2, -0.1, 0.3][i]!), 0)), variance));
    Array.from(r.kl.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(klExpected[i]!, 4));
    const rec = Array.from(r.reconstruction.dataSync());
    const kl = Array.from(r.kl.dataSync());
    // E_q[log p(x|z)] has a Monte Carlo error; with 4000 samples it is well within 0.05 nats here
    rec.forEach((v, i) => expect(Math.abs(-(v + kl[i]!) - exact[i]!)).toBeLessThan(0.05));
    tf.dispose([x, r.logLikelihood, r.reconstruction, r.kl]);
  });

  it('with a worse q, is below log p(x) and approaches it as K grows', () => {
    const model = linearGaussianModel(new LinearEncoder({ meanScale: 0.6, stdScale: 1.8 }));
    const data = sampleData(48, 7);
    const target = mean(data.map(exactLogLikelihood));
    const x = tf.tensor2d(data);
    const gap = (K: number) => {
      const ll = logLikelihood(model, x, { samples: K, rng: new RandomStream('eval', 100 + K) });
      const v = mean(Array.from(ll.dataSync()));
      ll.dispose();
      return target - v;
    };
    const gaps = [1, 10, 100, 1000].map(gap);
    // K = 1 is the single-sample ELBO, nats below log p(x) for this q; the bound tightens with K
    // (Burda et al. 2016, Theorem 1) until only the estimate's Monte Carlo noise is left (the mean
    // over these 48 examples of a K = 1000 estimate varies by about ±0.02 nats between seeds).
    expect(gaps[0]!).toBeGreaterThan(1);
    expect(gaps[1]!).toBeGreaterThan(0);
    expect(gaps[1]!).toBeLessThan(gaps[0]! / 3);
    expect(Math.abs(gaps[2]!)).toBeLessThan(gaps[1]!);
    expect(Math.abs(gaps[3]!)).toBeLessThan(0.05);
    x.dispose();
  });

  it('calls logProb only at the samples q returned (flows), and estimates the KL by Monte Carlo when not analytic', () => {
    const model = linearGaussianModel(new LinearEncoder(), new OwnSamplesOnlyPosterior(new DiagonalGaussianPosterior('log_std')));
    const x = tf.tensor2d(points);
    const r = importanceSample(model, x, { samples: 9, chunkSize: 4, rng: new RandomStream('eval', 1) });
    expect(r.klAnalytic).toBe(false);
    Array.from(r.logLikelihood.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(exact[i]!, 4));
    // exact q: log w_k = log p(x) for every k, so the Monte Carlo KL and reconstruction add up to −log p(x) exactly
    const rec = r.reconstruction.dataSync();
    Array.from(r.kl.dataSync()).forEach((v, i) => expect(-(v + rec[i]!)).toBeCloseTo(exact[i]!, 4));
    tf.dispose([x, r.logLikelihood, r.reconstruction, r.kl]);
  });

  it('is deterministic for a stream position, leaves no tensors behind, and rejects K < 1', () => {
    const model = linearGaussianModel(new LinearEncoder({ stdScale: 2 }));
    const x = tf.tensor2d(points);
    const before = tf.memory().numTensors;
    const a = logLikelihood(model, x, { samples: 20, chunkSize: 6, rng: new RandomStream('eval', 5) });
    const b = logLikelihood(model, x, { samples: 20, chunkSize: 20, rng: new RandomStream('eval', 5) });
    // The same draws, decoded in different chunks.
    Array.from(a.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(b.dataSync()[i]!, 4));
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => logLikelihood(model, x, { samples: 0, rng: new RandomStream('eval', 5) })).toThrowError(VaeLabError);
    expect(() => logLikelihood(model, x, { samples: 2.5, rng: new RandomStream('eval', 5) })).toThrowError(/samples \(K\) must be a positive integer/);
    expect(() => logLikelihood(model, x, { samples: 2, chunkSize: 0, rng: new RandomStream('eval', 5) })).toThrowError(/chunkSize/);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('sizes chunks from the batch: at least 1, at most K', () => {
    expect(defaultChunkSize(100, 5000)).toBe(40);
    expect(defaultChunkSize(100, 10)).toBe(10);
    expect(defaultChunkSize(10000, 5000)).toBe(1);
  });
});
