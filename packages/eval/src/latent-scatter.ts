import { VaeLabError, type RandomStream } from '@vaelab/core';
import { UMAP } from 'umap-js';
import { type Colour, blankImage, drawText, fillRect, shortNumber, textHeight, textWidth } from './annotate.js';
import type { GridImage } from './grid.js';

/*
 * Pictures of the latent space: a scatter of posterior means coloured by label (projected to two
 * dimensions by PCA or UMAP when the latent has more), and the classic manifold picture of a 2-D
 * latent: decodings of a grid over [−3, 3]² (Kingma & Welling 2013, fig. 4).
 */

export const PROJECTIONS = ['pca', 'umap'] as const;
export type Projection = (typeof PROJECTIONS)[number];

/**
 * The first two principal components of the rows of `codes` [n * dim]: [n * 2] coordinates
 * (centred), and the fraction of variance each explains. Power iteration with deflation on the
 * covariance, in float64, from a fixed start: deterministic.
 */
export function pca2(codes: ArrayLike<number>, dim: number): { points: Float64Array; explained: [number, number] } {
  const n = codes.length / dim;
  if (!Number.isInteger(n) || n < 2) throw new VaeLabError(`pca2: needs at least 2 codes of dimension ${dim}, got ${codes.length} values`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += codes[i * dim + j]! / n;
  const cov = new Float64Array(dim * dim);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < dim; a++) {
      const da = codes[i * dim + a]! - mean[a]!;
      for (let b = a; b < dim; b++) cov[a * dim + b]! += (da * (codes[i * dim + b]! - mean[b]!)) / (n - 1);
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a]!;
  let total = 0;
  for (let a = 0; a < dim; a++) total += cov[a * dim + a]!;
  const components: Float64Array[] = [];
  const values: number[] = [];
  for (let c = 0; c < Math.min(2, dim); c++) {
    let v = Float64Array.from({ length: dim }, (_, j) => 1 + j / dim);
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      const w = new Float64Array(dim);
      for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) w[a]! += cov[a * dim + b]! * v[b]!;
      for (const u of components) {
        const d = w.reduce((s, x, j) => s + x * u[j]!, 0);
        for (let j = 0; j < dim; j++) w[j]! -= d * u[j]!;
      }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      const next = w.map((x) => x / norm);
      const delta = next.reduce((s, x, j) => s + Math.abs(x - v[j]!), 0);
      v = next;
      lambda = norm;
      if (delta < 1e-12) break;
    }
    components.push(v);
    values.push(lambda);
  }
  const points = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    components.forEach((u, c) => {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (codes[i * dim + j]! - mean[j]!) * u[j]!;
      points[i * 2 + c] = s;
    });
  }
  return { points, explained: [total > 0 ? (values[0] ?? 0) / total : 0, total > 0 ? (values[1] ?? 0) / total : 0] };
}

/** UMAP (McInnes et al. 2018, umap-js) to 2-D, seeded from `rng`. Returns [n * 2]. */
export function umap2(codes: ArrayLike<number>, dim: number, rng: RandomStream, opts: { neighbours?: number; epochs?: number } = {}): Float64Array {
  const n = codes.length / dim;
  const rows = Array.from({ length: n }, (_, i) => Array.from({ length: dim }, (_, j) => codes[i * dim + j]!));
  const umap = new UMAP({ nComponents: 2, nNeighbors: Math.min(opts.neighbours ?? 15, n - 1), ...(opts.epochs ? { nEpochs: opts.epochs } : {}), random: () => rng.nextFloat() });
  const embedding = umap.fit(rows);
  return Float64Array.from(embedding.flat());
}

