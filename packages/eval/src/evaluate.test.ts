import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, type Dataset, RandomStream, RandomStreams, VaeLabError } from '@vaelab/core';
import { VaeModel } from '@vaelab/objectives';
import { describe, expect, it } from 'vitest';
import { evaluateModel } from './evaluate.js';
import { B, LinearEncoder, W, datasetOf, exactLogLikelihood, exactPosterior, linearGaussianModel, sampleData } from './test-helpers.js';

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

describe('evaluateModel on the linear-Gaussian model', () => {
  const rows = sampleData(30, 3);

  it('gives the exact mean log p(x), the KL per dimension summing to the KL, and the MSE at the posterior mean', () => {
    const model = linearGaussianModel();
    const before = tf.memory().numTensors;
    const { report, grid } = evaluateModel(model, {
      dataset: datasetOf(rows),
      split: 'test',
      iwSamples: 5,
      batchSize: 8,
      limit: 20,
      rng: new RandomStream('eval', 1),
    });
    expect(tf.memory().numTensors).toBe(before);
    const used = rows.slice(0, 20);
    expect(report).toMatchObject({ split: 'test', examples: 20, iw_samples: 5, kl_analytic: true, bits_per_dim: null, units: 'nats per example' });
    expect(report.log_likelihood).toBeCloseTo(mean(used.map(exactLogLikelihood)), 4);
    expect(report.kl_per_dim).toHaveLength(2);
    expect(report.kl_per_dim![0]! + report.kl_per_dim![1]!).toBeCloseTo(report.kl!, 4);
    expect(report.elbo).toBeCloseTo(-(report.reconstruction + report.kl!), 6);
    // x̂ = W μ(x) + b with μ(x) = A (x − b): the float64 MSE
    const { A } = exactPosterior();
    const mse = mean(
      used.map((x) => {
        const mu = A.map((row) => row.reduce((s, a, i) => s + a * (x[i]! - B[i]!), 0));
        return mean(W.map((row, i) => (x[i]! - (row[0]! * mu[0]! + row[1]! * mu[1]! + B[i]!)) ** 2));
      }),
    );
    expect(report.reconstruction_mse).toBeCloseTo(mse, 5);
    expect(report.reconstruction_at).toBe('posterior_mean');
    expect(grid).toBeNull(); // [3] is no image
  });

  it('finds the known dead dimensions of an encoder as inactive', () => {
    const alive = evaluateModel(linearGaussianModel(), { dataset: datasetOf(rows), split: 'test', iwSamples: 1, batchSize: 7, rng: new RandomStream('eval', 1) });
    expect(alive.report.active_units).toBe(2);
    const dead = evaluateModel(linearGaussianModel(new LinearEncoder({ dead: [1] })), {
      dataset: datasetOf(rows),
      split: 'test',
      iwSamples: 1,
      batchSize: 7,
      rng: new RandomStream('eval', 1),
    });
    expect(dead.report.active_units).toBe(1);
    expect(dead.report.latent_variances![1]).toBe(0);
    expect(dead.report.latent_variances![0]).toBeGreaterThan(0.01);
    // A dead unit at q = N(0.7, 1/9) carries KL 0.5 (1/9 + 0.49 − 1 + ln 9) ≈ 0.8 nats for nothing.
    expect(dead.report.kl_per_dim![1]).toBeCloseTo(0.5 * (1 / 9 + 0.49 - 1 + Math.log(9)), 4);
  });

  it('passes batches through the dataset transform with training = false, on the split asked for', () => {
    const calls: boolean[] = [];
    const ds = datasetOf(rows, (x, _rng, training) => {
      calls.push(training);
      return tf.mul(x, 1);
    });
    const train: Dataset = { ...ds, train: { size: 4, x: Float32Array.from(rows.slice(0, 4).flat()) } };
    const { report } = evaluateModel(linearGaussianModel(), { dataset: train, split: 'train', iwSamples: 2, batchSize: 3, rng: new RandomStream('eval', 2) });
    expect(report.examples).toBe(4);
    expect(calls).toEqual([false, false]);
    expect(report.log_likelihood).toBeCloseTo(mean(rows.slice(0, 4).map(exactLogLikelihood)), 4);
  });

  it('rejects bad options', () => {
    const base = { dataset: datasetOf(rows), split: 'test' as const, iwSamples: 2, batchSize: 4, rng: new RandomStream('eval', 1) };
    const model = linearGaussianModel();
    expect(() => evaluateModel(model, { ...base, iwSamples: 0 })).toThrowError(/iwSamples \(K\) must be an integer >= 1, got 0/);
    expect(() => evaluateModel(model, { ...base, split: 'valid' as 'test' })).toThrowError(/split must be 'train' or 'test', got 'valid'/);
    expect(() => evaluateModel(model, { ...base, batchSize: 0 })).toThrowError(VaeLabError);
    expect(() => evaluateModel(model, { ...base, limit: 0 })).toThrowError(/limit/);
  });
});

