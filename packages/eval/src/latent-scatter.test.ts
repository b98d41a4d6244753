import { decode } from 'fast-png';
import { RandomStream } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { encodePng } from './grid.js';
import { LABEL_COLOURS, manifoldCodes, pca2, scatterPlot, umap2 } from './latent-scatter.js';
import { labelGrid, upscale } from './annotate.js';

describe('pca2', () => {
  it('finds the directions of largest variance, in order', () => {
    const rng = new RandomStream('pca', 1);
    const n = 500;
    const codes = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const a = 3 * (rng.nextFloat() - 0.5);
      const b = 1 * (rng.nextFloat() - 0.5);
      // the long axis along (1, 1, 0)/√2, the short one along z
      codes.set([a / Math.SQRT2, a / Math.SQRT2, b], i * 3);
    }
    const { points, explained } = pca2(codes, 3);
    expect(explained[0]).toBeGreaterThan(0.85);
    expect(explained[0] + explained[1]).toBeCloseTo(1, 5);
    // the first coordinate is ±a
    const a0 = (codes[0]! * Math.SQRT2);
    expect(Math.abs(points[0]!)).toBeCloseTo(Math.abs(a0 - 0), 0);
  });
});

describe('umap2', () => {
  it('embeds into two dimensions, seeded', () => {
    const codes = Float32Array.from({ length: 60 * 4 }, (_, i) => Math.floor(i / 4 / 20) * 5 + ((i * 7919) % 13) / 13);
    const a = umap2(codes, 4, new RandomStream('umap', 1), { epochs: 50 });
    const b = umap2(codes, 4, new RandomStream('umap', 1), { epochs: 50 });
    expect(a.length).toBe(120);
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});

describe('scatterPlot and manifoldCodes', () => {
  it('draws coloured dots and a legend into an RGB image that encodes as PNG', () => {
    const points = [0, 0, 1, 1, 0.5, 0.2];
    const img = scatterPlot(points, [0, 1, 2], { size: 100, title: 'test', classNames: ['zero', 'one', 'two'] });
    expect(img.channels).toBe(3);
    const has = (c: readonly number[]) => {
      for (let i = 0; i < img.data.length; i += 3) if (img.data[i] === c[0] && img.data[i + 1] === c[1] && img.data[i + 2] === c[2]) return true;
      return false;
    };
    for (const c of LABEL_COLOURS.slice(0, 3)) expect(has(c)).toBe(true);
    expect(has(LABEL_COLOURS[3]!)).toBe(false);
    const png = decode(encodePng(img));
    expect([png.width, png.height]).toEqual([img.width, img.height]);
  });

  it('manifold codes run over [-3, 3]² with z2 decreasing down the rows', () => {
    const codes = manifoldCodes(3, [-3, 3], 2);
    expect(Array.from(codes)).toEqual([-3, 3, 0, 3, 3, 3, -3, 0, 0, 0, 3, 0, -3, -3, 0, -3, 3, -3]);
  });

  it('labels rows and upscales', () => {
    const tiny = { width: 4, height: 2, channels: 1 as const, data: new Uint8Array(8).fill(0) };
    const big = upscale(tiny, 3);
    expect([big.width, big.height]).toEqual([12, 6]);
    const labelled = labelGrid(big, { title: 'dims', rowLabels: ['z1', 'z12'] });
    expect(labelled.width).toBeGreaterThan(big.width);
    expect(labelled.height).toBeGreaterThan(big.height);
  });
});
