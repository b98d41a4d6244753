import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, ComponentRegistry, OneHotCategorical, RandomStream, RandomStreams, RelaxedOneHotCategorical, ShapeError, kl } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { RelaxedCategoricalPosterior, components, temperatureAt } from './index.js';

const registry = () => new ComponentRegistry().use({ components });
const ctx = (latentDim: number) => ({ latentDim, streams: new RandomStreams(1), cwd: '.' });

describe('relaxed_categorical', () => {
  it('asks the encoder for latent_dim logits and gives a RelaxedOneHotCategorical', () => {
    const family = new RelaxedCategoricalPosterior({ categories: 3 });
    expect(family.reparameterized).toBe(true);
    expect(family.paramShape({ dim: 6 })).toEqual([6]);
    const q = family.distribution(tf.zeros([4, 6]));
    expect(q).toBeInstanceOf(RelaxedOneHotCategorical);
    expect(q.batchShape).toEqual([4]);
    expect(q.eventShape).toEqual([6]);
    expect(q.temperature).toBe(1);
    expect(() => family.distribution(tf.zeros([4, 5]))).toThrow(ShapeError);
    expect(() => family.distribution(tf.zeros([4, 5]))).toThrow(/\[4, 5\].*categories = 3/);
  });

  it('follows the temperature schedule τ = max(τ_min, τ0 exp(−r · 1000⌊t/1000⌋)), from the step alone', () => {
    const family = registry().build(
      'posterior',
      { name: 'relaxed_categorical', categories: 2, temperature: 2, anneal_rate: 3e-5, anneal_every: 1000, min_temperature: 0.5 },
      ctx(4),
    ) as RelaxedCategoricalPosterior;
    const expected = (t: number) => Math.max(0.5, 2 * Math.exp(-3e-5 * 1000 * Math.floor(t / 1000)));
    expect(family.temperature).toBe(2);
    for (const step of [0, 999, 1000, 1999, 2000, 17_500, 45_000, 200_000]) {
      family.setStep(step);
      expect(family.temperature).toBeCloseTo(expected(step), 12);
      expect(family.distribution(tf.zeros([1, 4])).temperature).toBeCloseTo(expected(step), 12);
    }
    expect(expected(200_000)).toBe(0.5); // the floor is reached
    expect(expected(1999)).toBeLessThan(2); // and the first update happened at step 1000
    family.setStep(50_000);
    family.setStep(1500);
    expect(family.temperature).toBeCloseTo(expected(1500), 12);
    const constant = new RelaxedCategoricalPosterior({ categories: 2, temperature: 0.7 });
    constant.setStep(1e6);
    expect(constant.temperature).toBe(0.7);
    expect(temperatureAt(2500, { temperature: 1, annealRate: 1e-4, annealEvery: 500, minTemperature: 0.1 })).toBeCloseTo(Math.exp(-0.25), 12);
  });

  it('straight-through from config: one-hot samples whose gradient reaches the logits', () => {
    const family = registry().build('posterior', { name: 'relaxed_categorical', categories: 3, straight_through: true }, ctx(6));
    const logits = tf.tensor2d([[0.3, -1, 2, 0, 0.5, 0.1], [1, 1, -1, 2, 0, -2]]);
    const z = family.distribution(logits).rsample!(new RandomStream('st', 1));
    const rows = z.arraySync() as number[][];
    for (const row of rows) {
      expect(row.every((v) => v === 0 || v === 1)).toBe(true);
      expect(row.slice(0, 3).reduce((a, b) => a + b, 0)).toBe(1);
      expect(row.slice(3).reduce((a, b) => a + b, 0)).toBe(1);
    }
    const w = tf.tensor2d([[1, 2, 3, -1, 0.5, 2], [0, -2, 1, 1, 1, 3]]);
    const g = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(w, family.distribution(l).rsample!(new RandomStream('st', 1)))))(logits);
    expect(Array.from(g.dataSync()).some((v) => Math.abs(v) > 1e-4)).toBe(true);
  });

  it('is built from config with its defaults; bad options are errors naming the path', () => {
    const family = registry().build('posterior', { name: 'relaxed_categorical', categories: 10 }, ctx(20)) as RelaxedCategoricalPosterior;
    expect(family.options).toEqual({ categories: 10, temperature: 1, annealRate: 0, annealEvery: 1000, minTemperature: 0.5, straightThrough: false });
    expect(() => registry().build('posterior', { name: 'relaxed_categorical', categories: 3 }, ctx(20), 'posterior')).toThrow(ComponentConfigError);
    expect(() => registry().build('posterior', { name: 'relaxed_categorical', categories: 3 }, ctx(20), 'posterior')).toThrow(
      /posterior\.categories: .*latent_dim 20 is not a multiple of 3/,
    );
    expect(() => registry().build('posterior', { name: 'relaxed_categorical', categories: 2, temperature: 0.3 }, ctx(4), 'posterior')).toThrow(
      /posterior\.temperature: 0\.3 is below min_temperature 0\.5/,
    );
    expect(() => registry().build('posterior', { name: 'relaxed_categorical', categories: 2, temperature: 0 }, ctx(4), 'posterior')).toThrow(/posterior\.temperature/);
    expect(() => registry().build('posterior', { name: 'relaxed_categorical' }, ctx(4), 'posterior')).toThrow(/posterior\.categories/);
    expect(() => registry().build('posterior', { name: 'relaxed_categorical', categories: 2, tau: 1 }, ctx(4), 'posterior')).toThrow(/tau/);
  });

  it('a training-like step (rsample + analytic KL against a uniform categorical) leaks no tensors', () => {
    const family = new RelaxedCategoricalPosterior({ categories: 3, temperature: 0.8 });
    const weights = tf.variable(tf.tensor2d([[0.1, -0.2, 0.3, 0.5, -0.1, 0], [0.2, 0.1, -0.4, 0, 0.3, -0.3]]));
    const x = tf.tensor2d([[1, 0], [0.5, 0.5]]);
    const prior = new OneHotCategorical(tf.zeros([2, 6]), 3);
    const rng = new RandomStream('leak', 1);
    const step = (t: number) => {
      family.setStep(t);
      const { value, grads } = tf.variableGrads(() =>
        tf.tidy(() => {
          const q = family.distribution(tf.matMul(x, weights));
          const zSample = q.rsample(rng);
          const r = kl(q, prior, { rng });
          expect(r.analytic).toBe(true);
          return tf.add(tf.mean(tf.sum(tf.square(tf.sub(zSample, 0.5)), 1)), tf.mean(r.value)) as tf.Scalar;
        }),
      );
      value.dispose();
      tf.dispose(grads);
    };
    step(0);
    const before = tf.memory().numTensors;
    step(1);
    expect(tf.memory().numTensors).toBe(before);
    weights.dispose();
  });
});
