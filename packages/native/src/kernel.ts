import {
  BatchMatMul,
  broadcast_util,
  getBackend,
  matMul,
  util,
  type GradConfig,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';

/*
 * The BatchMatMul kernel for tfjs's wasm backend, computed by OpenBLAS on the wasm heap. It relies
 * on private fields of tfjs-backend-wasm 4.22's BackendWasm (the same ones its own kernels use):
 * `dataIdMap.get(dataId).memoryOffset`, `makeOutput(shape, dtype)`, `disposeData(dataId)` and
 * `wasm.HEAPU8`. Whatever it does not handle goes to the stock kernel.
 */

/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses. */
export interface WasmBackendInternals {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number | null; dtype: string } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Whether a backend object has the internals the native kernel needs (tfjs-backend-wasm 4.22's). */
export function hasWasmInternals(backend: unknown): backend is WasmBackendInternals {
  const b = backend as Partial<WasmBackendInternals> | null;
  return (
    !!b &&
    typeof b.makeOutput === 'function' &&
    typeof b.disposeData === 'function' &&
    typeof b.dataIdMap?.get === 'function' &&
    b.wasm?.HEAPU8 instanceof Uint8Array
  );
}

type KernelArgs = Parameters<KernelFunc>[0];

/** Counters, for tests and for a user who wants to see that the native path ran. */
export const counters = { native: 0, fallback: 0 };

export function nativeBatchMatMulKernel(addon: NativeAddon, stock: KernelConfig): KernelConfig {
  const fallback = (args: KernelArgs) => {
    counters.fallback++;
    return stock.kernelFunc(args);
  };
  const kernelFunc = ((args: KernelArgs) => {
    const { inputs, backend, attrs } = args;
    const a = inputs.a as TensorInfo | undefined;
    const b = inputs.b as TensorInfo | undefined;
    const { transposeA = false, transposeB = false } = (attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32' || !hasWasmInternals(backend)) return fallback(args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (ra < 2 || rb < 2) return fallback(args);
    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const ka = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    let outer: number[];
    try {
      if (ka !== kb) return fallback(args); // the stock kernel throws tfjs's own message
      outer = broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
    } catch {
      return fallback(args);
    }
    const k = ka;
    const aData = backend.dataIdMap.get(a.dataId);
    const bData = backend.dataIdMap.get(b.dataId);
    if (aData?.memoryOffset == null || bData?.memoryOffset == null) return fallback(args);
    const batch = util.sizeFromShape(outer);
    const batchA = util.sizeFromShape(outerA);
    const batchB = util.sizeFromShape(outerB);
    // Batch dims that both broadcast ([2,1]·[1,3]) go to the stock kernel, whose result (tfjs 4.22
    // indexes batches modulo each operand's batch size there) this one would otherwise not match.
    if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return fallback(args);
    const aBytes = m * k * 4;
    const bBytes = k * n * 4;
    const out = backend.makeOutput([...outer, m, n], 'float32');
    try {
      const cOffset = backend.dataIdMap.get(out.dataId)!.memoryOffset!;
      // After makeOutput: an allocation may have grown the memory and replaced the heap's buffer.
      const heap = backend.wasm.HEAPU8;
      const aOffset = aData.memoryOffset;
      const bOffset = bData.memoryOffset;
      addon.gemm(heap, transposeA, transposeB, m, n, k, aData.memoryOffset, bData.memoryOffset, cOffset, batch, batchA === 1 ? 0 : aBytes, batchB === 1 ? 0 : bBytes);
    } catch (e) {
      backend.disposeData(out.dataId, true);
      throw e;
    }
    counters.native++;
    return out;
  }) as KernelFunc;
  return {
    kernelName: BatchMatMul,
    backendName: 'wasm',
    // The stock setup (it binds the wasm function the fallback calls) still runs when the wasm
    // backend initializes after installNative().
    ...(stock.setupFunc ? { setupFunc: stock.setupFunc } : {}),
    ...(stock.disposeFunc ? { disposeFunc: stock.disposeFunc } : {}),
    kernelFunc,
  };
}

/**
 * The gradient of BatchMatMul through transposed products (transposeA/transposeB), which the native
 * kernel computes at full speed: no Transpose kernels. It applies while `active()` (the native
 * kernel is installed and the wasm backend is the active one) for rank-2 float32 operands;
 * otherwise the gradient that was registered before (@vaelab/core's explicit-transpose one, or
 * tfjs's) runs.
 */
export function nativeMatMulGradient(previous: GradConfig, active: () => boolean): GradConfig {
  return {
    kernelName: BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [a, b] = saved as [Tensor, Tensor];
      if (!active() || getBackend() !== 'wasm' || a.rank !== 2 || b.rank !== 2 || a.dtype !== 'float32' || b.dtype !== 'float32') {
        return previous.gradFunc(dy, saved, attrs);
      }
      const g = dy as Tensor;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      // d(op(A)·op(B)) for the four combinations of flags, each gradient one product.
      if (!transposeA && !transposeB) return { a: () => matMul(g, b, false, true), b: () => matMul(a, g, true, false) };
      if (!transposeA && transposeB) return { a: () => matMul(g, b, false, false), b: () => matMul(g, a, true, false) };
      if (transposeA && !transposeB) return { a: () => matMul(b, g, false, true), b: () => matMul(a, g, false, false) };
      return { a: () => matMul(b, g, true, true), b: () => matMul(g, a, true, true) };
    },
  };
}
