import * as tf from '@tensorflow/tfjs-core';
import { type Dataset, type DataSplit, RandomStream, VaeLabError } from '@vaelab/core';

/*
 * Binarized data: every value x ∈ [0, 1] is read as the probability of a 1, and replaced by a
 * draw b ~ Bernoulli(x). Two conventions exist for MNIST:
 *   - dynamic (Burda et al. 2016, and most IWAE/VAE reproductions): every training batch is
 *     binarized afresh, so the model never sees the same binary image twice;
 *   - static (Larochelle & Murray 2011): the dataset is binarized once and fixed.
 * The Larochelle & Murray files are not available offline, so the static variant is binarized
 * here, once, from `binarize_seed`; it is a statically binarized MNIST, not *the* one.
 */

export type Binarization = 'dynamic' | 'static';

export const BINARIZATIONS: readonly Binarization[] = ['dynamic', 'static'];

/** Stream names of the one-off binarizations: the same seed gives the same binary test set in both modes. */
export const BINARIZE_STREAMS = { train: 'binarize/train', test: 'binarize/test' } as const;

/**
 * A binary copy of a split: value i becomes 1 when u_i < x_i, with u_i uniform in [0, 1) drawn from
 * `rng` in order. Pure JS, so identical on every backend; example n uses draws n·D .. (n+1)·D − 1,
 * so the binarization of the first N examples does not depend on how many follow.
 */
export function binarizeSplit(split: DataSplit, rng: RandomStream): DataSplit {
  const x = new Float32Array(split.x.length);
  const src = split.x;
  for (let i = 0; i < src.length; i++) x[i] = rng.nextFloat() < src[i]! ? 1 : 0;
  return split.labels ? { size: split.size, x, labels: split.labels } : { size: split.size, x };
}

/** b ~ Bernoulli(x) elementwise, from one seed of `rng`: x: any shape of values in [0, 1] -> float32 0/1. */
export function bernoulliBinarize(x: tf.Tensor, rng: RandomStream): tf.Tensor {
  return tf.tidy(() => tf.cast(tf.less(rng.uniform(x.shape), x), 'float32'));
}

function checkUnitInterval(name: string, split: DataSplit): void {
  const x = split.x;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!(v >= 0 && v <= 1)) {
      throw new VaeLabError(`binarize: ${name} split value ${v} at index ${i} is outside [0, 1]; only grey levels in [0, 1] can be binarized`);
    }
  }
}

export interface BinarizeOptions {
  binarization: Binarization;
  /** Seed of the one-off binarizations (static: both splits; dynamic: the test split). */
  seed: number;
  /** Name of the resulting dataset (default `binarized_<name>`). */
  name?: string;
}

/**
 * A binarized version of a dataset of grey levels in [0, 1] (`levels: 2`).
 *
 * - `static`: both splits are binarized once from `seed` (streams `binarize/train` and
 *   `binarize/test`); no transform.
 * - `dynamic`: the training split keeps its grey levels, and `transform` draws a fresh
 *   Bernoulli sample of every batch from the rng the trainer passes (its `data/transform` stream,
 *   which checkpoints hold, so a resumed run sees the same draws). The test split is binarized once
 *   from `seed`, as for `static`, so that every evaluation sees the same binary test set. The
 *   transform is applied to evaluation batches too: on the already binary test split it changes
 *   nothing (Bernoulli(0) = 0, Bernoulli(1) = 1); on the training split it draws one binarization.
 */
export function binarizeDataset(ds: Dataset, opts: BinarizeOptions): Dataset {
  if (!BINARIZATIONS.includes(opts.binarization)) {
    throw new VaeLabError(`binarize: binarization must be one of ${BINARIZATIONS.join(', ')}, got '${String(opts.binarization)}'`);
  }
  if (!Number.isInteger(opts.seed) || opts.seed < 0) {
    throw new VaeLabError(`binarize: seed must be a non-negative integer, got ${String(opts.seed)}`);
  }
  checkUnitInterval('train', ds.train);
  checkUnitInterval('test', ds.test);
  const name = opts.name ?? `binarized_${ds.name}`;
  const classes = ds.numClasses !== undefined ? { numClasses: ds.numClasses } : {};
  const test = binarizeSplit(ds.test, new RandomStream(BINARIZE_STREAMS.test, opts.seed));
  if (opts.binarization === 'static') {
    const train = binarizeSplit(ds.train, new RandomStream(BINARIZE_STREAMS.train, opts.seed));
    return { name, shape: ds.shape, levels: 2, ...classes, train, test };
  }
  return {
    name,
    shape: ds.shape,
    levels: 2,
    ...classes,
    train: ds.train,
    test,
    transform: (x, rng) => bernoulliBinarize(x, rng),
  };
}
