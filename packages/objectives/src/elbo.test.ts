import * as tf from '@tensorflow/tfjs';
import { ComponentRegistry, RandomStreams } from '@vaelab/core';
import { BernoulliLikelihood } from '@vaelab/likelihoods';
import { Mlp } from '@vaelab/networks';
import { DiagonalGaussianPosterior } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';
import { describe, expect, it } from 'vitest';
import { Elbo, VaeModel, components } from './index.js';

function tinyModel(seed = 1) {
  const streams = new RandomStreams(seed);
  const posterior = new DiagonalGaussianPosterior('log_var');
  const likelihood = new BernoulliLikelihood([6]);
  const opts = { hidden: [5], activation: 'relu' as const, init: 'uniform_fan_in' as const };
  return new VaeModel({
    encoder: new Mlp([6], [4], opts, streams.stream('e')),
    posterior,
    decoder: new Mlp([2], [6], opts, streams.stream('d')),
    likelihood,
    prior: new StandardNormalPrior(2),
    latentDim: 2,
    dataShape: [6],
  });
}

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
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(terms.reconstruction!.dataSync()[0]).toBeCloseTo(mean(nll), 4);
    expect(terms.kl!.dataSync()[0]).toBeCloseTo(mean(klByHand), 4);
    expect(loss.dataSync()[0]).toBeCloseTo(mean(nll) + mean(klByHand), 4);
    expect(objective.describe()).toEqual(['kl: analytic']);
  });

  it('with more samples averages the reconstruction over them (and equals the 1-sample value in expectation)', () => {
    const model = tinyModel();
    const objective = new Elbo({ samples: 2000, klSamples: 1 });
    const noise = new RandomStreams(2).stream('noise');
    const many = objective.loss(model.forward(x, noise), { step: 0, epoch: 0, training: false, noise }).terms.reconstruction!.dataSync()[0]!;
    const single = new Elbo({ samples: 1, klSamples: 1 });
    let sum = 0;
    for (let i = 0; i < 400; i++) sum += single.loss(model.forward(x, noise), { step: 0, epoch: 0, training: false, noise }).terms.reconstruction!.dataSync()[0]!;
    expect(Math.abs(many - sum / 400)).toBeLessThan(0.05);
  });

  it('is built from config; bad sample counts are config errors with the path', () => {
    const registry = new ComponentRegistry().use({ components });
    const ctx = { streams: new RandomStreams(1), cwd: '.', dataShape: [4], latentDim: 2, discrete: true };
    expect(registry.build('objective', { name: 'elbo' }, ctx).name).toBe('elbo');
    expect(() => registry.build('objective', { name: 'elbo', samples: 0 }, ctx, 'objective')).toThrow(/objective\.samples/);
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
