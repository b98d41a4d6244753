import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Categorical } from './categorical.js';
import { ShapeError } from './errors.js';
import { MixtureSameFamily, isMixtureSameFamily } from './mixture.js';
import { Normal } from './normal.js';
import { RandomStream } from './random.js';

/* Two mixtures (batch 2) of K = 3 diagonal normals in 2 dimensions, hand-picked. */
const logits = [[0.2, -0.5, 1], [0, 0, -1]];
const means = [
  [[-1, 0.5], [2, 0], [0, -1.5]],
  [[0, 0], [1, 1], [-2, 3]],
];
const scales = [
  [[1, 0.6], [1.3, 1.2], [0.8, 1]],
  [[0.5, 0.5], [2, 1], [1, 0.7]],
];

const softmax = (l: number[]) => {
  const m = Math.max(...l);
  const e = l.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
/** The mixture density at z, by hand (float64): Σ_k π_k Π_d N(z_d; μ_kd, σ_kd²). */
const density = (b: number, z: number[]) =>
  softmax(logits[b]!).reduce(
    (s, w, k) =>
      s +
      w *
        z.reduce((p, zd, d) => {
          const sd = scales[b]![k]![d]!;
          return p * Math.exp(-0.5 * ((zd - means[b]![k]![d]!) / sd) ** 2) / (sd * Math.sqrt(2 * Math.PI));
        }, 1),
    0,
  );

function batchOfMixtures(): MixtureSameFamily {
  return new MixtureSameFamily(tf.tensor2d(logits), new Normal(tf.tensor3d(means), tf.tensor3d(scales)));
}

describe('MixtureSameFamily', () => {
  it('a batch of mixtures: shapes, and logProb equal to the hand-computed mixture density', () => {
    const d = batchOfMixtures();
    expect(isMixtureSameFamily(d)).toBe(true);
    expect(d.batchShape).toEqual([2]);
    expect(d.eventShape).toEqual([2]);
    const z = [[0.3, -0.2], [1.5, 2]];
    const lp = d.logProb(tf.tensor2d(z)).arraySync() as number[];
    z.forEach((zb, b) => expect(lp[b]).toBeCloseTo(Math.log(density(b, zb)), 4));
    const zs = [[[1, 1], [-2, 0]], [[0, 0], [0.5, -3]], [[2, 0.1], [-1, 0.5]]];
    const stacked = d.logProb(tf.tensor3d(zs));
    expect(stacked.shape).toEqual([3, 2]);
    (stacked.arraySync() as number[][]).forEach((row, s) => row.forEach((v, b) => expect(v).toBeCloseTo(Math.log(density(b, zs[s]![b]!)), 4)));
    expect(() => d.logProb(tf.zeros([2, 3]))).toThrow(ShapeError);
  });

  it('mean is Σ_k π_k μ_k per mixture; sample has shape batch ++ event and the mixture mean', () => {
    const d = batchOfMixtures();
    const m = d.mean().arraySync() as number[][];
    logits.forEach((l, b) => {
      const w = softmax(l);
      [0, 1].forEach((j) => expect(m[b]![j]).toBeCloseTo(w.reduce((s, wk, k) => s + wk * means[b]![k]![j]!, 0), 5));
    });
    expect(d.sample(new RandomStream('s', 1)).shape).toEqual([2, 2]);
    const n = 8000;
    const big = new MixtureSameFamily(
      tf.tile(tf.tensor2d([logits[0]!]), [n, 1]),
      new Normal(tf.tile(tf.tensor3d([means[0]!]), [n, 1, 1]), tf.tile(tf.tensor3d([scales[0]!]), [n, 1, 1])),
    );
    const s = big.sample(new RandomStream('s', 2));
    expect(s.shape).toEqual([n, 2]);
    const sampleMean = tf.mean(s, 0).arraySync() as number[];
    sampleMean.forEach((v, j) => expect(Math.abs(v - m[0]![j]!)).toBeLessThan(0.08));
  });

  it('one set of components shared by a batch (batchShape): logProb broadcasts; sampling needs componentsAt', () => {
    const comps = new Normal(tf.tensor2d(means[0]!), tf.tensor2d(scales[0]!));
    const shared = new MixtureSameFamily(tf.tensor1d(logits[0]!), comps, { batchShape: [4] });
    expect(shared.batchShape).toEqual([4]);
    const z = tf.tensor2d([[0.3, -0.2], [1.5, 2], [0, 0], [-1, 1]]);
    const lp = shared.logProb(z).arraySync() as number[];
    (z.arraySync() as number[][]).forEach((zb, b) => expect(lp[b]).toBeCloseTo(Math.log(density(0, zb)), 4));
    expect(() => shared.sample(new RandomStream('s', 1))).toThrow(/componentsAt/);
    const withAt = new MixtureSameFamily(tf.tensor1d(logits[0]!), comps, {
      batchShape: [4],
      componentsAt: (i) => new Normal(tf.gather(comps.loc, i), tf.gather(comps.scale, i)),
    });
    expect(withAt.sample(new RandomStream('s', 1)).shape).toEqual([4, 2]);
    expect(withAt.mean().shape).toEqual([4, 2]);
    expect(() => new MixtureSameFamily(tf.tensor1d([0, 0]), comps)).toThrow(/expected \[\.\.\., 2\]/);
  });

  it('a family other than Normal: a mixture of categoricals is the categorical of Σ_k π_k p_k', () => {
    const catLogits = [[0, 1, -1], [2, 0, 0], [-1, -1, 1]]; // K = 3 components over 3 values
    const mixLogits = [0.5, -0.2, 0.1];
    const d = new MixtureSameFamily(tf.tensor1d(mixLogits), new Categorical(tf.tensor2d(catLogits)), { batchShape: [3] });
    const w = softmax(mixLogits);
    const p = [0, 1, 2].map((v) => w.reduce((s, wk, k) => s + wk * softmax(catLogits[k]!)[v]!, 0));
    const lp = d.logProb(tf.tensor1d([0, 1, 2], 'int32')).arraySync() as number[];
    lp.forEach((v, i) => expect(v).toBeCloseTo(Math.log(p[i]!), 5));
  });
});
