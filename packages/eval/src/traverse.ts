import { VaeLabError } from '@vaelab/core';

/*
 * Latent traversals (Higgins et al. 2017, fig. 7): one latent dimension varied alone around a
 * base code, the others held fixed; one row per dimension.
 */

/**
 * Codes for a traversal: for each dimension in `dims` (one row each), `steps` copies of `base`
 * whose value in that dimension runs evenly over [low, high]. Returns [dims.length * steps * dim]
 * values, row-major.
 */
export function traversalCodes(base: ArrayLike<number>, dims: readonly number[], range: readonly [number, number], steps: number): Float32Array {
  const dim = base.length;
  const [low, high] = range;
  if (!Number.isInteger(steps) || steps < 2) throw new VaeLabError(`traversalCodes: steps must be an integer >= 2, got ${steps}`);
  if (!(low < high)) throw new VaeLabError(`traversalCodes: the range must have low < high, got [${low}, ${high}]`);
  if (dims.length === 0) throw new VaeLabError('traversalCodes: no dimensions to traverse');
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d >= dim) throw new VaeLabError(`traversalCodes: dimension ${d} is not in 0..${dim - 1}`);
  }
  const out = new Float32Array(dims.length * steps * dim);
  dims.forEach((d, row) => {
    for (let s = 0; s < steps; s++) {
      const offset = (row * steps + s) * dim;
      for (let j = 0; j < dim; j++) out[offset + j] = base[j]!;
      out[offset + d] = low + ((high - low) * s) / (steps - 1);
    }
  });
  return out;
}

/**
 * Dimensions ordered by their KL (largest first), so that the active ones come first; ties keep
 * index order. `count` keeps only the first ones.
 */
export function dimensionsByKl(klPerDim: readonly number[], count?: number): number[] {
  const order = klPerDim.map((kl, j) => [kl, j] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]).map(([, j]) => j);
  return count === undefined ? order : order.slice(0, count);
}
