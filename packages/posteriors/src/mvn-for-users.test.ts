import * as tf from '@tensorflow/tfjs-core';
import { Normal, RandomStream, hasAnalyticKL, kl } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
// Only the class: no registry.use({ klRules }) anywhere in this file.
import { MultivariateNormalTriL, isMultivariateNormalTriL } from './full-covariance.js';

const L = [[1, 0], [0.5, 0.8]];
const locs = [[0, 1], [2, -1], [0.3, 0.3]];
const x = [[0.5, 0.2], [1, 1], [-1, 2]];

describe('MultivariateNormalTriL for library users', () => {
  it('its KL rules are active as soon as the class is imported', () => {
    const q = new MultivariateNormalTriL(tf.tensor2d([locs[0]!]), tf.tensor3d([L]));
    expect(isMultivariateNormalTriL(q)).toBe(true);
    expect(hasAnalyticKL(q, new Normal(tf.zeros([1, 2]), tf.ones([1, 2])))).toBe(true);
    expect(hasAnalyticKL(q, q)).toBe(true);
  });

  it('a [D, D] factor shared by a batch of means gives the logProb, entropy and KL of explicit tiling', () => {
    const shared = new MultivariateNormalTriL(tf.tensor2d(locs), tf.tensor2d(L));
    const tiled = new MultivariateNormalTriL(tf.tensor2d(locs), tf.tile(tf.tensor3d([L]), [3, 1, 1]));
    expect(shared.batchShape).toEqual([3]);
    expect(shared.scaleTril.shape).toEqual([3, 2, 2]);
    const close = (a: tf.Tensor, b: tf.Tensor) => Array.from(a.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(b.dataSync()[i]!, 5));
    close(shared.logProb(tf.tensor2d(x)), tiled.logProb(tf.tensor2d(x)));
    close(shared.entropy(), tiled.entropy());
    const p = new Normal(tf.zeros([3, 2]), 1);
    const rng = new RandomStream('kl', 1);
    close(kl(shared, p, { rng }).value, kl(tiled, p, { rng }).value);
    // One mean for a batch of factors.
    const oneMean = new MultivariateNormalTriL(tf.tensor1d([0, 1]), tf.stack([tf.tensor2d(L), tf.eye(2)]));
    expect(oneMean.batchShape).toEqual([2]);
    expect(oneMean.loc.shape).toEqual([2, 2]);
  });

  it('rejects batch shapes that do not broadcast, and a factor of the wrong size', () => {
    expect(() => new MultivariateNormalTriL(tf.zeros([3, 2]), tf.zeros([2, 2, 2]))).toThrow(/do not broadcast/);
    expect(() => new MultivariateNormalTriL(tf.zeros([3, 2]), tf.eye(3))).toThrow(/expected \[\.\.\., 2, 2\]/);
  });
});
