import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, RandomStreams } from '@vaelab/core';
import { BernoulliLikelihood } from '@vaelab/likelihoods';
import { Mlp } from '@vaelab/networks';
import { DiagonalGaussianPosterior } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';
import { describe, expect, it } from 'vitest';
import { Elbo, VaeModel, components } from './index.js';
import { X, leakedTensors, noiseStream, objectiveContext, scalar, stepContext, tinyModel, values } from './test-model.js';

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

describe('elbo', () => {
  const x = tf.tensor2d([[0, 1, 0.5, 1, 0, 0.2], [1, 1, 0, 0, 0.9, 0.1]]);

  it('equals reconstruction + analytic KL computed by hand from the forward record', () => {
    const model = tinyModel();
    const noise = new RandomStreams(1).stream('noise');
    const fwd = model.forward(x, noise);
    const objective = new Elbo({ samples: 1, klSamples: 1 });
    const { loss, terms } = objective.loss(fwd, { step: 0, epoch: 0, training: true, noise });
    // By hand: −log p(x|z) per example from logits; KL = −½ Σ (1 + log σ² − μ² − σ²).
    const logits = fwd.pParams.arraySync() as number[][];
    const xs = x.arraySync();
    const nll = logits.map((row, b) => -row.reduce((s, l, i) => s + xs[b]![i]! * l - Math.log1p(Math.exp(l)), 0));
    const q = fwd.qParams.arraySync() as number[][];
    const klByHand = q.map(([m1, m2, lv1, lv2]) => -0.5 * (2 + lv1! + lv2! - m1! ** 2 - m2! ** 2 - Math.exp(lv1!) - Math.exp(lv2!)));
    expect(terms.reconstruction!.dataSync()[0]).toBeCloseTo(mean(nll), 4);
    expect(terms.kl!.dataSync()[0]).toBeCloseTo(mean(klByHand), 4);
    expect(loss.dataSync()[0]).toBeCloseTo(mean(nll) + mean(klByHand), 4);
    expect(objective.describe()).toEqual(['kl: analytic']);
  });

  it('reports nelbo = reconstruction + kl = loss, bits_per_dim = nelbo / (D ln 2), and kl_per_dim summing to kl', () => {
    const model = tinyModel();
    const noise = noiseStream(4);
    const fwd = model.forward(x, noise);
    const { loss, terms, vectors } = new Elbo({ samples: 1, klSamples: 1 }, { discrete: true }).loss(fwd, stepContext(noise));
    expect(Object.keys(terms).sort()).toEqual(['bits_per_dim', 'kl', 'nelbo', 'reconstruction']);
    const nelbo = scalar(terms.nelbo);
    expect(nelbo).toBeCloseTo(scalar(terms.reconstruction) + scalar(terms.kl), 5);
    expect(scalar(loss)).toBe(nelbo);
    expect(scalar(terms.bits_per_dim)).toBeCloseTo(nelbo / (6 * Math.LN2), 5);
    // Per dimension by hand: −½ (1 + log σ_j² − μ_j² − σ_j²), averaged over the batch.
    const q = fwd.qParams.arraySync() as number[][];
    const perDim = [0, 1].map((j) => mean(q.map((r) => -0.5 * (1 + r[2 + j]! - r[j]! ** 2 - Math.exp(r[2 + j]!)))));
    const got = values(vectors?.kl_per_dim);
    expect(got).toHaveLength(2);
    got.forEach((v, j) => expect(v).toBeCloseTo(perDim[j]!, 5));
    expect(got[0]! + got[1]!).toBeCloseTo(scalar(terms.kl), 5);
  });

  it('reports no bits_per_dim for continuous data', () => {
    const noise = noiseStream(4);
    const { terms } = new Elbo({ samples: 1, klSamples: 1 }, { discrete: false }).loss(tinyModel().forward(x, noise), stepContext(noise));
    expect(terms.bits_per_dim).toBeUndefined();
  });

  it('with more samples averages the reconstruction over them (and equals the 1-sample value in expectation)', () => {
    const model = tinyModel();
    const objective = new Elbo({ samples: 2000, klSamples: 1 });
    const noise = new RandomStreams(2).stream('noise');
    const many = objective.loss(model.forward(x, noise), { step: 0, epoch: 0, training: false, noise }).terms.reconstruction!.dataSync()[0]!;
    const single = new Elbo({ samples: 1, klSamples: 1 });
    let sum = 0;
    for (let i = 0; i < 400; i++) {
      sum += tf.tidy(() => single.loss(model.forward(x, noise), { step: 0, epoch: 0, training: false, noise }).terms.reconstruction!.dataSync()[0]!);
    }
    expect(Math.abs(many - sum / 400)).toBeLessThan(0.05);
  });

  it('leaves no tensors behind around a gradient step, with and without corruption', () => {
    const model = tinyModel();
    expect(leakedTensors(model, new Elbo({ samples: 2, klSamples: 1 }, { discrete: true }), X())).toBe(0);
    expect(leakedTensors(model, new Elbo({ samples: 1, klSamples: 1, corruption: { type: 'masking', level: 0.5 } }), X())).toBe(0);
  });

  it('is built from config; bad sample counts and corruption options are config errors with the path', () => {
    const registry = new ComponentRegistry().use({ components });
    const ctx = { streams: new RandomStreams(1), cwd: '.', dataShape: [4], latentDim: 2, discrete: true };
    expect(registry.build('objective', { name: 'elbo' }, ctx).name).toBe('elbo');
    expect(() => registry.build('objective', { name: 'elbo', samples: 0 }, ctx, 'objective')).toThrow(/objective\.samples/);
    expect(() => registry.build('objective', { name: 'elbo', samples: 1.5 }, ctx, 'objective')).toThrow(/objective\.samples/);
    expect(() => registry.build('objective', { name: 'elbo', corruption: { type: 'masking', level: 1.5 } }, ctx, 'objective')).toThrow(
      /objective\.corruption\.level: must be a fraction in \[0, 1\] for masking, got 1\.5/,
    );
    expect(() => registry.build('objective', { name: 'elbo', corruption: { type: 'blur', level: 1 } }, ctx, 'objective')).toThrow(
      /objective\.corruption\.type/,
    );
    expect(() => registry.build('objective', { name: 'elbo', corruption: { type: 'gaussian', level: -1 } }, ctx, 'objective')).toThrow(
      /objective\.corruption\.level/,
    );
    expect(() => registry.build('objective', { name: 'elbo', corruption: { type: 'salt_and_pepper' } }, ctx, 'objective')).toThrow(
      /objective\.corruption\.level: required for salt_and_pepper/,
    );
  });

  it('built from config, reports bits_per_dim when the likelihood is discrete, and denoises when asked', () => {
    const registry = new ComponentRegistry().use({ components });
    const model = tinyModel();
    const built = registry.build('objective', { name: 'elbo', corruption: { type: 'gaussian', level: 0.1 } }, objectiveContext(true));
    expect(built.corrupt).toBeTypeOf('function');
    expect(registry.build('objective', { name: 'elbo' }, objectiveContext(true)).corrupt).toBeUndefined();
    const noise = noiseStream(5);
    const { terms } = built.loss(model.forward(X(), noise), stepContext(noise));
    expect(terms.bits_per_dim).toBeDefined();
    const continuous = registry.build('objective', { name: 'elbo' }, objectiveContext(false));
    expect(continuous.loss(model.forward(X(), noise), stepContext(noise)).terms.bits_per_dim).toBeUndefined();
  });

  it('the model checks that the decoder output fits the likelihood', () => {
    const streams = new RandomStreams(1);
    const opts = { hidden: [], activation: 'relu' as const, init: 'uniform_fan_in' as const };
    const model = new VaeModel({
      encoder: new Mlp([6], [4], opts, streams.stream('e')),
      posterior: new DiagonalGaussianPosterior(),
      decoder: new Mlp([2], [5], opts, streams.stream('d')),
      likelihood: new BernoulliLikelihood([6]),
      prior: new StandardNormalPrior(2),
      latentDim: 2,
      dataShape: [6],
    });
    expect(() => model.forward(x, streams.stream('n'))).toThrow(/decoder: output has shape \[5\], expected \[6\]/);
  });
});
