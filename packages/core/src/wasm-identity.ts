import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs, kernelReplacement } from './kernel-wrap.js';

/*
 * tfjs-wasm 4.22's Identity kernel copies the tensor's data into a new heap allocation. tfjs calls
 * it for every tensor it saves for the backward pass (the engine clones each saved input), which
 * is 64 calls and several megabytes of copying per mnist_vae training step, ~0.56 ms of a 14 ms
 * step. Tensors are immutable, and tfjs already shares one heap allocation between tensors (the
 * wasm Reshape kernel, tf.variable and Variable.assign do), counted by the backend's reference
 * count. So Identity here returns the same data with its count raised: no copy, the same values.
 * The only in-place writer in VAE Lab, the fused optimizers' slot update, copies a slot first
 * when its data is shared (fused-optimizer.ts).
 */

interface RefCounting {
  incRef(dataId: object): void;
}

const identity = kernelReplacement('Identity', 'wasm', (stock) =>
  ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    const backend = args.backend as unknown as Partial<RefCounting>;
    if (x.dtype === 'string' || typeof backend.incRef !== 'function') return stock.kernelFunc(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  }) as tf.KernelFunc,
);

/**
 * Replaces the wasm backend's Identity kernel with one that shares the input's data (string
 * tensors, or a backend without reference counting, still go to the stock kernel). Idempotent; a
 * no-op when no wasm Identity is registered.
 */
export function installWasmIdentity(): void {
  identity.install();
}

/** Puts the stock (copying) wasm Identity back (tests and benchmarks that compare the two). */
export function uninstallWasmIdentity(): void {
  identity.uninstall();
}
