import type * as tf from '@tensorflow/tfjs-core';
import { VaeLabError } from '@vaelab/core';
import { encode } from 'fast-png';

/** An 8-bit image, row-major, `channels` values per pixel (1: grey, 3: RGB). */
export interface GridImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** Images as values in [0, 1] with their shape [n, height, width] or [n, height, width, channels]. */
export interface ImageBatch {
  values: ArrayLike<number>;
  shape: number[];
}

export interface GridOptions {
  /** Images per row (default 8, or fewer when there are fewer images). */
  columns?: number;
  /** Pixels between images and around the grid (default 2). */
  padding?: number;
  /** Grey level of the padding, in [0, 1] (default 1, white). */
  background?: number;
}

export interface ImageShape {
  height: number;
  width: number;
  channels: 1 | 3;
}

/**
 * The image layout of one example's shape: [height, width], [height, width, 1] or
 * [height, width, 3] (channels last, as VAE Lab's datasets store images). Null for anything else
 * (tabular data has no picture).
 */
export function imageShape(shape: readonly number[]): ImageShape | null {
  const [height, width, channels = 1] = shape;
  if (shape.length < 2 || shape.length > 3 || height === undefined || width === undefined) return null;
  if (channels !== 1 && channels !== 3) return null;
  if (!(height >= 1 && width >= 1)) return null;
  return { height, width, channels };
}

function toBatch(images: tf.Tensor | ImageBatch): ImageBatch {
  return 'values' in images ? images : { values: images.dataSync(), shape: images.shape };
}

function byte(v: number): number {
  // NaN -> 0; values outside [0, 1] are clipped
  return v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
}

/**
 * Tile images into one picture, `columns` per row, row-major in the order given. Values are
 * clipped to [0, 1] and scaled to 0..255. Size: columns·W + (columns + 1)·padding by
 * rows·H + (rows + 1)·padding.
 */
export function imageGrid(images: tf.Tensor | ImageBatch, opts: GridOptions = {}): GridImage {
  const { values, shape } = toBatch(images);
  const n = shape[0] ?? 0;
  const layout = imageShape(shape.slice(1));
  if (!layout) {
    throw new VaeLabError(`imageGrid: images must have shape [n, height, width] or [n, height, width, 1 | 3], got [${shape.join(', ')}]`);
  }
  if (n < 1) throw new VaeLabError('imageGrid: no images to tile');
  const { height: h, width: w, channels } = layout;
  if (values.length !== n * h * w * channels) {
    throw new VaeLabError(`imageGrid: ${values.length} values do not fill ${n} images of shape [${shape.slice(1).join(', ')}]`);
  }
  const columns = Math.min(opts.columns ?? 8, n);
  const padding = opts.padding ?? 2;
  if (!Number.isInteger(columns) || columns < 1) throw new VaeLabError(`imageGrid: columns must be a positive integer, got ${columns}`);
  if (!Number.isInteger(padding) || padding < 0) throw new VaeLabError(`imageGrid: padding must be a non-negative integer, got ${padding}`);
  const rows = Math.ceil(n / columns);
  const width = columns * w + (columns + 1) * padding;
  const height = rows * h + (rows + 1) * padding;
  const data = new Uint8Array(width * height * channels).fill(byte(opts.background ?? 1));
  for (let i = 0; i < n; i++) {
    const top = padding + Math.floor(i / columns) * (h + padding);
    const left = padding + (i % columns) * (w + padding);
    for (let r = 0; r < h; r++) {
      const src = ((i * h + r) * w) * channels;
      const dst = ((top + r) * width + left) * channels;
      for (let k = 0; k < w * channels; k++) data[dst + k] = byte(values[src + k]!);
    }
  }
  return { width, height, channels, data };
}

/**
 * Originals above their reconstructions: rows of `columns` originals, each followed by the row of
 * their reconstructions. Both batches have the same shape [n, ...imageShape].
 */
export function reconstructionGrid(originals: tf.Tensor | ImageBatch, reconstructions: tf.Tensor | ImageBatch, opts: GridOptions = {}): GridImage {
  const a = toBatch(originals);
  const b = toBatch(reconstructions);
  if (a.shape.join(',') !== b.shape.join(',')) {
    throw new VaeLabError(`reconstructionGrid: originals [${a.shape.join(', ')}] and reconstructions [${b.shape.join(', ')}] differ in shape`);
  }
  const n = a.shape[0] ?? 0;
  const per = n > 0 ? a.values.length / n : 0;
  const columns = Math.min(opts.columns ?? 8, Math.max(1, n));
  const rows = Math.ceil(n / columns);
  // Interleave: row r of originals, then row r of reconstructions; blank tiles pad the last pair of rows.
  const tiles = new Float32Array(2 * rows * columns * per).fill(opts.background ?? 1);
  for (let i = 0; i < n; i++) {
    const r = Math.floor(i / columns);
    const c = i % columns;
    for (const [batch, offset] of [[a, 0], [b, 1]] as const) {
      const tile = (2 * r + offset) * columns + c;
      for (let k = 0; k < per; k++) tiles[tile * per + k] = batch.values[i * per + k]!;
    }
  }
  return imageGrid({ values: tiles, shape: [2 * rows * columns, ...a.shape.slice(1)] }, { ...opts, columns });
}

/** The grid as PNG bytes (8-bit grey or RGB). */
export function encodePng(image: GridImage): Uint8Array {
  return encode({ width: image.width, height: image.height, data: image.data, channels: image.channels, depth: 8 });
}