/** Ten distinguishable colours (Tableau 10), by label; further labels cycle. */
export const LABEL_COLOURS: readonly (readonly [number, number, number])[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

export interface ScatterOptions {
  /** Plot area side in pixels (default 480). */
  size?: number;
  /** Dot side in pixels (default 3). */
  dot?: number;
  title?: string;
  /** Axis names (default 'z1', 'z2'). */
  axes?: [string, string];
  /** Label names for the legend (default the label numbers). */
  classNames?: readonly string[];
}

/**
 * A scatter plot of points [n * 2], coloured by label, with a frame, the axis ranges, axis names
 * and a legend. RGB.
 */
export function scatterPlot(points: ArrayLike<number>, labels: ArrayLike<number> | null, opts: ScatterOptions = {}): GridImage {
  const n = points.length / 2;
  const size = opts.size ?? 480;
  const dot = opts.dot ?? 3;
  const scale = 2;
  const lineH = textHeight(scale);
  const classes = labels ? Math.max(0, ...Array.from(labels)) + 1 : 0;
  const names = Array.from({ length: classes }, (_, k) => opts.classNames?.[k] ?? String(k));
  const legendW = classes ? Math.max(...names.map((s) => textWidth(s, scale))) + 40 : 0;
  const [xName, yName] = opts.axes ?? ['z1', 'z2'];
  const left = Math.max(60, textWidth(yName, scale) + 16);
  const top = opts.title ? 2 * lineH + 8 : 16;
  const bottom = 2 * lineH + 24;
  const image = blankImage(left + size + 20 + legendW, top + size + bottom, 3);
  let [xMin, xMax, yMin, yMax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    const x = points[2 * i]!;
    const y = points[2 * i + 1]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    [xMin, xMax, yMin, yMax] = [Math.min(xMin, x), Math.max(xMax, x), Math.min(yMin, y), Math.max(yMax, y)];
  }
  if (!Number.isFinite(xMin)) [xMin, xMax, yMin, yMax] = [-1, 1, -1, 1];
  const padX = (xMax - xMin || 1) * 0.04;
  const padY = (yMax - yMin || 1) * 0.04;
  [xMin, xMax, yMin, yMax] = [xMin - padX, xMax + padX, yMin - padY, yMax + padY];
  const grey: Colour = [90, 90, 90];
  // frame
  fillRect(image, left - 1, top - 1, size + 2, 1, grey);
  fillRect(image, left - 1, top + size, size + 2, 1, grey);
  fillRect(image, left - 1, top - 1, 1, size + 2, grey);
  fillRect(image, left + size, top - 1, 1, size + 2, grey);
  for (let i = 0; i < n; i++) {
    const x = points[2 * i]!;
    const y = points[2 * i + 1]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const px = left + Math.round(((x - xMin) / (xMax - xMin)) * (size - 1));
    const py = top + Math.round(((yMax - y) / (yMax - yMin)) * (size - 1));
    const colour = labels ? LABEL_COLOURS[labels[i]! % LABEL_COLOURS.length]! : ([31, 119, 180] as const);
    fillRect(image, px - (dot >> 1), py - (dot >> 1), dot, dot, colour);
  }
  if (opts.title) drawText(image, opts.title, left, 6, { scale });
  drawText(image, shortNumber(xMin), left, top + size + 6, { scale });
  const xMaxText = shortNumber(xMax);
  drawText(image, xMaxText, left + size - textWidth(xMaxText, scale), top + size + 6, { scale });
  drawText(image, xName, left + Math.round((size - textWidth(xName, scale)) / 2), top + size + 8 + lineH, { scale });
  const yMaxText = shortNumber(yMax);
  drawText(image, yMaxText, left - 6 - textWidth(yMaxText, scale), top, { scale });
  const yMinText = shortNumber(yMin);
  drawText(image, yMinText, left - 6 - textWidth(yMinText, scale), top + size - lineH, { scale });
  drawText(image, yName, left - 6 - textWidth(yName, scale), top + Math.round(size / 2 - lineH / 2), { scale });
  names.forEach((name, k) => {
    const y = top + 4 + k * (lineH + 8);
    fillRect(image, left + size + 20, y, lineH, lineH, LABEL_COLOURS[k % LABEL_COLOURS.length]!);
    drawText(image, name, left + size + 26 + lineH, y, { scale });
  });
  return image;
}

/**
 * The codes of a side × side grid over [low, high]² in the first two latent dimensions (others at
 * `base`, default 0): rows from high (top) to low, columns from low to high, as a plot's axes run.
 * Returns [side² * dim] values, row-major.
 */
export function manifoldCodes(side: number, range: readonly [number, number] = [-3, 3], dim = 2, base?: ArrayLike<number>): Float32Array {
  if (!Number.isInteger(side) || side < 2) throw new VaeLabError(`manifoldCodes: side must be an integer >= 2, got ${side}`);
  if (dim < 2) throw new VaeLabError('manifoldCodes: the latent needs at least 2 dimensions');
  const [low, high] = range;
  const out = new Float32Array(side * side * dim);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      const at = (r * side + c) * dim;
      for (let j = 0; j < dim; j++) out[at + j] = base?.[j] ?? 0;
      out[at] = low + ((high - low) * c) / (side - 1);
      out[at + 1] = high - ((high - low) * r) / (side - 1);
    }
  }
  return out;
}
