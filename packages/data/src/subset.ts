import { type Dataset, type DataSplit, sizeOf } from '@vaelab/core';
import { byteSplit } from './bytes.js';

/** The first `n` examples of a split (all of them when n is null or at least the split's size). Views, no copies. */
export function takeFirst(split: DataSplit, n: number | null, shape: number[]): DataSplit {
  if (n === null || n >= split.size) return split;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`takeFirst: n must be a non-negative integer or null, got ${n}`);
  const d = sizeOf(shape);
  if (split.bytes) return byteSplit(n, split.bytes.subarray(0, n * d), split.labels?.subarray(0, n));
  const out: { size: number; x: Float32Array; labels?: Int32Array } = { size: n, x: split.x.subarray(0, n * d) };
  if (split.labels) out.labels = split.labels.subarray(0, n);
  return out;
}

/** A dataset keeping only the first `trainLimit` training and `testLimit` test examples. */
export function limitDataset(ds: Dataset, trainLimit: number | null, testLimit: number | null): Dataset {
  if (trainLimit === null && testLimit === null) return ds;
  const out: Dataset = {
    ...ds,
    train: takeFirst(ds.train, trainLimit, ds.shape),
    test: takeFirst(ds.test, testLimit, ds.shape),
  };
  // keep a transform that lives on a prototype (class-based datasets), not only own properties
  if (ds.transform && !out.transform) return { ...out, transform: ds.transform.bind(ds) };
  return out;
}