describe('evaluateModel on an image model built through the registry', () => {
  it('reports bits/dim for a discrete likelihood and returns the reconstruction grid', async () => {
    const registry = new ComponentRegistry();
    for (const pkg of await Promise.all([import('@vaelab/networks'), import('@vaelab/posteriors'), import('@vaelab/likelihoods'), import('@vaelab/priors')])) {
      registry.use(pkg);
    }
    const streams = new RandomStreams(3);
    const base = { streams, cwd: process.cwd() };
    const dataShape = [4, 4, 1];
    const latentDim = 3;
    const posterior = registry.build('posterior', { name: 'diagonal_gaussian' }, { ...base, latentDim });
    const likelihood = registry.build('likelihood', { name: 'bernoulli' }, { ...base, dataShape, levels: 2 });
    const model = new VaeModel({
      encoder: registry.build('encoder', { name: 'mlp', hidden: [8] }, { ...base, inputShape: dataShape, outputShape: posterior.paramShape({ dim: latentDim }) }),
      decoder: registry.build('decoder', { name: 'mlp', hidden: [8] }, { ...base, latentDim, outputShape: likelihood.paramShape(dataShape) }),
      posterior,
      likelihood,
      prior: registry.build('prior', { name: 'standard_normal' }, { ...base, latentDim, dataShape }),
      latentDim,
      dataShape,
    });
    const n = 11;
    const x = Float32Array.from({ length: n * 16 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    const dataset: Dataset = { name: 'tiny', shape: dataShape, levels: 2, train: { size: n, x }, test: { size: n, x } };
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const { report, grid } = evaluateModel(model, {
      dataset,
      split: 'test',
      iwSamples: 6,
      batchSize: 4,
      rng: new RandomStream('eval', 1),
      gridExamples: 6,
      gridColumns: 4,
      onBatch: (done) => progress.push(done),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(progress).toEqual([4, 8, 11]);
    expect(report.bits_per_dim).toBeCloseTo(-report.log_likelihood! / (16 * Math.LN2), 10);
    expect(report.log_likelihood).toBeLessThan(0);
    // log p(x) ≥ ELBO in expectation; for an untrained model the IS estimate with K = 6 is above it
    expect(report.log_likelihood).toBeGreaterThan(report.elbo!);
    expect(report.kl_per_dim).toHaveLength(3);
    expect(report.active_units).toBeGreaterThanOrEqual(0);
    // 6 examples in rows of 4: 2 rows of originals, 2 of reconstructions, 4x4 tiles, padding 2
    expect(grid).not.toBeNull();
    expect([grid!.width, grid!.height, grid!.channels]).toEqual([4 * 4 + 5 * 2, 4 * 4 + 5 * 2, 1]);
    // the first original tile holds example 0's pixels
    expect(grid!.data[2 * grid!.width + 2]).toBe(x[0]! * 255);
    model.dispose();
  });
});
