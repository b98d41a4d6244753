import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, kl } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { Elbo } from './elbo.js';
import { components } from './index.js';
import { Iwae } from './iwae.js';
import { X, leakedTensors, noiseStream, objectiveContext, scalar, stepContext, tinyModel, values } from './test-model.js';

/** A model whose decoder is sharp enough (weights ×3) that q is a poor proposal: the bound gains nats with k. */
function sharpModel() {
  const model = tinyModel(1, 12, 2, [8]);
  for (const v of model.parts.decoder.variables) v.assign(tf.mul(v, 3));
  return model;
}

describe('iwae', () => {
  it('at k = 1 equals the single-sample ELBO with a sampled KL, on the same noise', () => {
    const model = tinyModel();
    const noise = noiseStream(2);
    const fwd = model.forward(X(), noise);
    const { loss, terms } = new Iwae({ k: 1 }, { discrete: true }).loss(fwd, stepContext(noise));
    const sameNoise = noiseStream(2);
    const fwd2 = model.forward(X(), sameNoise);
    expect(values(fwd2.z)).toEqual(values(fwd.z));
    const elbo = new Elbo({ samples: 1, klSamples: 1 }).loss(fwd2, stepContext(sameNoise));
    const sampledKL = scalar(tf.mean(kl(fwd2.q, fwd2.prior, { rng: sameNoise, forceMonteCarlo: true, z: fwd2.z }).value));
    expect(scalar(terms.reconstruction)).toBe(scalar(elbo.terms.reconstruction));
    expect(scalar(terms.kl)).toBeCloseTo(sampledKL, 5);
    expect(scalar(loss)).toBeCloseTo(scalar(elbo.terms.reconstruction) + sampledKL, 5);
    expect(scalar(terms.iwae_bound)).toBe(scalar(loss));
    expect(scalar(terms.nelbo)).toBeCloseTo(scalar(loss), 5);
  });

  it('is a logsumexp of the log weights, checked by hand at k = 3', () => {
    const model = tinyModel();
    const noise = noiseStream(3);
    const fwd = model.forward(X(), noise);
    const { loss } = new Iwae({ k: 3 }).loss(fwd, stepContext(noise));
    // Redraw the same three samples: the forward pass's z, then two more from the same stream.
    const replay = noiseStream(3);
    const fwdAgain = model.forward(X(), replay);
    const zs = [fwdAgain.z, fwdAgain.q.rsample!(replay), fwdAgain.q.rsample!(replay)];
    const logW = zs.map((z) =>
      values(tf.sub(tf.add(fwdAgain.decode(z).logProb(fwdAgain.x), fwdAgain.prior.logProb(z)), fwdAgain.q.logProb(z))),
    );
    const perExample = [0, 1, 2].map((b) => {
      const w = logW.map((lw) => lw[b]!);
      const m = Math.max(...w);
      return m + Math.log(w.reduce((s, v) => s + Math.exp(v - m), 0)) - Math.log(3);
    });
    expect(scalar(loss)).toBeCloseTo(-perExample.reduce((s, v) => s + v, 0) / 3, 4);
  });

  it('draws the extra samples separately and decodes them in one batch of (k − 1)·batch', () => {
    const model = tinyModel();
    const noise = noiseStream(3);
    const fwd = model.forward(X(), noise);
    const decoded: number[][] = [];
    const spied = { ...fwd, decode: (z: tf.Tensor) => (decoded.push(z.shape), fwd.decode(z)) };
    new Iwae({ k: 4 }).loss(spied, stepContext(noise));
    expect(decoded).toEqual([[9, 2]]);
  });

  it('the bound is at least the ELBO on the same samples and grows with k (k = 1 < 5 < 50, 200 examples)', () => {
    const model = sharpModel();
    const data = noiseStream(101);
    const x = tf.cast(tf.less(data.uniform([200, 12]), 0.3), 'float32');
    const bound = (k: number) => {
      const noise = noiseStream(7);
      const { terms } = new Iwae({ k }).loss(model.forward(x, noise), stepContext(noise));
      // Jensen: log mean w ≥ mean log w, sample by sample.
      expect(scalar(terms.iwae_bound)).toBeLessThanOrEqual(scalar(terms.nelbo) + 1e-4);
      return -scalar(terms.iwae_bound);
    };
    const [b1, b5, b50] = [bound(1), bound(5), bound(50)];
    // Measured over 15 noise seeds: gains ≈ 4.4 (min 3.7) and ≈ 0.6 (min 0.4) nats.
    expect(b5 - b1).toBeGreaterThan(1);
    expect(b50 - b5).toBeGreaterThan(0.1);
    // And above the ELBO with its analytic KL.
    const noise = noiseStream(8);
    const elbo = -scalar(new Elbo({ samples: 1, klSamples: 1 }).loss(model.forward(x, noise), stepContext(noise)).loss);
    expect(b50).toBeGreaterThan(elbo);
  });

  it('reports reconstruction + kl = nelbo over the samples, and bits per dimension of both bounds', () => {
    const model = tinyModel();
    const noise = noiseStream(4);
    const { loss, terms, vectors } = new Iwae({ k: 5 }, { discrete: true }).loss(model.forward(X(), noise), stepContext(noise));
    expect(Object.keys(terms).sort()).toEqual(['bits_per_dim', 'iwae_bits_per_dim', 'iwae_bound', 'kl', 'nelbo', 'reconstruction']);
    expect(scalar(terms.nelbo)).toBeCloseTo(scalar(terms.reconstruction) + scalar(terms.kl), 5);
    expect(scalar(terms.bits_per_dim)).toBeCloseTo(scalar(terms.nelbo) / (6 * Math.LN2), 5);
    expect(scalar(terms.iwae_bits_per_dim)).toBeCloseTo(scalar(loss) / (6 * Math.LN2), 5);
    expect(vectors).toBeUndefined();
    const continuous = new Iwae({ k: 2 }, { discrete: false }).loss(model.forward(X(), noise), stepContext(noise)).terms;
    expect(continuous.bits_per_dim).toBeUndefined();
    expect(continuous.iwae_bits_per_dim).toBeUndefined();
  });

  it('is deterministic for a noise seed', () => {
    const model = tinyModel();
    const run = () => {
      const noise = noiseStream(5);
      return scalar(new Iwae({ k: 7 }).loss(model.forward(X(), noise), stepContext(noise)).loss);
    };
    expect(run()).toBe(run());
  });

  it('leaves no tensors behind around a gradient step', () => {
    expect(leakedTensors(tinyModel(), new Iwae({ k: 5 }, { discrete: true }), X())).toBe(0);
    expect(leakedTensors(tinyModel(), new Iwae({ k: 1, corruption: { type: 'gaussian', level: 0.2 } }), X())).toBe(0);
  });

  it('is built from config; k must be a positive integer', () => {
    const registry = new ComponentRegistry().use({ components });
    const ctx = objectiveContext(true);
    const built = registry.build('objective', { name: 'iwae', k: 50 }, ctx, 'objective') as Iwae;
    expect(built.options.k).toBe(50);
    expect(built.needsReparameterization).toBe(true);
    expect((registry.build('objective', { name: 'iwae' }, ctx) as Iwae).options.k).toBe(5);
    expect(() => registry.build('objective', { name: 'iwae', k: 0 }, ctx, 'objective')).toThrow(/objective\.k/);
    expect(() => registry.build('objective', { name: 'iwae', k: 2.5 }, ctx, 'objective')).toThrow(/objective\.k/);
    expect(() => new Iwae({ k: 0 })).toThrow(/iwae: k must be a positive integer, got 0/);
  });
});
