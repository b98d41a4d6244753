import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, type Distribution, type Forward, Normal } from '@vaelab/core';
import { BernoulliLikelihood } from '@vaelab/likelihoods';
import { Mlp } from '@vaelab/networks';
import { DiagonalGaussianPosterior } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';
import { RandomStreams } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { Elbo } from './elbo.js';
import { FreeBits } from './free-bits.js';
import { components } from './index.js';
import { X, leakedTensors, noiseStream, objectiveContext, scalar, stepContext, tinyModel, values } from './test-model.js';

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/*
 * A forward pass whose posterior parameters are a tensor we differentiate by: latent dimension 0
 * far from the prior (KL ≈ 1–2 nats), dimension 1 close to it (KL ≈ 0.01).
 */
const PARAMS = [
  [1.5, 0.05, -1, 0.05],
  [-1.2, -0.1, -0.5, -0.1],
  [2, 0.02, -1.5, 0.08],
]; // [μ0, μ1, log σ0², log σ1²] per example
const x = X();
const decoder = new Mlp([2], [6], { hidden: [5], activation: 'tanh', init: 'uniform_fan_in' }, new RandomStreams(1).stream('d'));
const likelihood = new BernoulliLikelihood([6]);
const posterior = new DiagonalGaussianPosterior('log_var');

function forwardFrom(params: tf.Tensor, seed: number): Forward {
  const noise = noiseStream(seed);
  const q = posterior.distribution(params);
  const z = q.rsample(noise);
  const pParams = decoder.apply(z);
  const decode = (zz: tf.Tensor) => likelihood.distribution(decoder.apply(zz));
  return { x, qParams: params, q, z, pParams, px: likelihood.distribution(pParams), prior: new StandardNormalPrior(2).distribution(3), decode, extras: {} };
}

/** Gradient of a term with respect to the posterior parameters, on the forward pass drawn with `seed`. */
function gradient(objective: Elbo | FreeBits, term: 'loss' | 'reconstruction', seed = 3): number[][] {
  const g = tf.grad((p: tf.Tensor) => {
    const r = objective.loss(forwardFrom(p, seed), stepContext(noiseStream(seed + 1)));
    return term === 'loss' ? r.loss : r.terms.reconstruction!;
  })(tf.tensor2d(PARAMS));
  return g.arraySync() as number[][];
}

/** KL of each dimension, averaged over the batch, by hand in float64. */
const klPerDim = [0, 1].map((j) => mean(PARAMS.map((r) => -0.5 * (1 + r[2 + j]! - r[j]! ** 2 - Math.exp(r[2 + j]!)))));

describe('free_bits', () => {
  it('optimizes Σ_j max(λ, KL_j) with KL_j the batch mean, reports the true kl and kl_per_dim', () => {
    expect(klPerDim[0]).toBeGreaterThan(1);
    expect(klPerDim[1]).toBeLessThan(0.05);
    const objective = new FreeBits({ lambda: 0.5, samples: 1 }, { discrete: true });
    const { loss, terms, vectors } = objective.loss(forwardFrom(tf.tensor2d(PARAMS), 3), stepContext(noiseStream(4)));
    expect(scalar(terms.kl_free_bits)).toBeCloseTo(klPerDim[0]! + 0.5, 5);
    expect(scalar(terms.kl)).toBeCloseTo(klPerDim[0]! + klPerDim[1]!, 5);
    expect(scalar(loss)).toBeCloseTo(scalar(terms.reconstruction) + klPerDim[0]! + 0.5, 5);
    expect(scalar(terms.nelbo)).toBeCloseTo(scalar(terms.reconstruction) + scalar(terms.kl), 5);
    expect(scalar(terms.bits_per_dim)).toBeCloseTo(scalar(terms.nelbo) / (6 * Math.LN2), 5);
    values(vectors?.kl_per_dim).forEach((v, j) => expect(v).toBeCloseTo(klPerDim[j]!, 5));
  });

  it('keeps the ELBO gradient of dimensions above the floor and zeroes the KL gradient of those below', () => {
    const free = gradient(new FreeBits({ lambda: 0.5, samples: 1 }), 'loss');
    const elbo = gradient(new Elbo({ samples: 1, klSamples: 1 }), 'loss');
    const reconstructionOnly = gradient(new Elbo({ samples: 1, klSamples: 1 }), 'reconstruction');
    for (let b = 0; b < PARAMS.length; b++) {
      // Dimension 0 (KL above λ): columns μ0 and log σ0² as in the ELBO.
      for (const c of [0, 2]) expect(free[b]![c]).toBeCloseTo(elbo[b]![c]!, 5);
      // Dimension 1 (KL below λ): only the reconstruction pulls on μ1 and log σ1².
      for (const c of [1, 3]) {
        expect(free[b]![c]).toBeCloseTo(reconstructionOnly[b]![c]!, 5);
        expect(Math.abs(free[b]![c]! - elbo[b]![c]!)).toBeGreaterThan(1e-3); // the KL gradient was there
      }
    }
  });

  it('at λ = 0 equals the ELBO', () => {
    const model = tinyModel();
    const run = (o: Elbo | FreeBits) => {
      const noise = noiseStream(6);
      return scalar(o.loss(model.forward(X(), noise), stepContext(noise)).loss);
    };
    expect(run(new FreeBits({ lambda: 0, samples: 1 }))).toBeCloseTo(run(new Elbo({ samples: 1, klSamples: 1 })), 5);
  });

  it('says clearly when the posterior and prior give no per-dimension KL', () => {
    class FlowLike implements Distribution {
      readonly batchShape = [3];
      readonly eventShape = [2];
      sample = () => tf.zeros([3, 2]);
      logProb = () => tf.zeros([3]);
    }
    const fwd = { ...forwardFrom(tf.tensor2d(PARAMS), 3), q: new FlowLike() };
    expect(() => new FreeBits({ lambda: 0.5, samples: 1 }).loss(fwd, stepContext(noiseStream(1)))).toThrow(
      /free_bits: needs the KL per latent dimension.*posterior FlowLike \(batch \[3\], event \[2\]\) and prior Normal \(batch \[3\], event \[2\]\)/,
    );
    const matrixPrior = new Normal(tf.zeros([3, 1, 2]), tf.ones([3, 1, 2]), 2);
    expect(() => new FreeBits({ lambda: 0.5, samples: 1 }).loss({ ...fwd, q: forwardFrom(tf.tensor2d(PARAMS), 3).q, prior: matrixPrior }, stepContext(noiseStream(1)))).toThrow(
      /prior Normal \(batch \[3\], event \[1, 2\]\)/,
    );
  });

  it('leaves no tensors behind around a gradient step', () => {
    expect(leakedTensors(tinyModel(), new FreeBits({ lambda: 0.2, samples: 2, corruption: { type: 'masking', level: 0.3 } }, { discrete: true }), X())).toBe(0);
  });

  it('is built from config; λ < 0 is a config error with the path', () => {
    const registry = new ComponentRegistry().use({ components });
    const ctx = objectiveContext(true);
    const built = registry.build('objective', { name: 'free_bits', lambda: 0.25 }, ctx, 'objective') as FreeBits;
    expect(built.options).toEqual({ lambda: 0.25, samples: 1, corruption: { type: 'none', level: 0 } });
    expect(built.needsReparameterization).toBe(true);
    expect(() => registry.build('objective', { name: 'free_bits', lambda: -0.1 }, ctx, 'objective')).toThrow(/objective\.lambda/);
    expect(() => registry.build('objective', { name: 'free_bits', samples: 0 }, ctx, 'objective')).toThrow(/objective\.samples/);
  });
});
