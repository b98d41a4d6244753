import * as tf from '@tensorflow/tfjs-core';

/** The argument of a tfjs kernel function. */
export type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * A replacement for one of a backend's stock kernels, installed and removed as a pair:
 * `install()` registers `wrap(stock)` in place of the stock kernel (idempotent; a no-op when the
 * backend has no such kernel), `uninstall()` puts the stock kernel back (tests and benchmarks).
 */
export function kernelReplacement(kernelName: string, backendName: string, wrap: (stock: tf.KernelConfig) => tf.KernelFunc): { install(): void; uninstall(): void } {
  let stock: tf.KernelConfig | null = null;
  return {
    install() {
      if (stock) return;
      const kernel = tf.getKernel(kernelName, backendName);
      if (!kernel) return;
      const kernelFunc = wrap(kernel);
      tf.unregisterKernel(kernelName, backendName);
      tf.registerKernel({ ...kernel, kernelFunc });
      stock = kernel;
    },
    uninstall() {
      if (!stock) return;
      tf.unregisterKernel(kernelName, backendName);
      tf.registerKernel(stock);
      stock = null;
    },
  };
}
