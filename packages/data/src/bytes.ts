import type { DataSplit } from '@vaelab/core';

/*
 * 8-bit splits. MNIST-style files hold one byte per pixel; the float32 values x = byte / 255 take
 * four times the memory, and building them for 60,000 images costs about a second on this
 * project's machine (touching ~190 MB of fresh pages, measured in the data package README). A byte
 * split keeps the bytes and builds `x` only when something reads it: batches, subsets and the
 * validation split copy bytes, and convert one batch at a time to the same float32 values.
 */

/** byte -> byte / 255 as float32: the value of every 8-bit level, looked up rather than divided per pixel. */
export const BYTE_LEVELS: Float32Array = Float32Array.from({ length: 256 }, (_, b) => b / 255);

/** x[i] = BYTE_LEVELS[bytes[i]] for a run of values: the one conversion every byte reader uses. */
export function bytesToUnit(bytes: Uint8Array, out: Float32Array = new Float32Array(bytes.length), offset = 0): Float32Array {
  for (let i = 0; i < bytes.length; i++) out[offset + i] = BYTE_LEVELS[bytes[i]!]!;
  return out;
}

/**
 * A split of `size` examples held as bytes (`bytes.length` = size · values per example), with
 * `x` = bytes / 255 built on first read and kept. Labels, when given, are used as they are.
 */
export function byteSplit(size: number, bytes: Uint8Array, labels?: Int32Array): DataSplit {
  let x: Float32Array | null = null;
  const split = {
    size,
    bytes,
    get x(): Float32Array {
      x ??= bytesToUnit(bytes);
      return x;
    },
  };
  return labels ? Object.assign(split, { labels }) : split;
}
