import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs, kernelReplacement } from './kernel-wrap.js';

/*
 * tfjs-wasm 4.22's Transpose is slow on a 2-D matrix whose row count is a multiple of 128: the
 * output's rows are then a power-of-two number of floats apart and its writes keep evicting each
 * other from the cache. Measured here (microseconds, one thread; bench/transpose.mjs in @vaelab/cli):
 * [128, 784] 424 -> 67, [256, 784] 774 -> 120, [128, 400] 190 -> 37, [512, 512] 1,440 -> 415, while
 * [784, 128] (58) and small matrices are best left alone. A batch of 128 is the common case, and the
 * feature-major MLP transposes [batch, features] matrices every step.
 *
 * The same kernel, asked for the same values in another order, avoids it: [r, c] is viewed as
 * [r, k, c/k] (a reshape: the same memory), transposed with perm [1, 2, 0] to [k, c/k, r], and
 * that is read as [c, r] — the transpose, element for element. Only the loop order differs, so the
 * result is bit-identical (pure data movement). Everything else goes to the stock kernel.
 */


/** Rows that are a multiple of this, and matrices of at least MIN_SIZE values, take the 3-D route. */
const ROW_MULTIPLE = 128;
const MIN_SIZE = 16384;

/** The split k of the columns for an [r, c] matrix, or 0 when the stock 2-D transpose is the faster. */
export function transposeSplit(rows: number, cols: number): number {
  if (rows % ROW_MULTIPLE !== 0 || rows * cols < MIN_SIZE) return 0;
  for (const k of [8, 4, 2]) if (cols % k === 0) return k;
  return 0;
}

const transpose = kernelReplacement('Transpose', 'wasm', (stock) =>
  ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo | undefined;
    const perm = (args.attrs as { perm?: number[] } | undefined)?.perm;
    if (!x || x.shape.length !== 2 || !perm || perm[0] !== 1 || perm[1] !== 0) return stock.kernelFunc(args);
    const [r, c] = x.shape as [number, number];
    const k = transposeSplit(r, c);
    if (k === 0) return stock.kernelFunc(args);
    // A reshape on the wasm backend is the same dataId with another shape; so is reading the result back.
    const view: tf.TensorInfo = { dataId: x.dataId, shape: [r, k, c / k], dtype: x.dtype };
    const out = stock.kernelFunc({ ...args, inputs: { x: view }, attrs: { perm: [1, 2, 0] } }) as tf.TensorInfo;
    return { dataId: out.dataId, shape: [c, r], dtype: out.dtype };
  }) as tf.KernelFunc,
);

/**
 * Wraps the wasm backend's Transpose kernel with the 3-D route above. Idempotent; a no-op when no
 * wasm Transpose is registered. `uninstallWasmTranspose` restores the stock kernel (tests).
 */
export function installWasmTranspose(): void {
  transpose.install();
}

/** Puts the stock wasm Transpose back (for tests that compare the two). */
export function uninstallWasmTranspose(): void {
  transpose.uninstall();
}
