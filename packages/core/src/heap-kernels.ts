/*
 * Native stand-ins for VAE Lab's own WebAssembly kernels on tfjs-wasm's heap. A package that
 * computes one of them natively (@vaelab/native) offers a function; the program that wants it (the
 * `vaelab` CLI with VAELAB_NATIVE=1) sets it here; the kernel's owner (the fused optimizers in
 * @vaelab/trainers, the fused Bernoulli term in @vaelab/likelihoods) calls it instead of its wasm
 * kernel. A stand-in must give the same float32 results, bit for bit, as the kernel it replaces.
 */

/**
 * A kernel on the wasm heap: the heap (tfjs-wasm's whole float32 view), then the wasm kernel's own
 * arguments (byte offsets of its arrays, the count, any float32 scalars).
 */
export type HeapKernel = (heap: Float32Array, ...args: number[]) => void;

/**
 * The kernels that can be replaced: the fused optimizers' updates ('adam', 'sgd', 'momentum',
 * 'nesterov', 'rmsprop'; see @vaelab/trainers) and the fused Bernoulli term and its gradient ('bernoulliTerm',
 * 'bernoulliTermGrad'; see @vaelab/likelihoods).
 */
export type HeapKernelName = 'adam' | 'sgd' | 'momentum' | 'nesterov' | 'rmsprop' | 'bernoulliTerm' | 'bernoulliTermGrad';

const standIns = new Map<HeapKernelName, HeapKernel>();

/** Use `kernel` for `name` from now on in this process (null: the WebAssembly kernel again). */
export function setHeapKernel(name: HeapKernelName, kernel: HeapKernel | null): void {
  if (kernel) standIns.set(name, kernel);
  else standIns.delete(name);
}

/** The stand-in set for `name`, if any. */
export function heapKernel(name: HeapKernelName): HeapKernel | undefined {
  return standIns.get(name);
}
