import * as tf from '@tensorflow/tfjs-core';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { encodePng, imageGrid, imageShape, reconstructionGrid } from './grid.js';

/** n images of h × w × c whose value at (i, r, col, ch) is ((i + r + col + ch) % 5) / 4. */
function images(n: number, h: number, w: number, c = 1): { values: Float32Array; shape: number[] } {
  const values = new Float32Array(n * h * w * c);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < h; r++) for (let col = 0; col < w; col++) for (let ch = 0; ch < c; ch++) values[((i * h + r) * w + col) * c + ch] = ((i + r + col + ch) % 5) / 4;
  return { values, shape: c === 1 ? [n, h, w, 1] : [n, h, w, c] };
}

describe('imageShape', () => {
  it('recognizes [h, w], [h, w, 1] and [h, w, 3], nothing else', () => {
    expect(imageShape([28, 28, 1])).toEqual({ height: 28, width: 28, channels: 1 });
    expect(imageShape([4, 6])).toEqual({ height: 4, width: 6, channels: 1 });
    expect(imageShape([8, 8, 3])).toEqual({ height: 8, width: 8, channels: 3 });
    expect(imageShape([784])).toBeNull();
    expect(imageShape([8, 8, 2])).toBeNull();
    expect(imageShape([2, 8, 8, 1])).toBeNull();
  });
});

describe('imageGrid', () => {
  it('tiles images row-major with padding: size, pixel positions, clipping', () => {
    const batch = images(5, 4, 3);
    batch.values[0] = 1.7; // clipped to white
    batch.values[1] = -0.2; // clipped to black
    const g = imageGrid(batch, { columns: 2, padding: 1, background: 0.5 });
    // 2 columns of width 3 and 3 rows of height 4, with 1-pixel padding around and between
    expect([g.width, g.height, g.channels]).toEqual([2 * 3 + 3, 3 * 4 + 4, 1]);
    const at = (x: number, y: number) => g.data[y * g.width + x]!;
    expect(at(0, 0)).toBe(128); // padding
    expect(at(1, 1)).toBe(255); // image 0, (0, 0): 1.7 clipped
    expect(at(2, 1)).toBe(0); // image 0, (0, 1): -0.2 clipped
    // image 3 is in row 1, column 1: top-left at x = 1 + 3 + 1 = 5, y = 1 + 4 + 1 = 6; pixel (2, 1)
    expect(at(5 + 1, 6 + 2)).toBe(Math.round((((3 + 2 + 1) % 5) / 4) * 255));
    // the sixth tile (row 2, column 1) is empty: background
    expect(at(5 + 1, 11 + 1)).toBe(128);
  });

  it('takes a tensor, and RGB images', () => {
    const batch = images(3, 2, 2, 3);
    const t = tf.tensor(batch.values, batch.shape);
    const g = imageGrid(t, { padding: 0 });
    t.dispose();
    expect([g.width, g.height, g.channels]).toEqual([6, 2, 3]);
    // image 2, pixel (1, 0), channel 2
    expect(g.data[(1 * 6 + 2 * 2 + 0) * 3 + 2]).toBe(Math.round((((2 + 1 + 0 + 2) % 5) / 4) * 255));
  });

  it('rejects data that is not an image batch', () => {
    expect(() => imageGrid({ values: new Float32Array(8), shape: [2, 4] })).toThrowError(/images must have shape/);
    expect(() => imageGrid({ values: new Float32Array(7), shape: [2, 2, 2, 1] })).toThrowError(/7 values do not fill 2 images/);
    expect(() => imageGrid({ values: new Float32Array(0), shape: [0, 2, 2, 1] })).toThrowError(/no images/);
  });
});

describe('reconstructionGrid and encodePng', () => {
  it('puts each row of originals above its reconstructions; the PNG has the grid size', () => {
    const originals = images(5, 4, 4);
    const recon = { values: originals.values.map((v) => 1 - v), shape: originals.shape };
    const g = reconstructionGrid(originals, recon, { columns: 4, padding: 2 });
    // 2 rows of originals, each followed by a row of reconstructions: 4 tile rows of 4
    expect([g.width, g.height]).toEqual([4 * 4 + 5 * 2, 4 * 4 + 5 * 2]);
    const at = (x: number, y: number) => g.data[y * g.width + x]!;
    const tile = (row: number, col: number, r: number, c: number) => at(2 + col * 6 + c, 2 + row * 6 + r);
    // example 1 (row 0, col 1) and its reconstruction just below; example 4 starts the third tile row
    expect(tile(0, 1, 2, 3)).toBe(Math.round((((1 + 2 + 3) % 5) / 4) * 255));
    expect(tile(1, 1, 2, 3)).toBe(Math.round((1 - ((1 + 2 + 3) % 5) / 4) * 255));
    expect(tile(2, 0, 1, 1)).toBe(Math.round((((4 + 1 + 1) % 5) / 4) * 255));
    expect(tile(3, 0, 1, 1)).toBe(Math.round((1 - ((4 + 1 + 1) % 5) / 4) * 255));

    const png = encodePng(g);
    expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]); // PNG signature
    const decoded = decode(png);
    expect([decoded.width, decoded.height, decoded.channels, decoded.depth]).toEqual([g.width, g.height, 1, 8]);
    expect(Array.from(decoded.data)).toEqual(Array.from(g.data));
  });

  it('rejects batches of different shapes', () => {
    expect(() => reconstructionGrid(images(2, 2, 2), images(3, 2, 2))).toThrowError(/differ in shape/);
  });
});
