import { type Dataset, type DataSplit, RandomStream, VaeLabError, sizeOf } from '@vaelab/core';
import { byteSplit } from './bytes.js';

/** A dataset whose training split has had a validation split carved out of it. */
export type ValidatedDataset = Dataset & {
  readonly validation: DataSplit;
  /** Positions in the original training split of the validation examples, ascending. */
  readonly validationIndices: Int32Array;
};

/** The validation spec is not a count or a fraction, or leaves an empty split. */
export class ValidationSplitError extends VaeLabError {}

/** How many examples `spec` asks for out of `trainSize`: a count (integer ≥ 1) or a fraction in (0, 1). */
export function validationCount(spec: number, trainSize: number): number {
  let count: number;
  if (Number.isInteger(spec) && spec >= 1) count = spec;
  else if (Number.isFinite(spec) && spec > 0 && spec < 1) count = Math.round(spec * trainSize);
  else {
    throw new ValidationSplitError(
      `validation split ${spec} is neither a count (an integer ≥ 1) nor a fraction of the training split (a number in (0, 1))`,
    );
  }
  if (count < 1) {
    throw new ValidationSplitError(
      `validation split ${spec} of ${trainSize} training examples rounds to 0 examples; use a larger fraction or a count`,
    );
  }
  if (count >= trainSize) {
    throw new ValidationSplitError(
      `validation split ${spec} takes ${count} of the ${trainSize} training examples and leaves none to train on; it must be smaller than the training split`,
    );
  }
  return count;
}

/** Rows `indices` of a row-major array of rows of `d` values, copied in that order. */
function rows<T extends Float32Array | Uint8Array>(src: T, d: number, indices: Int32Array, out: T): T {
  indices.forEach((j, i) => out.set(src.subarray(j * d, j * d + d), i * d));
  return out;
}

/** The examples at `indices`, copied, held as the split holds them (bytes or float32). */
function gather(split: DataSplit, d: number, indices: Int32Array): DataSplit {
  const n = indices.length;
  const labels = split.labels ? Int32Array.from(indices, (j) => split.labels![j]!) : undefined;
  if (split.bytes) return byteSplit(n, rows(split.bytes, d, indices, new Uint8Array(n * d)), labels);
  const x = rows(split.x, d, indices, new Float32Array(n * d));
  return labels ? { size: n, x, labels } : { size: n, x };
}

/**
 * Carve a validation split out of the training split: a uniformly random subset of `spec`
 * examples (a count if an integer ≥ 1, a fraction if in (0, 1)), chosen by the seeded stream
 * 'data/validation' so that the same seed picks the same examples. Both splits keep the original
 * order of their examples (copies, not views). The test split is untouched.
 */
export function withValidationSplit(dataset: Dataset, spec: number, seed: number): ValidatedDataset {
  const n = dataset.train.size;
  const count = validationCount(spec, n);
  const order = new RandomStream('data/validation', seed).permutation(n);
  const validationIndices = order.slice(0, count).sort();
  const chosen = new Uint8Array(n);
  for (const j of validationIndices) chosen[j] = 1;
  const trainIndices = new Int32Array(n - count);
  for (let j = 0, k = 0; j < n; j++) if (!chosen[j]) trainIndices[k++] = j;
  const d = sizeOf(dataset.shape);
  const out: ValidatedDataset = {
    ...dataset,
    train: gather(dataset.train, d, trainIndices),
    validation: gather(dataset.train, d, validationIndices),
    validationIndices,
  };
  // keep a transform that lives on a prototype (class-based datasets), not only own properties
  if (dataset.transform && !out.transform) return { ...out, transform: dataset.transform.bind(dataset) };
  return out;
}

/** Whether a dataset carries a validation split. */
export function hasValidation(dataset: Dataset): dataset is ValidatedDataset {
  const v = (dataset as Partial<ValidatedDataset>).validation;
  return v !== undefined && v !== null && typeof v.size === 'number';
}
