import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, RandomStreams, ShapeError } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { DiagonalGaussianPosterior, components } from './index.js';

describe('diagonal_gaussian', () => {
  it('asks the encoder for 2 × latent_dim values', () => {
    expect(new DiagonalGaussianPosterior().paramShape({ dim: 20 })).toEqual([40]);
  });

  it('reads the second half as log σ² or log σ', () => {
    const params = tf.tensor2d([[1, -1, Math.log(4), 0]]);
    const v = new DiagonalGaussianPosterior('log_var').distribution(params);
    expect(Array.from(v.loc.dataSync())).toEqual([1, -1]);
    expect(v.scale.dataSync()[0]).toBeCloseTo(2, 5);
    expect(v.scale.dataSync()[1]).toBeCloseTo(1, 5);
    const s = new DiagonalGaussianPosterior('log_std').distribution(params);
    expect(s.scale.dataSync()[0]).toBeCloseTo(4, 5);
    expect(v.batchShape).toEqual([1]);
    expect(v.eventShape).toEqual([2]);
  });

  it('rejects an encoder output of the wrong shape, naming both', () => {
    expect(() => new DiagonalGaussianPosterior().distribution(tf.zeros([2, 3]))).toThrow(ShapeError);
    expect(() => new DiagonalGaussianPosterior().distribution(tf.zeros([2, 3]))).toThrow(/\[2, 3\].*2 \* latent_dim/);
  });

  it('is built from config and rejects an unknown scale option', () => {
    const registry = new ComponentRegistry().use({ components });
    const ctx = { latentDim: 2, streams: new RandomStreams(1), cwd: '.' };
    expect(registry.build('posterior', { name: 'diagonal_gaussian', scale: 'log_std' }, ctx).reparameterized).toBe(true);
    expect(() => registry.build('posterior', { name: 'diagonal_gaussian', scale: 'std' }, ctx, 'posterior')).toThrow(/posterior\.scale/);
  });
});
