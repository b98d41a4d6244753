export { CORE_VERSION, type CoreCopy, DISTRIBUTION_KEY, coreCopies, isBrandedInstance, isDistributionInstance } from './brand.js';
export * from './errors.js';
export * from './random.js';
export * from './distribution.js';
export * from './tensor.js';
export * from './logspace.js';
export * from './kl.js';
export * from './normal.js';
export * from './categorical.js';
export * from './mixture.js';
export * from './contracts.js';
export * from './registry.js';
export * from './backend.js';
export {
  MAX_WASM_THREADS,
  WASM_THREADS_ENV,
  WASM_THREADS_TESTED_VERSION,
  type WasmThreadsSetting,
  type WasmThreadsState,
  resolveWasmThreads,
  wasmThreadsState,
} from './wasm-threads.js';
export { installWasmTranspose, transposeSplit, uninstallWasmTranspose } from './wasm-transpose.js';
export type { KernelArgs } from './kernel-wrap.js';
export { installWasmSumGradient } from './sum-gradient.js';
export { installWasmIdentity, uninstallWasmIdentity } from './wasm-identity.js';
export { installWasmMatMul, uninstallWasmMatMul, wasmMatMulThreads } from './wasm-matmul.js';
export {
  F32,
  FUSED_KERNELS_ENV,
  I32,
  V128,
  type WasmBackendInternals,
  type WasmFunction,
  type WasmMemory,
  byteLoop,
  functionBody,
  fusedKernelsEnabled,
  instantiateOnMemory,
  isWasmMemory,
  kernelsOnHeap,
  op as wasmOp,
  setFusedKernels,
  uleb,
  voidType,
  wasmBackendInternals,
  wasmHeapMemory,
  wasmModule,
  wasmValidates,
  wasmVec,
} from './wasm-simd.js';
export { type HeapKernel, type HeapKernelName, heapKernel, setHeapKernel } from './heap-kernels.js';
