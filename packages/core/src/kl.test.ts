import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { findKL, hasAnalyticKL, kl, registerKL } from './kl.js';
import { Normal } from './normal.js';
import { RandomStream } from './random.js';

class FatNormal extends Normal {}
class Unregistered extends Normal {}

describe('KL registry', () => {
  it('falls back to Monte Carlo for an unregistered pair and says so', () => {
    const q = new Normal(tf.tensor2d([[0.5]]), tf.tensor2d([[1]]));
    const p = { batchShape: [1], eventShape: [1], sample: () => tf.zeros([1, 1]), logProb: (z: tf.Tensor) => tf.sum(tf.neg(tf.square(z)), 1) };
    expect(hasAnalyticKL(q, p)).toBe(false);
    const r = kl(q, p, { rng: new RandomStream('mc', 1), samples: 4000 });
    expect(r.analytic).toBe(false);
    // E_q[log q(z) + z²] with q = N(0.5, 1): −½ log 2π − ½ + (1 + 0.25)
    expect(r.value.dataSync()[0]).toBeCloseTo(-0.5 * Math.log(2 * Math.PI) - 0.5 + 1.25, 1);
  });

  it('uses a subclass pair inherited rule, and the most specific rule when one is registered', () => {
    const fat = new FatNormal(tf.tensor2d([[0]]), tf.tensor2d([[1]]));
    const std = new Normal(tf.tensor2d([[0]]), tf.tensor2d([[1]]));
    expect(findKL(fat, std)).toBeDefined();
    registerKL(FatNormal, Normal, () => tf.tensor1d([123]));
    expect(kl(fat, std, { rng: new RandomStream('k', 1) }).value.dataSync()[0]).toBe(123);
    expect(kl(new Unregistered(tf.tensor2d([[0]]), tf.tensor2d([[1]])), std, { rng: new RandomStream('k', 1) }).value.dataSync()[0]).toBeCloseTo(0, 6);
  });

  it('rejects a non-positive sample count', () => {
    const q = new Normal(tf.tensor2d([[0]]), tf.tensor2d([[1]]));
    expect(() => kl(q, q, { rng: new RandomStream('k', 1), samples: 0, forceMonteCarlo: true })).toThrow(/positive integer/);
  });
});
