import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@vaelab/core';

/*
 * Small dense linear algebra for lower-triangular matrices, written with differentiable tfjs ops
 * (tfjs has no triangular solve). Meant for latent sizes up to a few dozen: the solve runs D steps.
 */

/** Number of entries of the lower triangle (with the diagonal) of a D × D matrix: D(D+1)/2. */
export function triangleSize(dim: number): number {
  return (dim * (dim + 1)) / 2;
}

/** Offset of entry (i, j), j ≤ i, in the row-major lower triangle [L00, L10, L11, L20, L21, L22, ...]. */
export function triangleOffset(i: number, j: number): number {
  return (i * (i + 1)) / 2 + j;
}

/** The last-axis slice [start, start + size) of x. */
export function sliceLast(x: tf.Tensor, start: number, size: number): tf.Tensor {
  const begin = x.shape.map((_, a) => (a === x.rank - 1 ? start : 0));
  const sizes = x.shape.map((n, a) => (a === x.rank - 1 ? size : n));
  return tf.slice(x, begin, sizes);
}

export type DiagonalTransform = (raw: tf.Tensor) => { diagonal: tf.Tensor; logDiagonal: tf.Tensor };

/**
 * Builds L from the row-major lower triangle, passing the diagonal entries through `positive`
 * (e.g. softplus) so that L has a positive diagonal. The raw diagonal values reach L through
 * `positive` alone, so an exp never meets a zero mask. Slices and concats only: tfjs-wasm has no
 * gradient for gather.
 *
 * tril: [...batch, D(D+1)/2] -> scaleTril [...batch, D, D], logDiagonal [...batch, D]
 */
export function fillTriangular(tril: tf.Tensor, dim: number, positive: DiagonalTransform): { scaleTril: tf.Tensor; logDiagonal: tf.Tensor } {
  const size = triangleSize(dim);
  if (tril.shape[tril.rank - 1] !== size) {
    throw new ShapeError(`fillTriangular: lower triangle has shape [${tril.shape.join(', ')}], expected [..., ${size}] for D = ${dim}`);
  }
  const axis = tril.rank - 1;
  const batch = tril.shape.slice(0, axis);
  const rawDiagonal = tf.concat(
    Array.from({ length: dim }, (_, i) => sliceLast(tril, triangleOffset(i, i), 1)),
    axis,
  );
  const { diagonal, logDiagonal } = positive(rawDiagonal);
  const rows = Array.from({ length: dim }, (_, i) => {
    const parts: tf.Tensor[] = [];
    if (i > 0) parts.push(sliceLast(tril, triangleOffset(i, 0), i));
    parts.push(sliceLast(diagonal, i, 1));
    if (i < dim - 1) parts.push(tf.zeros([...batch, dim - 1 - i]));
    return parts.length === 1 ? parts[0]! : tf.concat(parts, axis);
  });
  return { scaleTril: tf.stack(rows, axis), logDiagonal };
}

/** The diagonal of square matrices: [..., D, D] -> [..., D]. */
export function matrixDiagonal(m: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sum(tf.mul(m, tf.eye(m.shape[m.rank - 1]!)), -1));
}

/**
 * y = L⁻¹ b by forward substitution, column by column:
 *   y_i = r_i / L_ii,  r ← r − y_i · L[:, i],   starting from r = b,
 * which touches only entries below the diagonal of each column (entries above are ignored), so L
 * only needs to be lower triangular. Differentiable in L and b.
 *
 * scaleTril: [...batch, D, D]; b: [...lead, ...batch, D] (extra leading axes broadcast, e.g. k
 * samples) -> y with the shape of b.
 */
export function solveLowerTriangular(scaleTril: tf.Tensor, b: tf.Tensor, diagonal?: tf.Tensor): tf.Tensor {
  const dim = scaleTril.shape[scaleTril.rank - 1]!;
  if (scaleTril.rank < 2 || scaleTril.shape[scaleTril.rank - 2] !== dim || b.shape[b.rank - 1] !== dim) {
    throw new ShapeError(
      `solveLowerTriangular: matrix has shape [${scaleTril.shape.join(', ')}] and right-hand side [${b.shape.join(', ')}], expected [..., D, D] and [..., D]`,
    );
  }
  return tf.tidy(() => {
    const diag = diagonal ?? matrixDiagonal(scaleTril);
    // columns[i]: [...batch, D], the i-th column of L (the i-th row of Lᵀ).
    const rank = scaleTril.rank;
    const swapLast = [...Array.from({ length: rank - 2 }, (_, a) => a), rank - 1, rank - 2];
    const columns = tf.unstack(tf.transpose(scaleTril, swapLast), rank - 2);
    const ys: tf.Tensor[] = [];
    let r = b;
    for (let i = 0; i < dim; i++) {
      const yi = tf.div(sliceLast(r, i, 1), sliceLast(diag, i, 1));
      ys.push(yi);
      if (i < dim - 1) r = tf.sub(r, tf.mul(yi, columns[i]!));
    }
    return tf.concat(ys, b.rank - 1);
  });
}

/** L v for lower-triangular (or any) L: [...batch, D, D] × [...lead, ...batch, D] -> [...lead, ...batch, D]. */
export function triangularMatVec(scaleTril: tf.Tensor, v: tf.Tensor): tf.Tensor {
  // Σ_j L_ij v_j as a broadcast product: no batched matMul (whose gradient is slow on wasm).
  return tf.tidy(() => tf.sum(tf.mul(scaleTril, tf.expandDims(v, v.rank - 1)), -1));
}
