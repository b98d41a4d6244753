import * as tf from '@tensorflow/tfjs-core';

/*
 * What the hand-written WebAssembly SIMD kernels of VAE Lab share (the fused optimizer updates in
 * @vaelab/trainers, the fused likelihood terms in @vaelab/likelihoods): a minimal encoder for the
 * WebAssembly binary format (core spec §5 and the SIMD proposal's opcodes), so a kernel is a few
 * hundred bytes assembled at run time with no toolchain at install or build time, and access to
 * the tfjs-wasm backend's heap, so a kernel reads and writes tensors where tfjs keeps them.
 */

/*
 * The few WebAssembly JS API members used. Declared locally: the packages compile without the DOM
 * library, and @types/node 20 does not declare the WebAssembly namespace.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
declare const WebAssembly: {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
};

/** Whether `x` is a WebAssembly.Memory (the tfjs-wasm heap exposes one). */
export function isWasmMemory(x: unknown): x is WasmMemory {
  return typeof WebAssembly !== 'undefined' && x instanceof WebAssembly.Memory;
}

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** A float32 immediate, little-endian. */
function f32Bytes(x: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return Array.from(b);
}

export const wasmName = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
export const wasmVec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const wasmSection = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const simd = (code: number) => [0xfd, ...uleb(code)];

/** Instructions used by the kernels. Memory arguments use alignment hint 0 (any address). */
export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n)],
  f32: (x: number) => [0x43, ...f32Bytes(x)],
  i32Add: [0x6a],
  i32And: [0x71],
  i32Shl: [0x74],
  i32GeU: [0x4f],
  f32Load: [0x2a, 0, 0],
  f32Store: [0x38, 0, 0],
  f32Sqrt: [0x91],
  f32Add: [0x92],
  f32Sub: [0x93],
  f32Mul: [0x94],
  f32Div: [0x95],
  v128Load: [...simd(0x00), 0, 0],
  v128Store: [...simd(0x0b), 0, 0],
  v128And: simd(0x4e),
  v128Bitselect: simd(0x52),
  f32x4Splat: simd(0x13),
  f32x4Ge: simd(0x46),
  f32x4Nearest: simd(0x6a),
  i32x4Shl: simd(0xab),
  i32x4Add: simd(0xae),
  f32x4Abs: simd(0xe0),
  f32x4Neg: simd(0xe1),
  f32x4Sqrt: simd(0xe3),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  f32x4Max: simd(0xe9),
  i32x4TruncSatF32x4S: simd(0xf8),
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  end: [0x0b],
};

/**
 * `while (offset < end) { body; offset += step }` over i32 locals `offset` and `end` (byte
 * offsets): the loop every elementwise kernel runs.
 */
export function byteLoop(offset: number, end: number, step: number, body: number[]): number[] {
  return [
    ...op.block,
    ...op.loop,
    ...op.get(offset),
    ...op.get(end),
    ...op.i32GeU,
    ...op.brIf(1),
    ...body,
    ...op.get(offset),
    ...op.i32(step),
    ...op.i32Add,
    ...op.set(offset),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

/** A function of a module: its type (params, no results) and its body with locals. */
export interface WasmFunction {
  name: string;
  type: number[];
  code: number[];
}

/** A function type taking `params` value types and returning nothing. */
export function voidType(params: number[]): number[] {
  return [0x60, ...wasmVec(params.map((p) => [p])), ...wasmVec([])];
}

/** A function body: `locals` as [count, type] runs, then the instructions (an `end` is appended). */
export function functionBody(locals: [number, number][], instructions: number[]): number[] {
  const body = [...wasmVec(locals.map(([n, t]) => [...uleb(n), t])), ...instructions, ...op.end];
  return [...uleb(body.length), ...body];
}

/**
 * A module of `functions` that imports `env.memory`, exported by name. `shared`: the memory to
 * import is shared (tfjs-wasm's threaded build); a shared import must say so and give a maximum,
 * here the largest a 32-bit memory can have, so any shared memory fits.
 */
export function wasmModule(functions: readonly WasmFunction[], shared = false): Uint8Array {
  const limits = shared ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...wasmSection(1, wasmVec(functions.map((f) => f.type))),
    ...wasmSection(2, wasmVec([[...wasmName('env'), ...wasmName('memory'), 0x02, ...limits]])),
    ...wasmSection(3, wasmVec(functions.map((_, i) => uleb(i)))),
    ...wasmSection(7, wasmVec(functions.map((f, i) => [...wasmName(f.name), 0x00, ...uleb(i)]))),
    ...wasmSection(10, wasmVec(functions.map((f) => f.code))),
  ]);
}

