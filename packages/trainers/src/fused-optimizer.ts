import * as tf from '@tensorflow/tfjs-core';
import { type WasmBackendInternals, heapKernel, wasmBackendInternals, wasmHeapMemory } from '@vaelab/core';
import { type KernelName, type WasmKernels, wasmKernels } from './wasm-kernels.js';

/*
 * The plumbing shared by the fused optimizers (fused-adam.ts, fused-sgd.ts, fused-rmsprop.ts):
 * one pass over each variable's data per step instead of the handful-to-dozen tfjs kernels a
 * tf.train optimizer launches per variable (notes/performance.md: Adam was 140 of a step's 277
 * kernel calls on wasm). Each subclass states its slots, its float32 scalars and its update as a
 * JavaScript loop; the matching WebAssembly SIMD kernel lives in wasm-kernels.ts.
 *
 * Three paths, chosen per step by the active backend:
 * - wasm: the SIMD kernel reads the parameter, gradient and slots where tfjs keeps them on its
 *   heap, updates the slots in place and writes the new parameter into a tensor freshly allocated
 *   by the backend, which the variable is then assigned. The parameter is never updated in place:
 *   tfjs-wasm caches packed matMul operands by tensor id, and an in-place update would leave a
 *   stale packed copy.
 * - wasm without SIMD (or with `simd = false`): the JavaScript loop on views of the heap.
 * - any other backend (cpu, tensorflow): the JavaScript loop on copies read with dataSync.
 *
 * Slots are saved by getWeights as [iter, all slots of kind 0…, all slots of kind 1…], the order of
 * the tf.train optimizer it replaces, so checkpoints store them alike.
 */

/** tfjs-core does not export its NamedTensor type from the package root. */
export type NamedTensor = Awaited<ReturnType<tf.Optimizer['getWeights']>>[number];

/** A bitwise copy of `t` in a new heap allocation. */
function heapCopy(backend: WasmBackendInternals, t: tf.Tensor): tf.Tensor {
  const copy = tf.engine().makeTensorFromTensorInfo(backend.makeOutput(t.shape, 'float32'));
  // the view is taken after the allocation, which may have grown (and replaced) the heap
  const heap = backend.wasm.HEAPF32;
  const from = backend.getMemoryOffset(t.dataId) / 4;
  heap.copyWithin(backend.getMemoryOffset(copy.dataId) / 4, from, from + t.size);
  return copy;
}

export type FusedPath = 'native' | 'wasm-simd' | 'wasm-js' | 'js';

export abstract class FusedOptimizer extends tf.Optimizer {
  /** slots[k][i]: slot kind k (e.g. Adam's m, v) of the i-th variable. */
  private slots: tf.Variable[][] = [];
  private slotOwners: string[] = [];
  /** The path the last update took (for tests and benchmarks). */
  lastPath: FusedPath | null = null;
  /** Use the SIMD kernel where it compiles; false forces the JavaScript loop (tests, benchmarks). */
  simd = true;

