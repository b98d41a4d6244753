import * as tf from '@tensorflow/tfjs';
import { RandomStream, ShapeError, type DataSplit } from '@vaelab/core';

/*
 * Seeded batching with an exact-resume cursor. The order of epoch e is a permutation that depends
 * only on (seed, e), so a run resumed at (epoch, batchIndex) sees exactly the batches it would have
 * seen had it never stopped, without replaying any random draws.
 */

function checkPositiveInt(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${fn}: ${name} must be a positive integer, got ${v}`);
}

function checkNonNegativeInt(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${fn}: ${name} must be a non-negative integer, got ${v}`);
}

/** The example order of epoch `epoch`: a permutation of 0..size-1 that depends only on (seed, epoch). */
export function epochPermutation(size: number, seed: number, epoch: number): Int32Array {
  checkNonNegativeInt('epochPermutation', 'size', size);
  checkNonNegativeInt('epochPermutation', 'epoch', epoch);
  return new RandomStream(`data/epoch-${epoch}`, seed).permutation(size);
}

/** Batches per epoch: ceil(size / batchSize), or floor with `dropLast` (the last, short batch is dropped). */
export function numBatches(size: number, batchSize: number, dropLast = false): number {
  checkNonNegativeInt('numBatches', 'size', size);
  checkPositiveInt('numBatches', 'batchSize', batchSize);
  return dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
}

/** The indices of batch `batchIndex` within an epoch order: a view of `order`, not a copy. */
export function batchIndices(order: Int32Array, batchIndex: number, batchSize: number, size = order.length): Int32Array {
  checkPositiveInt('batchIndices', 'batchSize', batchSize);
  checkNonNegativeInt('batchIndices', 'batchIndex', batchIndex);
  if (size > order.length) throw new RangeError(`batchIndices: size ${size} exceeds the order's length ${order.length}`);
  const start = batchIndex * batchSize;
  if (start >= size) {
    throw new RangeError(`batchIndices: batch ${batchIndex} starts at ${start}, past the end of ${size} examples`);
  }
  return order.subarray(start, Math.min(start + batchSize, size));
}

export interface Batch {
  /** [n, ...shape] float32. */
  x: tf.Tensor;
  /** [n] int32, when the split has labels. */
  labels?: tf.Tensor1D;
}

/**
 * The examples at `indices` as one tensor [indices.length, ...shape] (and their labels). Rows are
 * copied into one Float32Array, then handed to tfjs in a single call. The caller disposes the tensors.
 */
export function gatherBatch(split: DataSplit, shape: number[], indices: Int32Array | number[]): Batch {
  let d = 1;
  for (const s of shape) d *= s;
  if (split.x.length !== split.size * d) {
    throw new ShapeError(
      `gatherBatch: split holds ${split.x.length} values, but ${split.size} examples of shape [${shape.join(', ')}] need ${split.size * d}`,
    );
  }
  const n = indices.length;
  const x = new Float32Array(n * d);
  const src = split.x;
  const srcLabels = split.labels;
  const labels = srcLabels ? new Int32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const j = indices[i]!;
    if (!(j >= 0 && j < split.size) || !Number.isInteger(j)) {
      throw new RangeError(`gatherBatch: index ${j} at position ${i} is outside 0..${split.size - 1}`);
    }
    x.set(src.subarray(j * d, j * d + d), i * d);
    if (labels) labels[i] = srcLabels![j]!;
  }
  const out: Batch = { x: tf.tensor(x, [n, ...shape], 'float32') };
  if (labels) out.labels = tf.tensor1d(labels, 'int32');
  return out;
}

export interface EvalRange {
  /** Position of this batch among the split's batches. */
  readonly batchIndex: number;
  /** First example (inclusive). */
  readonly start: number;
  /** Last example (exclusive). */
  readonly end: number;
  /** start..end-1, ready for gatherBatch. */
  readonly indices: Int32Array;
}

