import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Dataset } from '@vaelab/core';
import { DatasetNotFoundError } from './errors.js';
import { MNIST_FILES, loadMnist } from './mnist.js';

/** Where Debian's `dataset-fashion-mnist` package puts the four gzipped IDX files. */
export const FASHION_MNIST_DEBIAN_FOLDER = '/usr/share/datasets/fashion-mnist';

/** The ten classes, in label order (Xiao et al. 2017). */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

export interface FashionMnistOptions {
  /** Folder holding the four IDX files (MNIST's file names); relative paths resolve against `cwd`. Default: Debian's folder. */
  path?: string;
  trainLimit?: number | null;
  testLimit?: number | null;
  cwd?: string;
}

const HOW_TO_GET =
  'To get them: `apt-get install dataset-fashion-mnist` (Debian puts them in ' +
  `${FASHION_MNIST_DEBIAN_FOLDER}), or set \`data.path\` to a folder holding the four IDX files ` +
  `(${Object.values(MNIST_FILES).join(', ')}, optionally .gz), as https://github.com/zalandoresearch/fashion-mnist ships them.`;

/**
 * Fashion-MNIST (Xiao et al. 2017): 28×28 grey-level images of ten kinds of clothing in MNIST's
 * IDX format and layout, so MNIST's reader loads it: pixels byte / 255 in [0, 1], shape
 * [28, 28, 1], `levels: 256`, labels 0-9 (`FASHION_MNIST_CLASSES`).
 */
export function loadFashionMnist(opts: FashionMnistOptions = {}): Dataset {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const folder = opts.path !== undefined ? resolve(cwd, opts.path) : FASHION_MNIST_DEBIAN_FOLDER;
  const missing = Object.values(MNIST_FILES).filter((f) => !existsSync(join(folder, f)) && !existsSync(join(folder, `${f}.gz`)));
  if (missing.length > 0) {
    const where = opts.path !== undefined ? `in ${folder} (data.path)` : `in ${folder} (no data.path given)`;
    throw new DatasetNotFoundError(`Fashion-MNIST files missing ${where}: ${missing.join(', ')}. ${HOW_TO_GET}`, folder, missing);
  }
  const mnist = loadMnist({
    path: folder,
    cwd,
    ...(opts.trainLimit !== undefined ? { trainLimit: opts.trainLimit } : {}),
    ...(opts.testLimit !== undefined ? { testLimit: opts.testLimit } : {}),
  });
  return { ...mnist, name: 'fashion_mnist', numClasses: FASHION_MNIST_CLASSES.length };
}
