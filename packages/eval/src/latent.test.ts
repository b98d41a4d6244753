import * as tf from '@tensorflow/tfjs-core';
import { Normal, klNormalNormal } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { ActiveUnits, klPerDimension } from './latent.js';

/** Sample variance (n − 1) of each column, float64. */
function columnVariances(rows: number[][]): number[] {
  const n = rows.length;
  return rows[0]!.map((_, j) => {
    const m = rows.reduce((s, r) => s + r[j]!, 0) / n;
    return rows.reduce((s, r) => s + (r[j]! - m) ** 2, 0) / (n - 1);
  });
}

describe('ActiveUnits', () => {
  // Dimension 0 varies a lot, 1 is constant (dead), 2 varies below the 0.01 threshold, 3 just above.
  const rows = Array.from({ length: 40 }, (_, i) => [Math.sin(i) * 2 + 100, 0.3, 0.05 * Math.cos(i), 0.2 * Math.cos(3 * i)]);

  it('matches the float64 variance of each posterior mean, batch by batch, and counts active units', () => {
    const acc = new ActiveUnits();
    for (const [a, b] of [[0, 7], [7, 25], [25, 40]] as const) {
      const t = tf.tensor2d(rows.slice(a, b));
      acc.add(t);
      t.dispose();
    }
    expect(acc.examples).toBe(40);
    const expected = columnVariances(rows);
    acc.variances().forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 5));
    expect(expected[2]!).toBeLessThan(0.01);
    expect(expected[3]!).toBeGreaterThan(0.01);
    expect(acc.active()).toBe(2);
    expect(acc.active(0.5)).toBe(1);
    expect(acc.variances()[1]).toBe(0);
  });

  it('flattens event shapes and rejects a change in the number of dimensions', () => {
    const acc = new ActiveUnits();
    acc.add(tf.tidy(() => tf.reshape(tf.tensor2d(rows.slice(0, 10)), [10, 2, 2])));
    expect(acc.variances()).toHaveLength(4);
    const bad = tf.zeros([3, 5]);
    expect(() => acc.add(bad)).toThrowError(/5 latent dimensions, earlier ones 4/);
    bad.dispose();
    expect(new ActiveUnits().variances()).toEqual([]);
  });
});

describe('klPerDimension', () => {
  it('gives the closed form per dimension for diagonal Gaussians, summing to the KL', () => {
    const mq = [[0.5, -1, 2]];
    const sq = [[0.3, 1.5, 1]];
    const mp = [[0, 0.5, 2]];
    const sp = [[1, 2, 0.5]];
    const q = new Normal(tf.tensor2d(mq), tf.tensor2d(sq));
    const p = new Normal(tf.tensor2d(mp), tf.tensor2d(sp));
    const perDim = klPerDimension(q, p)!;
    expect(perDim.shape).toEqual([1, 3]);
    const expected = [0, 1, 2].map(
      (j) => Math.log(sp[0]![j]! / sq[0]![j]!) + (sq[0]![j]! ** 2 + (mq[0]![j]! - mp[0]![j]!) ** 2) / (2 * sp[0]![j]! ** 2) - 0.5,
    );
    Array.from(perDim.dataSync()).forEach((v, j) => expect(v).toBeCloseTo(expected[j]!, 5));
    const total = klNormalNormal(q, p);
    expect(total.dataSync()[0]).toBeCloseTo(expected.reduce((a, b) => a + b, 0), 5);
    tf.dispose([perDim, total, q.loc, q.scale, q.logScale, p.loc, p.scale, p.logScale]);
  });

  it('is null for pairs without a per-dimension closed form', () => {
    const loc = tf.zeros([2, 3]);
    const scale = tf.ones([2, 3]);
    const image = new Normal(loc, scale, 2); // event rank 2
    const diag = new Normal(loc, scale, 1);
    const notNormal = { batchShape: [2], eventShape: [3], sample: () => loc, logProb: () => loc };
    expect(klPerDimension(image, image)).toBeNull();
    expect(klPerDimension(notNormal, diag)).toBeNull();
    expect(klPerDimension(diag, notNormal)).toBeNull();
    tf.dispose([loc, scale, image.logScale, diag.logScale]);
  });
});
