import { VaeLabError, type Dataset, type DataSplit, type RandomStream } from '@vaelab/core';

/*
 * A small generated dataset with learnable structure: each image shows one of a few patterns
 * (label = pattern index) at a random position with a random intensity, plus a little uniform
 * noise. Pure JS drawing from one RandomStream, so it is identical on every backend.
 */

/** Pattern names, in label order. */
export const SYNTHETIC_PATTERNS = ['horizontal_bar', 'vertical_bar', 'blob', 'square'] as const;

export interface SyntheticOptions {
  /** Training examples. */
  nTrain: number;
  /** Test examples. */
  nTest: number;
  /** Image side: images are [size, size, 1]. At least 4. */
  size: number;
}

/** Peak intensity is drawn uniformly from [MIN_INTENSITY, 1). */
const MIN_INTENSITY = 0.5;
/** Noise is uniform in [-NOISE, NOISE), added to every pixel before clipping to [0, 1]. */
const NOISE = 0.05;

/** Draw an integer uniformly in [0, n). */
function int(rng: RandomStream, n: number): number {
  return Math.floor(rng.nextFloat() * n);
}

/**
 * Paint one example into `out` (size*size values, already zero). Always makes 3 + size*size draws
 * (plus the pattern draw before it), so an example depends only on where in the stream it starts.
 */
function paint(out: Float32Array, size: number, pattern: number, rng: RandomStream): void {
  const intensity = MIN_INTENSITY + (1 - MIN_INTENSITY) * rng.nextFloat();
  const u = rng.nextFloat();
  const v = rng.nextFloat();
  const len = Math.max(2, Math.ceil(size / 2));
  const thick = Math.max(1, Math.round(size / 8));
  const set = (r: number, c: number, val: number): void => {
    if (r >= 0 && r < size && c >= 0 && c < size) out[r * size + c] = Math.max(out[r * size + c]!, val);
  };
  switch (pattern) {
    case 0: {
      // horizontal bar: `thick` rows, `len` columns
      const r0 = Math.floor(u * (size - thick + 1));
      const c0 = Math.floor(v * (size - len + 1));
      for (let r = r0; r < r0 + thick; r++) for (let c = c0; c < c0 + len; c++) set(r, c, 1);
      break;
    }
    case 1: {
      // vertical bar
      const c0 = Math.floor(u * (size - thick + 1));
      const r0 = Math.floor(v * (size - len + 1));
      for (let r = r0; r < r0 + len; r++) for (let c = c0; c < c0 + thick; c++) set(r, c, 1);
      break;
    }
    case 2: {
      // Gaussian blob centred anywhere inside the image
      const sigma = Math.max(0.75, size / 8);
      const cy = u * (size - 1);
      const cx = v * (size - 1);
      for (let r = 0; r < size; r++) {
        for (let c = 0; c < size; c++) {
          set(r, c, Math.exp(-((r - cy) ** 2 + (c - cx) ** 2) / (2 * sigma * sigma)));
        }
      }
      break;
    }
    default: {
      // outlined square of side `len`
      const r0 = Math.floor(u * (size - len + 1));
      const c0 = Math.floor(v * (size - len + 1));
      for (let i = 0; i < len; i++) {
        set(r0, c0 + i, 1);
        set(r0 + len - 1, c0 + i, 1);
        set(r0 + i, c0, 1);
        set(r0 + i, c0 + len - 1, 1);
      }
    }
  }
  for (let i = 0; i < out.length; i++) {
    const val = intensity * out[i]! + NOISE * (2 * rng.nextFloat() - 1);
    out[i] = val < 0 ? 0 : val > 1 ? 1 : val;
  }
}

function makeSplit(n: number, size: number, rng: RandomStream): DataSplit {
  const d = size * size;
  const x = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const pattern = int(rng, SYNTHETIC_PATTERNS.length);
    labels[i] = pattern;
    paint(x.subarray(i * d, (i + 1) * d), size, pattern, rng);
  }
  return { size: n, x, labels };
}

function checkCount(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new VaeLabError(`makeSynthetic: ${name} must be an integer >= ${min}, got ${String(v)}`);
  }
}

/**
 * A generated dataset: `size`×`size`×1 images in [0, 1] (continuous, `levels: null`), label =
 * index into SYNTHETIC_PATTERNS. Deterministic given the stream's seed, name and position; the
 * training split is drawn first, then the test split.
 */
export function makeSynthetic(opts: SyntheticOptions, rng: RandomStream): Dataset {
  checkCount('nTrain', opts.nTrain, 1);
  checkCount('nTest', opts.nTest, 1);
  checkCount('size', opts.size, 4);
  const train = makeSplit(opts.nTrain, opts.size, rng);
  const test = makeSplit(opts.nTest, opts.size, rng);
  return { name: 'synthetic', shape: [opts.size, opts.size, 1], levels: null, numClasses: SYNTHETIC_PATTERNS.length, train, test };
}