/**
 * Instantiates `bytes(shared)` against `memory`, once per (memory, cache); null where this runtime
 * cannot compile it (no WebAssembly SIMD).
 */
export function instantiateOnMemory<T>(cache: WeakMap<WasmMemory, T | null>, memory: WasmMemory, bytes: (shared: boolean) => Uint8Array): T | null {
  if (cache.has(memory)) return cache.get(memory)!;
  let exports: T | null = null;
  try {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    exports = new WebAssembly.Instance(new WebAssembly.Module(bytes(shared)), { env: { memory } }).exports as T;
  } catch {
    exports = null;
  }
  cache.set(memory, exports);
  return exports;
}

/** Whether this runtime accepts `bytes` (e.g. WebAssembly with SIMD). */
export function wasmValidates(bytes: Uint8Array): boolean {
  return typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes);
}

/** The private parts of tfjs-backend-wasm 4.22 the kernels use; checked before use. */
export interface WasmBackendInternals {
  wasm: { asm?: { memory?: unknown }; wasmMemory?: unknown; HEAPF32: Float32Array };
  getMemoryOffset(dataId: object): number;
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  refCount(dataId: object): number;
}

/** The wasm backend's internals when `backend` (default: the active one) is tfjs-wasm 4.x, else null. */
export function wasmBackendInternals(backend: unknown = tf.getBackend() === 'wasm' ? tf.backend() : null): WasmBackendInternals | null {
  const b = backend as Partial<WasmBackendInternals> | null;
  if (!b || typeof b.getMemoryOffset !== 'function' || typeof b.makeOutput !== 'function' || typeof b.refCount !== 'function') return null;
  if (!(b.wasm?.HEAPF32 instanceof Float32Array)) return null;
  return b as WasmBackendInternals;
}

/** The heap of the wasm backend: the single-threaded build exports its memory, the threaded one imports it. */
export function wasmHeapMemory(backend: WasmBackendInternals): WasmMemory | null {
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  return isWasmMemory(memory) ? memory : null;
}

/**
 * The module `bytes` instantiated on the heap of `backend` (default: the active backend), cached
 * per heap in `cache`; null when that backend is not tfjs-wasm or the runtime cannot compile the
 * module. What a wasm kernel calls to run, and what its "does the fused path apply" check asks.
 */
export function kernelsOnHeap<T>(cache: WeakMap<WasmMemory, T | null>, bytes: (shared: boolean) => Uint8Array, backend?: unknown): T | null {
  const internals = backend === undefined ? wasmBackendInternals() : wasmBackendInternals(backend);
  const memory = internals ? wasmHeapMemory(internals) : null;
  return memory ? instantiateOnMemory(cache, memory, bytes) : null;
}

/** Environment variable: `1` turns VAE Lab's fused likelihood kernels on (off by default). */
export const FUSED_KERNELS_ENV = 'VAELAB_FUSED_KERNELS';
let fusedOverride: boolean | null = null;

/**
 * Whether VAE Lab's fused wasm kernels for likelihood terms run: only with VAELAB_FUSED_KERNELS=1
 * or setFusedKernels(true). They agree with the stock tfjs kernels to a few float32 units in the
 * last place, not to the bit, so they are opt-in: off, every result of earlier versions
 * reproduces bit for bit.
 */
export function fusedKernelsEnabled(): boolean {
  if (fusedOverride !== null) return fusedOverride;
  return typeof process !== 'undefined' && process.env?.[FUSED_KERNELS_ENV] === '1';
}

/** Overrides VAELAB_FUSED_KERNELS for this process (null: back to the environment). */
export function setFusedKernels(on: boolean | null): void {
  fusedOverride = on;
}
