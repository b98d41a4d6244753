import { describe, expect, it } from 'vitest';
import { dimensionsByKl, traversalCodes } from './traverse.js';

describe('traversalCodes', () => {
  it('one row per chosen dimension, each varying only its dimension over the range', () => {
    const base = [0.5, -1, 2, 0];
    const dims = [2, 0];
    const steps = 5;
    const codes = traversalCodes(base, dims, [-2, 2], steps);
    expect(codes.length).toBe(dims.length * steps * base.length);
    dims.forEach((d, row) => {
      for (let s = 0; s < steps; s++) {
        const code = Array.from(codes.subarray((row * steps + s) * 4, (row * steps + s + 1) * 4));
        code.forEach((v, j) => expect(v).toBeCloseTo(j === d ? -2 + s : base[j]!, 6));
      }
    });
  });

  it('rejects an empty list, a dimension out of range, a reversed range and too few steps', () => {
    expect(() => traversalCodes([0, 0], [], [-3, 3], 9)).toThrow(/no dimensions/);
    expect(() => traversalCodes([0, 0], [2], [-3, 3], 9)).toThrow(/dimension 2 is not in 0\.\.1/);
    expect(() => traversalCodes([0, 0], [0], [3, -3], 9)).toThrow(/low < high/);
    expect(() => traversalCodes([0, 0], [0], [-3, 3], 1)).toThrow(/steps/);
  });
});

describe('dimensionsByKl', () => {
  it('orders dimensions by KL, largest first, ties in index order, and keeps the first count', () => {
    expect(dimensionsByKl([0.1, 3, 0.1, 7])).toEqual([3, 1, 0, 2]);
    expect(dimensionsByKl([0.1, 3, 0.1, 7], 2)).toEqual([3, 1]);
  });
});
