import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, ComponentRegistry, OneHotCategorical, RandomStream, RandomStreams, RelaxedOneHotCategorical, kl } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { components } from './index.js';

const registry = () => new ComponentRegistry().use({ components });
const ctx = (latentDim: number) => ({ latentDim, dataShape: [4], streams: new RandomStreams(1), cwd: '.' });

describe('uniform_categorical prior', () => {
  it('is built from config: a uniform OneHotCategorical, batch [batch], event [latent_dim]', () => {
    const prior = registry().build('prior', { name: 'uniform_categorical', categories: 3 }, ctx(6));
    expect(prior.variables).toEqual([]);
    const d = prior.distribution(4) as OneHotCategorical;
    expect(d).toBeInstanceOf(OneHotCategorical);
    expect(d.batchShape).toEqual([4]);
    expect(d.eventShape).toEqual([6]);
    // two variables of three categories: log p = 2 log(1/3), H = 2 log 3
    const x = tf.tile(tf.tensor2d([[0, 1, 0, 0, 0, 1]]), [4, 1]);
    expect(d.logProb(x).dataSync()[3]).toBeCloseTo(2 * Math.log(1 / 3), 5);
    expect(d.entropy().dataSync()[0]).toBeCloseTo(2 * Math.log(3), 5);
  });

  it('KL from a relaxed categorical posterior is analytic: Σ q log q + N log K', () => {
    const prior = registry().build('prior', { name: 'uniform_categorical', categories: 2 }, ctx(2));
    const q = new RelaxedOneHotCategorical(tf.tensor2d([[1, -1]]), 2, 0.5);
    const r = kl(q, prior.distribution(1), { rng: new RandomStream('kl', 1) });
    const p1 = 1 / (1 + Math.exp(-2));
    expect(r.analytic).toBe(true);
    expect(r.value.dataSync()[0]).toBeCloseTo(p1 * Math.log(p1) + (1 - p1) * Math.log(1 - p1) + Math.log(2), 5);
  });

  it('rejects a latent size that is not a multiple of K, and K < 2', () => {
    expect(() => registry().build('prior', { name: 'uniform_categorical', categories: 3 }, ctx(7), 'prior')).toThrow(ComponentConfigError);
    expect(() => registry().build('prior', { name: 'uniform_categorical', categories: 3 }, ctx(7), 'prior')).toThrow(
      /prior\.categories: .*latent_dim 7 is not a multiple of 3/,
    );
    expect(() => registry().build('prior', { name: 'uniform_categorical', categories: 1 }, ctx(7), 'prior')).toThrow(/prior\.categories/);
    expect(() => registry().build('prior', { name: 'uniform_categorical' }, ctx(6), 'prior')).toThrow(/prior\.categories/);
  });
});
