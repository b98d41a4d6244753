import * as tf from '@tensorflow/tfjs-core';
import { Normal, klNormalNormal, registerKL } from '@vaelab/core';
import { Bernoulli } from '@vaelab/likelihoods';
import { describe, expect, it } from 'vitest';
import { klPerDimension } from './per-dimension.js';
import { values } from './test-model.js';

/** KL(N(m1, s1²) ‖ N(m2, s2²)) in float64. */
function klScalar(m1: number, s1: number, m2: number, s2: number): number {
  return Math.log(s2 / s1) + (s1 * s1 + (m1 - m2) ** 2) / (2 * s2 * s2) - 0.5;
}

describe('klPerDimension', () => {
  const qLoc = [[0.3, -1.2, 2], [0, 0.5, -0.7]];
  const qScale = [[0.5, 1.5, 0.2], [1, 0.8, 2.5]];
  const pLoc = [[0, 0, 0], [0.4, -0.3, 1]];
  const pScale = [[1, 1, 1], [2, 0.6, 1.3]];
  const q = new Normal(tf.tensor2d(qLoc), tf.tensor2d(qScale));
  const p = new Normal(tf.tensor2d(pLoc), tf.tensor2d(pScale));

  it('is the closed-form KL of each dimension, [batch, latentDim], at hand-picked points', () => {
    const got = klPerDimension(q, p)!;
    expect(got.shape).toEqual([2, 3]);
    const v = values(got);
    for (let b = 0; b < 2; b++) {
      for (let j = 0; j < 3; j++) expect(v[b * 3 + j]).toBeCloseTo(klScalar(qLoc[b]![j]!, qScale[b]![j]!, pLoc[b]![j]!, pScale[b]![j]!), 5);
    }
  });

  it('sums over dimensions to the registered KL', () => {
    const sums = values(tf.sum(klPerDimension(q, p)!, 1));
    values(klNormalNormal(q, p)).forEach((v, b) => expect(sums[b]).toBeCloseTo(v, 5));
  });

  it('is undefined where the KL does not factorise per dimension in closed form', () => {
    expect(klPerDimension(new Bernoulli(tf.zeros([2, 3]), 1), p)).toBeUndefined();
    expect(klPerDimension(q, new Bernoulli(tf.zeros([2, 3]), 1))).toBeUndefined();
    // Event rank 2 (a matrix-valued latent) and event rank 0 are not vectors of latent dimensions.
    const matrix = new Normal(tf.zeros([2, 3, 2]), tf.ones([2, 3, 2]), 2);
    expect(klPerDimension(matrix, matrix)).toBeUndefined();
    const scalarEvent = new Normal(tf.zeros([2]), tf.ones([2]), 0);
    expect(klPerDimension(scalarEvent, scalarEvent)).toBeUndefined();
  });

  it('defers to a more specific KL rule registered for a Normal subclass', () => {
    class TiedNormal extends Normal {}
    registerKL(TiedNormal, Normal, (a: TiedNormal) => tf.zeros(a.batchShape));
    const tied = new TiedNormal(tf.tensor2d(qLoc), tf.tensor2d(qScale));
    expect(klPerDimension(tied, p)).toBeUndefined();
  });
});
