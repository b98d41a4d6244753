import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, Normal, RandomStream, RandomStreams, hasAnalyticKL, kl } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { GaussianPrior, components } from './index.js';

const ctx = (latentDim: number) => ({ latentDim, dataShape: [4], streams: new RandomStreams(1), cwd: '.' });
const registry = () => new ComponentRegistry().use({ components });

describe('gaussian prior', () => {
  it('is built from config: learnable mean and log-scale per dimension, initialised from the options', () => {
    const prior = registry().build('prior', { name: 'gaussian', init_mean: 0.5, init_log_scale: -0.3 }, ctx(3)) as GaussianPrior;
    expect(prior.variables).toHaveLength(2);
    expect(prior.variables.every((v) => v.trainable)).toBe(true);
    const d = prior.distribution(5);
    expect(d).toBeInstanceOf(Normal);
    expect(d.batchShape).toEqual([5]);
    expect(d.eventShape).toEqual([3]);
    // log N(z; 0.5, e^{−0.6}) per dimension, at z = (0, 1, 2)
    const z = [0, 1, 2];
    const s = Math.exp(-0.3);
    const expected = z.reduce((acc, v) => acc - 0.5 * ((v - 0.5) / s) ** 2 - Math.log(s) - 0.5 * Math.log(2 * Math.PI), 0);
    expect(d.logProb(tf.tile(tf.tensor2d([z]), [5, 1])).dataSync()[4]).toBeCloseTo(expected, 4);
    const defaults = registry().build('prior', { name: 'gaussian' }, ctx(2)) as GaussianPrior;
    expect(Array.from(defaults.loc.dataSync())).toEqual([0, 0]);
    expect(Array.from(defaults.logScale.dataSync())).toEqual([0, 0]);
    expect(() => registry().build('prior', { name: 'gaussian', init_mean: 'zero' }, ctx(2), 'prior')).toThrow(/prior\.init_mean/);
  });

  it('KL against a diagonal Gaussian posterior is analytic', () => {
    const prior = new GaussianPrior(2, 0.2, 0.1);
    const q = new Normal(tf.tensor2d([[0.5, -1]]), tf.tensor2d([[0.8, 1.2]]));
    const p = prior.distribution(1);
    expect(hasAnalyticKL(q, p)).toBe(true);
    // Σ log(σp/σq) + (σq² + (μq − μp)²)/(2σp²) − ½
    const sp = Math.exp(0.1);
    const byHand = [[0.5, 0.8], [-1, 1.2]].reduce((s, [m, sq]) => s + Math.log(sp / sq!) + (sq! ** 2 + (m! - 0.2) ** 2) / (2 * sp * sp) - 0.5, 0);
    expect(kl(q, p, { rng: new RandomStream('kl', 1) }).value.dataSync()[0]).toBeCloseTo(byHand, 5);
  });

  it('gradients of the mean log-density reach the variables and match the closed form', () => {
    const prior = new GaussianPrior(2, 0.3, -0.2);
    const z = [[1, -0.5], [0, 2], [0.4, 0.4]];
    const { value, grads } = tf.variableGrads(() => tf.mean(prior.distribution(3).logProb(tf.tensor2d(z))) as tf.Scalar);
    // ∂/∂m = mean_b (z − m)/s²;  ∂/∂ log s = mean_b ((z − m)²/s² − 1)
    const s2 = Math.exp(-0.4);
    const gLoc = Array.from(grads[prior.loc.name]!.dataSync());
    const gLogScale = Array.from(grads[prior.logScale.name]!.dataSync());
    for (let j = 0; j < 2; j++) {
      const col = z.map((row) => row[j]!);
      expect(gLoc[j]).toBeCloseTo(col.reduce((s, v) => s + (v - 0.3) / s2, 0) / 3, 4);
      expect(gLogScale[j]).toBeCloseTo(col.reduce((s, v) => s + (v - 0.3) ** 2 / s2 - 1, 0) / 3, 4);
    }
    value.dispose();
    tf.dispose(grads);
    prior.dispose();
  });

  it('a training-like step leaks no tensors', () => {
    const prior = new GaussianPrior(3);
    const q = new Normal(tf.tensor2d([[0.5, -1, 0]]), tf.tensor2d([[0.8, 1.2, 1]]));
    const rng = new RandomStream('leak', 1);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.mean(kl(q, prior.distribution(1), { rng }).value) as tf.Scalar));
      value.dispose();
      tf.dispose(grads);
    };
    step();
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
    prior.dispose();
  });
});