  /** Names of the slot kinds, e.g. ['m', 'v']; saved as `${variable}/${suffix}`. */
  protected abstract slotSuffixes(): readonly string[];
  /** The kernel of this step (in wasm-kernels.ts). */
  protected abstract kernel(): KernelName;
  /** This step's scalars, each rounded to float32 as tfjs rounds them, in the kernel's order. */
  protected abstract stepScalars(): number[];
  /** The JavaScript form of the kernel: every operation rounded to float32, as the kernel does. */
  protected abstract loop(param: Float32Array, grad: Float32Array, slots: Float32Array[], out: Float32Array, scalars: number[]): void;
  /** After every variable was updated (Adam advances its β powers). */
  protected afterStep(): void {}
  /** After setWeights restored the slots and the iteration count. */
  protected afterRestore(): void {}

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const entries: [string, tf.Tensor | undefined][] = Array.isArray(variableGradients)
      ? variableGradients.map((v) => [v.name, v.tensor])
      : Object.keys(variableGradients).map((k) => [k, variableGradients[k]]);
    const kinds = this.slotSuffixes().length;
    while (this.slots.length < kinds) this.slots.push([]);
    const scalars = this.stepScalars();
    const backend = wasmBackendInternals();
    const memory = backend ? wasmHeapMemory(backend) : null;
    const kernels = this.simd && memory ? wasmKernels(memory) : null;
    entries.forEach(([name, gradient], i) => {
      const variable = tf.engine().registeredVariables[name];
      if (!variable) throw new Error(`fused optimizer: no variable named ${name} is registered`);
      if (this.slotOwners[i] === undefined) {
        for (const kind of this.slots) kind[i] = tf.tidy(() => tf.zerosLike(variable).variable(false));
        this.slotOwners[i] = name;
      }
      if (gradient == null) return;
      if (gradient.size !== variable.size || gradient.dtype !== 'float32' || variable.dtype !== 'float32') {
        throw new Error(`fused optimizer: gradient of ${name} is ${gradient.dtype}[${gradient.shape}], the variable ${variable.dtype}[${variable.shape}]`);
      }
      const slots = this.slots.map((kind) => kind[i]!);
      if (backend) this.updateOnHeap(backend, kernels, variable, gradient, slots, scalars);
      else this.updateByCopy(variable, gradient, slots, scalars);
    });
    this.afterStep();
    this.incrementIterations();
  }

  private updateOnHeap(
    backend: WasmBackendInternals,
    kernels: WasmKernels | null,
    variable: tf.Variable,
    gradient: tf.Tensor,
    slots: tf.Variable[],
    scalars: number[],
  ): void {
    // Slots are written in place, so they must not share their data with any other tensor
    // (setWeights keeps the caller's tensors' data): copy on write.
    for (const slot of slots) {
      if (backend.refCount(slot.dataId) > 1) {
        const copy = heapCopy(backend, slot);
        slot.assign(copy);
        copy.dispose();
      }
    }
    const out = tf.engine().makeTensorFromTensorInfo(backend.makeOutput(variable.shape, 'float32'));
    const ptr = (t: tf.Tensor) => backend.getMemoryOffset(t.dataId);
    const n = variable.size;
    // a native stand-in (core's setHeapKernel; @vaelab/native has Adam's), same bits as the kernel
    const native = this.simd ? heapKernel(this.kernel()) : undefined;
    if (native) {
      native(backend.wasm.HEAPF32, ptr(variable), ptr(gradient), ...slots.map(ptr), ptr(out), n, ...scalars);
      this.lastPath = 'native';
    } else if (kernels) {
      kernels[this.kernel()](ptr(variable), ptr(gradient), ...slots.map(ptr), ptr(out), n, ...scalars);
      this.lastPath = 'wasm-simd';
    } else {
      // Views taken after the allocation above (an allocation may grow, and so replace, the heap).
      const heap = backend.wasm.HEAPF32;
      const view = (t: tf.Tensor) => heap.subarray(ptr(t) / 4, ptr(t) / 4 + n);
      this.loop(view(variable), view(gradient), slots.map(view), view(out), scalars);
      this.lastPath = 'wasm-js';
    }
    variable.assign(out);
    out.dispose();
  }

  private updateByCopy(variable: tf.Variable, gradient: tf.Tensor, slots: tf.Variable[], scalars: number[]): void {
    const values = slots.map((slot) => Float32Array.from(slot.dataSync() as Float32Array));
    const out = new Float32Array(variable.size);
    this.loop(variable.dataSync() as Float32Array, gradient.dataSync() as Float32Array, values, out, scalars);
    const assign = (target: tf.Variable, data: Float32Array) => {
      const t = tf.tensor(data, target.shape, 'float32');
      target.assign(t);
      t.dispose();
    };
    slots.forEach((slot, k) => assign(slot, values[k]!));
    assign(variable, out);
    this.lastPath = 'js';
  }

  override dispose(): void {
    super.dispose();
    tf.dispose(this.slots.flat());
    this.slots = [];
    this.slotOwners = [];
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const suffixes = this.slotSuffixes();
    return [
      await this.saveIterations(),
      ...this.slots.flatMap((kind, k) => kind.map((variable, i) => ({ name: `${this.slotOwners[i]}/${suffixes[k]}`, tensor: variable }))),
    ];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const restored = await this.extractIterations(weightValues);
    const kinds = this.slotSuffixes().length;
    if (kinds === 0 ? restored.length !== 0 : restored.length % kinds !== 0) {
      throw new Error(`fused optimizer: expected ${kinds} slot tensors per variable, got ${restored.length} in all`);
    }
    const count = kinds === 0 ? 0 : restored.length / kinds;
    tf.dispose(this.slots.flat());
    // These share data with the caller's tensors; the first in-place update copies (see updateOnHeap).
    this.slots = Array.from({ length: kinds }, (_, k) => restored.slice(k * count, (k + 1) * count).map((w) => w.tensor.variable(false)));
    const suffix = this.slotSuffixes()[0];
    this.slotOwners = restored.slice(0, count).map((w, i) => (suffix && w.name.endsWith(`/${suffix}`) ? w.name.slice(0, -suffix.length - 1) : `${i}`));
    this.afterRestore();
  }
}

/** Round to float32: one IEEE float32 operation when applied to the exact result of + − × ÷ √ of float32 values. */
export const f32 = Math.fround;