/** The split in its stored order, in batches of `batchSize` (the last one may be shorter). */
export function* evalBatches(split: DataSplit | number, batchSize: number): Generator<EvalRange> {
  const size = typeof split === 'number' ? split : split.size;
  checkNonNegativeInt('evalBatches', 'size', size);
  checkPositiveInt('evalBatches', 'batchSize', batchSize);
  for (let b = 0, start = 0; start < size; b++, start += batchSize) {
    const end = Math.min(start + batchSize, size);
    const indices = new Int32Array(end - start);
    for (let i = 0; i < indices.length; i++) indices[i] = start + i;
    yield { batchIndex: b, start, end, indices };
  }
}

/** Where a training run is in its data: the next batch to draw. Checkpoint it to resume exactly. */
export interface DataCursor {
  readonly epoch: number;
  readonly batchIndex: number;
}

export interface EpochBatcherOptions {
  /** Examples in the training split. */
  size: number;
  batchSize: number;
  /** The run seed. */
  seed: number;
  /** Drop the last, short batch of each epoch. Default false. */
  dropLast?: boolean;
  /** Where to start (a checkpointed `cursor`). Default { epoch: 0, batchIndex: 0 }. */
  cursor?: DataCursor;
}

export interface EpochBatch {
  readonly epoch: number;
  readonly batchIndex: number;
  /** Whether this is the epoch's last batch. */
  readonly last: boolean;
  readonly indices: Int32Array;
}

/**
 * Draws training batches epoch after epoch in seeded order. `cursor` names the next batch;
 * a new batcher built with a saved cursor continues exactly where the old one stopped.
 */
export class EpochBatcher {
  readonly size: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Batches per epoch. */
  readonly batchesPerEpoch: number;
  private epoch: number;
  private batchIndex: number;
  private order: Int32Array | null = null;
  private orderEpoch = -1;

  constructor(opts: EpochBatcherOptions) {
    this.size = opts.size;
    this.batchSize = opts.batchSize;
    this.seed = opts.seed;
    this.dropLast = opts.dropLast ?? false;
    this.batchesPerEpoch = numBatches(opts.size, opts.batchSize, this.dropLast);
    if (this.batchesPerEpoch === 0) {
      throw new RangeError(
        `EpochBatcher: ${opts.size} examples make no batch of ${opts.batchSize}${this.dropLast ? ' with dropLast' : ''}`,
      );
    }
    const c = opts.cursor ?? { epoch: 0, batchIndex: 0 };
    checkNonNegativeInt('EpochBatcher', 'cursor.epoch', c.epoch);
    checkNonNegativeInt('EpochBatcher', 'cursor.batchIndex', c.batchIndex);
    if (c.batchIndex > this.batchesPerEpoch) {
      throw new RangeError(`EpochBatcher: cursor.batchIndex ${c.batchIndex} exceeds ${this.batchesPerEpoch} batches per epoch`);
    }
    // batchIndex === batchesPerEpoch (saved right after an epoch's last batch) means "next epoch"
    this.epoch = c.batchIndex === this.batchesPerEpoch ? c.epoch + 1 : c.epoch;
    this.batchIndex = c.batchIndex === this.batchesPerEpoch ? 0 : c.batchIndex;
  }

  /** The next batch to draw. */
  get cursor(): DataCursor {
    return { epoch: this.epoch, batchIndex: this.batchIndex };
  }

  /** The order of `epoch` (cached for the current epoch). */
  orderOf(epoch: number): Int32Array {
    if (this.orderEpoch !== epoch || this.order === null) {
      this.order = epochPermutation(this.size, this.seed, epoch);
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  /** Draw the batch at the cursor and advance it (into the next epoch after the last batch). */
  next(): EpochBatch {
    const epoch = this.epoch;
    const batchIndex = this.batchIndex;
    const indices = batchIndices(this.orderOf(epoch), batchIndex, this.batchSize, this.size);
    const last = batchIndex === this.batchesPerEpoch - 1;
    if (last) {
      this.epoch++;
      this.batchIndex = 0;
    } else {
      this.batchIndex++;
    }
    return { epoch, batchIndex, last, indices };
  }
}
