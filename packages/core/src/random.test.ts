import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { RandomStream, RandomStreams } from './random.js';

describe('RandomStream', () => {
  it('is deterministic per (seed, name) and differs across names and seeds', () => {
    const a = new RandomStream('noise', 1);
    const b = new RandomStream('noise', 1);
    const c = new RandomStream('data', 1);
    const d = new RandomStream('noise', 2);
    const draw = (s: RandomStream) => Array.from({ length: 5 }, () => s.nextUint32());
    const da = draw(a);
    expect(draw(b)).toEqual(da);
    expect(draw(c)).not.toEqual(da);
    expect(draw(d)).not.toEqual(da);
  });

  it('gives tfjs seeds in [1, 2^31 - 1], never 0 (which tfjs reads as unseeded)', () => {
    const s = new RandomStream('x', 7);
    for (let i = 0; i < 10_000; i++) {
      const seed = s.nextSeed();
      expect(seed).toBeGreaterThanOrEqual(1);
      expect(seed).toBeLessThanOrEqual(2147483647);
      expect(Number.isInteger(seed)).toBe(true);
    }
  });

  it('draws fresh noise on every call and the same sequence after a restore', () => {
    const s = new RandomStream('noise', 3);
    const first = s.normal([4]).arraySync();
    const saved = s.state;
    const second = s.normal([4]).arraySync();
    expect(second).not.toEqual(first);
    const t = new RandomStream('noise', 3);
    t.restore(saved);
    expect(t.normal([4]).arraySync()).toEqual(second);
  });

  it('produces uniform floats with the right mean and a valid permutation', () => {
    const s = new RandomStream('u', 11);
    let sum = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) sum += s.nextFloat();
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    const p = s.permutation(1000);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...p]).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('normal noise has mean 0 and variance 1', () => {
    const s = new RandomStream('moments', 5);
    const x = s.normal([50_000]);
    const { mean, variance } = tf.moments(x);
    expect(Math.abs(mean.dataSync()[0]!)).toBeLessThan(0.02);
    expect(Math.abs(variance.dataSync()[0]! - 1)).toBeLessThan(0.03);
  });
});

describe('RandomStreams', () => {
  it('round-trips the state of every stream', () => {
    const a = new RandomStreams(42);
    a.stream('noise').nextUint32();
    a.stream('noise').nextUint32();
    a.stream('eval').nextUint32();
    const b = new RandomStreams(42);
    b.restore(a.state());
    expect(b.state()).toEqual({ noise: 2, eval: 1 });
    expect(b.stream('noise').nextUint32()).toBe(a.stream('noise').nextUint32());
  });

  it('rejects a seed that is not a non-negative integer', () => {
    expect(() => new RandomStreams(-1)).toThrow(/non-negative integer/);
    expect(() => new RandomStreams(1.5)).toThrow(/non-negative integer/);
  });
});
