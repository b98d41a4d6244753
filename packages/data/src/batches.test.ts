import * as tf from '@tensorflow/tfjs-core';
import type { DataSplit } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { batchIndices, epochPermutation, evalBatches, gatherBatch, numBatches } from './batches.js';

function isPermutation(p: Int32Array, n: number): boolean {
  if (p.length !== n) return false;
  const seen = new Uint8Array(n);
  for (const v of p) {
    if (v < 0 || v >= n || seen[v]) return false;
    seen[v] = 1;
  }
  return true;
}

/** A split of `size` examples of shape [2, 3]: value k of example i is 10 * i + k; label i * 2. */
function split(size: number): DataSplit {
  const x = new Float32Array(size * 6);
  for (let i = 0; i < x.length; i++) x[i] = 10 * Math.floor(i / 6) + (i % 6);
  return { size, x, labels: Int32Array.from({ length: size }, (_, i) => i * 2) };
}

describe('epochPermutation', () => {
  it('is a permutation, deterministic in (seed, epoch), different across epochs and seeds', () => {
    const a = epochPermutation(1000, 42, 0);
    expect(isPermutation(a, 1000)).toBe(true);
    expect(Array.from(epochPermutation(1000, 42, 0))).toEqual(Array.from(a));
    const b = epochPermutation(1000, 42, 1);
    expect(isPermutation(b, 1000)).toBe(true);
    expect(Array.from(b)).not.toEqual(Array.from(a));
    expect(Array.from(epochPermutation(1000, 43, 0))).not.toEqual(Array.from(a));
    // not the identity
    expect(a.some((v, i) => v !== i)).toBe(true);
  });
});

describe('numBatches and batchIndices', () => {
  it('count batches with and without dropLast', () => {
    expect(numBatches(10, 3)).toBe(4);
    expect(numBatches(10, 3, true)).toBe(3);
    expect(numBatches(9, 3, false)).toBe(3);
    expect(numBatches(2, 3, true)).toBe(0);
    expect(() => numBatches(10, 0)).toThrowError(/batchSize must be a positive integer/);
  });

  it('slice the order, the last batch short', () => {
    const order = Int32Array.from([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(Array.from(batchIndices(order, 0, 3, 10))).toEqual([9, 8, 7]);
    expect(Array.from(batchIndices(order, 3, 3, 10))).toEqual([0]);
    expect(() => batchIndices(order, 4, 3, 10)).toThrowError(/batch 4 starts at 12/);
  });
});

describe('gatherBatch', () => {
  it('builds [n, ...shape] whose rows match the source, with labels', () => {
    const s = split(7);
    const { x, labels } = gatherBatch(s, [2, 3], Int32Array.from([5, 0, 3]));
    expect(x.shape).toEqual([3, 2, 3]);
    expect(x.dtype).toBe('float32');
    const rows = x.arraySync() as number[][][];
    expect(rows[0]!.flat()).toEqual([50, 51, 52, 53, 54, 55]);
    expect(rows[1]!.flat()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rows[2]!.flat()).toEqual([30, 31, 32, 33, 34, 35]);
    expect(labels!.dtype).toBe('int32');
    expect(Array.from(labels!.dataSync())).toEqual([10, 0, 6]);
    x.dispose();
    labels!.dispose();
  });

  it('each batch keeps its own values when the next one is gathered, on wasm and on cpu', async () => {
    const s = split(7);
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const first = gatherBatch(s, [2, 3], [1, 2]);
      const second = gatherBatch(s, [2, 3], [6, 4, 0]);
      expect((first.x.arraySync() as number[][][]).map((r) => r.flat()[0])).toEqual([10, 20]);
      expect((second.x.arraySync() as number[][][]).map((r) => r.flat()[0])).toEqual([60, 40, 0]);
      tf.dispose([first.x, first.labels!, second.x, second.labels!]);
    }
    await tf.setBackend('wasm');
  });

  it('omits labels for an unlabelled split and accepts number[] indices', () => {
    const s = { size: 3, x: split(3).x };
    const before = tf.memory().numTensors;
    const b = gatherBatch(s, [6], [2, 2]);
    expect(b.labels).toBeUndefined();
    expect(b.x.shape).toEqual([2, 6]);
    expect(Array.from(b.x.dataSync()).slice(0, 6)).toEqual([20, 21, 22, 23, 24, 25]);
    b.x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects an index out of range and a shape that does not fit the split', () => {
    expect(() => gatherBatch(split(3), [2, 3], [0, 3])).toThrowError(/index 3 at position 1 is outside 0..2/);
    expect(() => gatherBatch(split(3), [2, 2], [0])).toThrowError(/18 values.*need 12/);
  });
});

describe('evalBatches', () => {
  it('covers the split in order in batches', () => {
    const ranges = [...evalBatches(split(7), 3)];
    expect(ranges.map((r) => [r.batchIndex, r.start, r.end])).toEqual([
      [0, 0, 3],
      [1, 3, 6],
      [2, 6, 7],
    ]);
    expect(Array.from(ranges[1]!.indices)).toEqual([3, 4, 5]);
    expect([...evalBatches(0, 4)]).toEqual([]);
  });
});

