import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, type Distribution } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { Autoencoder } from './autoencoder.js';
import { components } from './index.js';
import { X, leakedTensors, noiseStream, objectiveContext, scalar, stepContext, tinyModel } from './test-model.js';

describe('autoencoder', () => {
  it("is −log p(x | z) at z = the posterior's mean, by hand", () => {
    const model = tinyModel();
    const x = X();
    const noise = noiseStream(1);
    const fwd = model.forward(x, noise);
    const { loss, terms } = new Autoencoder().loss(fwd);
    // z = μ (first half of the encoder output); logits from the decoder; Bernoulli NLL in float64.
    const mu = tf.slice(fwd.qParams, [0, 0], [3, 2]);
    const logits = model.parts.decoder.apply(mu).arraySync() as number[][];
    const xs = x.arraySync();
    const nll = logits.map((row, b) => -row.reduce((s, l, i) => s + xs[b]![i]! * l - Math.log1p(Math.exp(l)), 0));
    expect(scalar(loss)).toBeCloseTo(nll.reduce((s, v) => s + v, 0) / 3, 4);
    expect(Object.keys(terms)).toEqual(['reconstruction']);
    expect(scalar(terms.reconstruction)).toBe(scalar(loss));
  });

  it('is deterministic: it does not depend on the sampled z', () => {
    const model = tinyModel();
    const at = (seed: number) => {
      const noise = noiseStream(seed);
      return scalar(new Autoencoder().loss(model.forward(X(), noise)).loss);
    };
    expect(at(1)).toBe(at(2));
  });

  it('says clearly when the posterior has no mean', () => {
    const model = tinyModel();
    const noise = noiseStream(1);
    const fwd = model.forward(X(), noise);
    class NoMean implements Distribution {
      readonly batchShape = [3];
      readonly eventShape = [2];
      sample = () => tf.zeros([3, 2]);
      logProb = () => tf.zeros([3]);
    }
    expect(() => new Autoencoder().loss({ ...fwd, q: new NoMean() })).toThrow(
      /autoencoder: uses the posterior's mean as the code, but the posterior NoMean \(batch \[3\], event \[2\]\) has no mean\(\)/,
    );
  });

  it('leaves no tensors behind around a gradient step (plain and denoising)', () => {
    expect(leakedTensors(tinyModel(), new Autoencoder(), X())).toBe(0);
    expect(leakedTensors(tinyModel(), new Autoencoder({ corruption: { type: 'salt_and_pepper', level: 0.2 } }), X())).toBe(0);
  });

  it('is built from config, needs no reparameterization, and takes a corruption', () => {
    const registry = new ComponentRegistry().use({ components });
    const ctx = objectiveContext(true);
    const plain = registry.build('objective', { name: 'autoencoder' }, ctx);
    expect(plain.needsReparameterization).toBe(false);
    expect(plain.corrupt).toBeUndefined();
    const denoising = registry.build('objective', { name: 'autoencoder', corruption: { type: 'masking', level: 0.25 } }, ctx);
    expect(denoising.corrupt).toBeTypeOf('function');
    const noise = noiseStream(1);
    expect(Number.isFinite(scalar(denoising.loss(tinyModel().forward(X(), noise), stepContext(noise)).loss))).toBe(true);
    expect(() => registry.build('objective', { name: 'autoencoder', k: 1 }, ctx, 'objective')).toThrow(/unknown option 'k'/);
  });
});
