import type { DataSplit } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { gatherBatch } from './batches.js';
import { BYTE_LEVELS, byteSplit, bytesToUnit } from './bytes.js';
import { loadMnist } from './mnist.js';
import { takeFirst } from './subset.js';
import { withValidationSplit } from './validation-split.js';

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** A byte split that counts how often its float32 x is read. */
function counted(size: number, bytes: Uint8Array, labels?: Int32Array): { split: DataSplit; reads: () => number } {
  const inner = byteSplit(size, bytes, labels);
  let n = 0;
  const split = {
    size,
    bytes: inner.bytes,
    get x() {
      n++;
      return inner.x;
    },
    ...(labels ? { labels } : {}),
  };
  return { split, reads: () => n };
}

describe('byte splits', () => {
  const d = 6;
  const bytes = Uint8Array.from({ length: 5 * d }, (_, i) => (i * 37) % 256);
  const labels = Int32Array.from([3, 1, 4, 1, 5]);

  it('x is bytes / 255 in float32, built once on first read', () => {
    const split = byteSplit(5, bytes, labels);
    expect(split.bytes).toBe(bytes);
    const x = split.x;
    expect(split.x).toBe(x);
    expect(bitsOf(x)).toEqual(bitsOf(Float32Array.from(bytes, (b) => b / 255)));
    expect(BYTE_LEVELS[255]).toBe(1);
    expect(bitsOf(bytesToUnit(Uint8Array.from([0, 1, 128, 255])))).toEqual(bitsOf(Float32Array.from([0, 1 / 255, 128 / 255, 1])));
  });

  it('gatherBatch gives the same float32 values from the bytes as from x, without building x', async () => {
    const { split, reads } = counted(5, bytes, labels);
    const fromBytes = gatherBatch(split, [2, 3], [4, 0, 2]);
    expect(reads()).toBe(0);
    const plain: DataSplit = { size: 5, x: Float32Array.from(bytes, (b) => b / 255), labels };
    const fromFloats = gatherBatch(plain, [2, 3], [4, 0, 2]);
    expect(fromBytes.x.shape).toEqual([3, 2, 3]);
    expect(bitsOf((await fromBytes.x.data()) as Float32Array)).toEqual(bitsOf((await fromFloats.x.data()) as Float32Array));
    expect(Array.from(await fromBytes.labels!.data())).toEqual([5, 3, 4]);
    expect(() => gatherBatch(split, [7], [0])).toThrow(/split holds 30 values, but 5 examples of shape \[7\] need 35/);
    for (const t of [fromBytes.x, fromBytes.labels!, fromFloats.x, fromFloats.labels!]) t.dispose();
  });

  it('takeFirst and the validation split keep bytes (views and copies of them) and do not build x', () => {
    const { split, reads } = counted(5, bytes, labels);
    const first = takeFirst(split, 2, [d]);
    expect(first.size).toBe(2);
    expect(Array.from(first.bytes!)).toEqual(Array.from(bytes.subarray(0, 2 * d)));
    expect(Array.from(first.labels!)).toEqual([3, 1]);
    const ds = withValidationSplit({ name: 'b', shape: [d], levels: 256, train: split, test: split }, 2, 1);
    expect(reads()).toBe(0);
    expect(ds.validation.size + ds.train.size).toBe(5);
    for (const part of [ds.validation, ds.train]) {
      expect(part.bytes!.length).toBe(part.size * d);
      // each example's bytes and label come from the same source row
      for (let i = 0; i < part.size; i++) {
        const row = Array.from(part.bytes!.subarray(i * d, i * d + d));
        const j = Array.from({ length: 5 }, (_, k) => k).find((k) => Array.from(bytes.subarray(k * d, k * d + d)).join() === row.join())!;
        expect(part.labels![i]).toBe(labels[j]);
      }
      expect(bitsOf(part.x)).toEqual(bitsOf(Float32Array.from(part.bytes!, (b) => b / 255)));
    }
  });

  it('loadMnist returns byte splits: bytes are the file, x = bytes / 255', () => {
    const ds = loadMnist({ trainLimit: 3, testLimit: 2 });
    expect(ds.train.bytes).toBeInstanceOf(Uint8Array);
    expect(ds.train.bytes!.length).toBe(3 * 784);
    expect(ds.test.bytes!.length).toBe(2 * 784);
    expect(bitsOf(ds.train.x)).toEqual(bitsOf(Float32Array.from(ds.train.bytes!, (b) => b / 255)));
    expect(Math.max(...ds.train.bytes!)).toBe(255);
  });
});
