import * as tf from '@tensorflow/tfjs-core';

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

type KernelArgs = Parameters<tf.KernelFunc>[0];
interface RefCounting {
  incRef(dataId: object): void;
}

let stock: tf.KernelConfig | null = null;

/**
 * Replaces the wasm backend's Identity kernel with one that shares the input's data (string
 * tensors still go to the stock kernel). Idempotent; a no-op when no wasm Identity is registered
 * or the backend has no reference counting.
 */
export function installWasmIdentity(): void {
  if (stock) return;
  const kernel = tf.getKernel('Identity', 'wasm');
  if (!kernel) return;
  const kernelFunc = ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    const backend = args.backend as unknown as Partial<RefCounting>;
    if (x.dtype === 'string' || typeof backend.incRef !== 'function') return kernel.kernelFunc(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  }) as tf.KernelFunc;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ ...kernel, kernelFunc });
  stock = kernel;
}

/** Puts the stock (copying) wasm Identity back (tests and benchmarks that compare the two). */
export function uninstallWasmIdentity(): void {
  if (!stock) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel(stock);
  stock = null;
}
