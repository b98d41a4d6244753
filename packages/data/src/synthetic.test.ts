import { RandomStream } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { makeSynthetic, SYNTHETIC_PATTERNS } from './synthetic.js';

const opts = { nTrain: 200, nTest: 50, size: 8 };

describe('makeSynthetic', () => {
  it('has the declared shapes, levels and labels', () => {
    const ds = makeSynthetic(opts, new RandomStream('synthetic', 1));
    expect(ds.name).toBe('synthetic');
    expect(ds.shape).toEqual([8, 8, 1]);
    expect(ds.levels).toBeNull();
    expect(ds.train.size).toBe(200);
    expect(ds.train.x.length).toBe(200 * 64);
    expect(ds.test.size).toBe(50);
    expect(ds.test.x.length).toBe(50 * 64);
    const labels = new Set(ds.train.labels);
    expect([...labels].sort()).toEqual([0, 1, 2, 3]);
    expect(SYNTHETIC_PATTERNS.length).toBe(4);
  });

  it('is deterministic: same seed gives identical bytes, another seed differs', () => {
    const a = makeSynthetic(opts, new RandomStream('synthetic', 7));
    const b = makeSynthetic(opts, new RandomStream('synthetic', 7));
    const c = makeSynthetic(opts, new RandomStream('synthetic', 8));
    const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    expect(bytes(a.train.x).equals(bytes(b.train.x))).toBe(true);
    expect(bytes(a.test.x).equals(bytes(b.test.x))).toBe(true);
    expect(Array.from(a.train.labels!)).toEqual(Array.from(b.train.labels!));
    expect(bytes(a.train.x).equals(bytes(c.train.x))).toBe(false);
    expect(bytes(a.test.x).equals(bytes(c.test.x))).toBe(false);
  });

  it('keeps values in [0, 1] with real structure (a bright pattern over a dark background)', () => {
    const ds = makeSynthetic({ nTrain: 100, nTest: 10, size: 12 }, new RandomStream('synthetic', 3));
    let min = Infinity;
    let max = -Infinity;
    for (const v of ds.train.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(1);
    const d = 144;
    for (let i = 0; i < ds.train.size; i++) {
      const img = Array.from(ds.train.x.subarray(i * d, (i + 1) * d)).sort((p, q) => p - q);
      // background (median) near zero, peak at least the minimum intensity minus noise
      expect(img[d / 2]!).toBeLessThan(0.3);
      expect(img[d - 1]!).toBeGreaterThan(0.4);
    }
  });

  it('patterns differ on average: a horizontal bar spreads over columns, a vertical one over rows', () => {
    const size = 8;
    const ds = makeSynthetic({ nTrain: 400, nTest: 1, size }, new RandomStream('synthetic', 5));
    // for each image, the spread of bright pixels along rows vs columns
    const spread = (label: number) => {
      let rows = 0;
      let cols = 0;
      for (let i = 0; i < ds.train.size; i++) {
        if (ds.train.labels![i] !== label) continue;
        const rs = new Set<number>();
        const cs = new Set<number>();
        for (let k = 0; k < size * size; k++) {
          if (ds.train.x[i * size * size + k]! > 0.3) {
            rs.add(Math.floor(k / size));
            cs.add(k % size);
          }
        }
        rows += rs.size;
        cols += cs.size;
      }
      return cols / rows;
    };
    expect(spread(0)).toBeGreaterThan(2);
    expect(spread(1)).toBeLessThan(0.5);
  });

  it('rejects bad sizes', () => {
    const rng = new RandomStream('synthetic', 1);
    expect(() => makeSynthetic({ nTrain: 0, nTest: 1, size: 8 }, rng)).toThrowError(/nTrain must be an integer >= 1, got 0/);
    expect(() => makeSynthetic({ nTrain: 1, nTest: 1, size: 3 }, rng)).toThrowError(/size must be an integer >= 4/);
  });
});
