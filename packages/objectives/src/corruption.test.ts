import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { corruptInput, corruptionFunction, corruptionSchema } from './corruption.js';
import { Elbo } from './elbo.js';
import { X, noiseStream, scalar, stepContext, tinyModel, values } from './test-model.js';

function rows(t: tf.Tensor, width: number): number[][] {
  const v = values(t);
  return Array.from({ length: v.length / width }, (_, b) => v.slice(b * width, (b + 1) * width));
}

describe('corruption', () => {
  it('masking zeroes exactly round(level·D) values of each example, different ones per example', () => {
    const x = tf.ones([50, 4, 5]); // D = 20
    const out = corruptInput(x, noiseStream(1), { type: 'masking', level: 0.3 });
    expect(out.shape).toEqual([50, 4, 5]);
    const r = rows(out, 20);
    for (const row of r) expect(row.filter((v) => v === 0)).toHaveLength(6);
    for (const row of r) expect(row.filter((v) => v === 1)).toHaveLength(14);
    expect(new Set(r.map((row) => row.join(','))).size).toBeGreaterThan(40);
    // Every position gets masked sometimes (uniform choice): 50·6 = 300 draws over 20 positions.
    const hits = Array.from({ length: 20 }, (_, i) => r.filter((row) => row[i] === 0).length);
    expect(Math.min(...hits)).toBeGreaterThan(0);
  });

  it('is deterministic for a seed and changes with it', () => {
    const x = tf.fill([8, 10], 0.5);
    for (const type of ['masking', 'salt_and_pepper', 'gaussian'] as const) {
      const a = values(corruptInput(x, noiseStream(3), { type, level: 0.4 }));
      const b = values(corruptInput(x, noiseStream(3), { type, level: 0.4 }));
      const c = values(corruptInput(x, noiseStream(4), { type, level: 0.4 }));
      expect(a).toEqual(b);
      expect(a).not.toEqual(c);
    }
  });

  it('salt and pepper sets exactly round(level·D) values per example to 0 or 1, about half each', () => {
    const x = tf.fill([200, 10], 0.5);
    const r = rows(corruptInput(x, noiseStream(2), { type: 'salt_and_pepper', level: 0.25 }), 10);
    let ones = 0;
    for (const row of r) {
      expect(row.filter((v) => v !== 0.5)).toHaveLength(3); // round(2.5) = 3
      expect(row.every((v) => v === 0 || v === 1 || v === 0.5)).toBe(true);
      ones += row.filter((v) => v === 1).length;
    }
    // 600 fair coin flips: mean 300, sd ≈ 12.2; allow 4 sd.
    expect(Math.abs(ones - 300)).toBeLessThan(50);
  });

  it('gaussian adds N(0, level²) noise: moments of x̃ − x', () => {
    const x = tf.fill([100, 50], 0.3);
    const diff = values(tf.sub(corruptInput(x, noiseStream(5), { type: 'gaussian', level: 0.2 }), x));
    const n = diff.length;
    const m = diff.reduce((s, v) => s + v, 0) / n;
    const variance = diff.reduce((s, v) => s + (v - m) ** 2, 0) / (n - 1);
    expect(Math.abs(m)).toBeLessThan((4 * 0.2) / Math.sqrt(n)); // 4 standard errors
    // SE of the sample variance ≈ σ² √(2/n).
    expect(Math.abs(variance - 0.04)).toBeLessThan(4 * 0.04 * Math.sqrt(2 / n));
  });

  it('level 0 changes nothing; none gives no corrupt function', () => {
    const x = X();
    expect(values(corruptInput(x, noiseStream(1), { type: 'masking', level: 0 }))).toEqual(values(x));
    expect(corruptionFunction({ type: 'none', level: 0.5 })).toBeUndefined();
    expect(corruptionFunction(undefined)).toBeUndefined();
    expect(corruptionFunction({ type: 'masking', level: 0.5 })).toBeTypeOf('function');
  });

  it('the schema defaults to none and checks levels', () => {
    expect(corruptionSchema.parse(undefined)).toEqual({ type: 'none', level: 0 });
    expect(corruptionSchema.parse({ type: 'gaussian', level: 2 })).toEqual({ type: 'gaussian', level: 2 });
    expect(corruptionSchema.safeParse({ type: 'salt_and_pepper', level: 1.2 }).success).toBe(false);
    expect(corruptionSchema.safeParse({ type: 'gaussian', level: -0.1 }).success).toBe(false);
    expect(corruptionSchema.safeParse({ type: 'masking', level: 0.1, extra: 1 }).success).toBe(false);
    // A type without a level would silently do nothing: required.
    expect(corruptionSchema.safeParse({ type: 'masking' }).error?.issues[0]).toMatchObject({
      path: ['level'],
      message: 'required for masking: the fraction of values changed per example, in [0, 1]',
    });
    expect(corruptionSchema.safeParse({ type: 'gaussian' }).success).toBe(false);
    expect(corruptionSchema.parse({ type: 'none' })).toEqual({ type: 'none', level: 0 });
  });

  it('in a denoising VAE the encoder sees the corrupted x and the likelihood scores the clean x', () => {
    const model = tinyModel();
    const x = X();
    const objective = new Elbo({ samples: 1, klSamples: 1, corruption: { type: 'masking', level: 0.5 } });
    const corrupted = objective.corrupt!(x, noiseStream(7));
    expect(values(corrupted)).not.toEqual(values(x));
    const noise = noiseStream(8);
    const fwd = model.forward(x, noise, undefined, corrupted);
    expect(values(fwd.qParams)).toEqual(values(model.parts.encoder.apply(corrupted)));
    expect(values(fwd.x)).toEqual(values(x));
    // The reconstruction term scores x itself.
    const { terms } = objective.loss(fwd, stepContext(noise));
    expect(scalar(terms.reconstruction)).toBeCloseTo(-scalar(tf.mean(fwd.px.logProb(x))), 5);
    expect(objective.describe().join('\n')).toMatch(/denoising: encoder input corrupted by masking noise/);
  });
});
