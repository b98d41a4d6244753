/*
 * Hand-written WebAssembly SIMD kernels for fused optimizer updates, assembled here from their
 * opcodes (a few hundred bytes; no toolchain at install or build time). The module imports the
 * tfjs-wasm backend's own memory, so it reads gradients and slots where tfjs keeps them and
 * writes results into tensors tfjs has allocated: no copies in or out.
 *
 * Every arithmetic step is one IEEE float32 operation in the order tf.train.adam applies its
 * kernels, so the result equals tfjs's to the bit (f32x4 add/mul/div/sqrt are correctly rounded,
 * as are tfjs-wasm's elementwise kernels). See fused-adam.ts for the formula.
 */

import {
  F32,
  I32,
  V128,
  type WasmFunction,
  type WasmMemory,
  byteLoop,
  instantiateOnMemory,
  wasmOp as op,
  uleb,
  wasmModule,
  wasmValidates,
  wasmVec as vec,
} from '@vaelab/core';

export { isWasmMemory } from '@vaelab/core';

/**
 * An elementwise kernel over `pointers` float32 arrays of `n` elements with `scalars` float32
 * parameters: a 4-wide SIMD loop, then a scalar loop for the last n mod 4 elements. `body` emits
 * one element's (or four elements') work given how to load, store and combine values.
 */
interface Lane {
  /** Push the value at pointer parameter `p` (this element / these four). */
  load: (p: number) => number[];
  /** Store what `value` pushes at pointer parameter `p`. */
  store: (p: number, value: number[]) => number[];
  /** Push scalar parameter `s` (splatted in the SIMD loop). */
  scalar: (s: number) => number[];
  /** Temporaries: push / pop local `t` (0-based). */
  getTemp: (t: number) => number[];
  setTemp: (t: number) => number[];
  add: number[];
  sub: number[];
  mul: number[];
  div: number[];
  sqrt: number[];
}

function elementwiseKernel(pointers: number, scalars: number, temps: number, body: (lane: Lane) => number[]): { type: number[]; code: number[] } {
  // params: pointers (i32), n (i32), scalars (f32); locals: offset, end (i32), splats and
  // temps (v128), scalar temps (f32)
  const n = pointers;
  const firstScalar = pointers + 1;
  const offset = firstScalar + scalars;
  const end = offset + 1;
  const firstSplat = end + 1;
  const firstVecTemp = firstSplat + scalars;
  const firstScalarTemp = firstVecTemp + temps;
  const at = (p: number) => [...op.get(p), ...op.get(offset), ...op.i32Add];
  const simd: Lane = {
    load: (p) => [...at(p), ...op.v128Load],
    store: (p, value) => [...at(p), ...value, ...op.v128Store],
    scalar: (s) => op.get(firstSplat + s),
    getTemp: (t) => op.get(firstVecTemp + t),
    setTemp: (t) => op.set(firstVecTemp + t),
    add: op.f32x4Add,
    sub: op.f32x4Sub,
    mul: op.f32x4Mul,
    div: op.f32x4Div,
    sqrt: op.f32x4Sqrt,
  };
  const scalar: Lane = {
    load: (p) => [...at(p), ...op.f32Load],
    store: (p, value) => [...at(p), ...value, ...op.f32Store],
    scalar: (s) => op.get(firstScalar + s),
    getTemp: (t) => op.get(firstScalarTemp + t),
    setTemp: (t) => op.set(firstScalarTemp + t),
    add: op.f32Add,
    sub: op.f32Sub,
    mul: op.f32Mul,
    div: op.f32Div,
    sqrt: op.f32Sqrt,
  };
  const loopUntil = (step: number, lane: Lane) => byteLoop(offset, end, step, body(lane));
  const instructions = [
    ...Array.from({ length: scalars }, (_, s) => [...op.get(firstScalar + s), ...op.f32x4Splat, ...op.set(firstSplat + s)]).flat(),
    // end = (n & ~3) * 4 bytes: the SIMD part
    ...op.get(n),
    ...op.i32(-4),
    ...op.i32And,
    ...op.i32(2),
    ...op.i32Shl,
    ...op.set(end),
    ...loopUntil(16, simd),
    // end = n * 4 bytes: the rest, one element at a time
    ...op.get(n),
    ...op.i32(2),
    ...op.i32Shl,
    ...op.set(end),
    ...loopUntil(4, scalar),
    ...op.end,
  ];
  const locals = vec([
    [...uleb(2), I32],
    [...uleb(scalars + temps), V128],
    [...uleb(temps), F32],
  ]);
  const code = [...locals, ...instructions];
  const type = [0x60, ...vec([...Array(pointers + 1).fill([I32]), ...Array(scalars).fill([F32])]), ...vec([])];
  return { type, code: [...uleb(code.length), ...code] };
}

/*
 * adam(param, grad, m, v, out, n, beta1, 1−beta1, beta2, 1−beta2, 1−beta1ᵗ, 1−beta2ᵗ, epsilon, −lr):
 *   m ← m·β₁ + g·(1−β₁);  v ← v·β₂ + g²·(1−β₂)   (in place)
 *   out ← (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε) · (−lr) + param
 */
const ADAM = elementwiseKernel(5, 8, 2, (l) => {
  const [P, G, M, V, OUT] = [0, 1, 2, 3, 4];
  const [B1, OMB1, B2, OMB2, CB1, CB2, EPS, NEGLR] = [0, 1, 2, 3, 4, 5, 6, 7];
  return [
    ...l.load(M), ...l.scalar(B1), ...l.mul, ...l.load(G), ...l.scalar(OMB1), ...l.mul, ...l.add, ...l.setTemp(0),
    ...l.store(M, l.getTemp(0)),
    ...l.load(V), ...l.scalar(B2), ...l.mul, ...l.load(G), ...l.load(G), ...l.mul, ...l.scalar(OMB2), ...l.mul, ...l.add, ...l.setTemp(1),
    ...l.store(V, l.getTemp(1)),
    ...l.store(OUT, [
      ...l.getTemp(0), ...l.scalar(CB1), ...l.div,
      ...l.getTemp(1), ...l.scalar(CB2), ...l.div, ...l.sqrt, ...l.scalar(EPS), ...l.add,
      ...l.div, ...l.scalar(NEGLR), ...l.mul, ...l.load(P), ...l.add,
    ]),
  ];
});

/*
 * momentum(param, grad, acc, out, n, momentum, −lr) and nesterov(…same…), as tf.train.momentum:
 *   acc ← momentum·acc + g;  out ← (−lr)·acc + param,  or for Nesterov (−lr)·(g + acc·momentum) + param
 */
const MOMENTUM = (nesterov: boolean) =>
  elementwiseKernel(4, 2, 1, (l) => {
    const [P, G, A, OUT] = [0, 1, 2, 3];
    const [MU, NEGLR] = [0, 1];
    return [
      ...l.scalar(MU), ...l.load(A), ...l.mul, ...l.load(G), ...l.add, ...l.setTemp(0),
      ...l.store(A, l.getTemp(0)),
      ...l.store(OUT, nesterov
        ? [...l.scalar(NEGLR), ...l.load(G), ...l.getTemp(0), ...l.scalar(MU), ...l.mul, ...l.add, ...l.mul, ...l.load(P), ...l.add]
        : [...l.scalar(NEGLR), ...l.getTemp(0), ...l.mul, ...l.load(P), ...l.add]),
    ];
  });

/* sgd(param, grad, out, n, −lr), as tf.train.sgd: out ← (−lr)·g + param */
const SGD = elementwiseKernel(3, 1, 0, (l) => [...l.store(2, [...l.scalar(0), ...l.load(1), ...l.mul, ...l.load(0), ...l.add])]);

/*
 * rmsprop(param, grad, ms, mom, out, n, decay, 1−decay, momentum, lr, epsilon), as tf.train.rmsprop
 * (not centered):  ms ← ms·decay + g²·(1−decay);  mom ← mom·momentum + (g·lr)/√(ms + ε);  out ← param − mom
 */
const RMSPROP = elementwiseKernel(5, 5, 2, (l) => {
  const [P, G, MS, MOM, OUT] = [0, 1, 2, 3, 4];
  const [DECAY, OMDECAY, MU, LR, EPS] = [0, 1, 2, 3, 4];
  return [
    ...l.load(MS), ...l.scalar(DECAY), ...l.mul, ...l.load(G), ...l.load(G), ...l.mul, ...l.scalar(OMDECAY), ...l.mul, ...l.add, ...l.setTemp(0),
    ...l.store(MS, l.getTemp(0)),
    ...l.load(MOM), ...l.scalar(MU), ...l.mul,
    ...l.load(G), ...l.scalar(LR), ...l.mul, ...l.getTemp(0), ...l.scalar(EPS), ...l.add, ...l.sqrt, ...l.div,
    ...l.add, ...l.setTemp(1),
    ...l.store(MOM, l.getTemp(1)),
    ...l.store(OUT, [...l.load(P), ...l.getTemp(1), ...l.sub]),
  ];
});

const KERNELS = [
  { name: 'adam', ...ADAM },
  { name: 'momentum', ...MOMENTUM(false) },
  { name: 'nesterov', ...MOMENTUM(true) },
  { name: 'sgd', ...SGD },
  { name: 'rmsprop', ...RMSPROP },
] as const;

function moduleBytes(shared = false): Uint8Array {
  return wasmModule(
    KERNELS.map((k): WasmFunction => ({ name: k.name, type: k.type, code: k.code })),
    shared,
  );
}

export type KernelName = (typeof KERNELS)[number]['name'];

/**
 * Each kernel takes the byte offsets of (param, grad, ...slots, out), the element count, then its
 * float32 scalars; slots are updated in place, the new parameter is written to `out`.
 */
export type WasmKernels = Record<KernelName, (...args: number[]) => void>;

const instances = new WeakMap<WasmMemory, WasmKernels | null>();

/**
 * The kernels bound to `memory`, or null where this runtime cannot compile them (no WebAssembly
 * SIMD). Compiled once per memory.
 */
export function wasmKernels(memory: WasmMemory): WasmKernels | null {
  return instantiateOnMemory(instances, memory, moduleBytes);
}

/** The module's bytes, for tests. */
export const kernelModuleBytes = moduleBytes;

/** Whether this runtime accepts the kernel module (WebAssembly with SIMD). */
export function kernelsValidate(): boolean {
  return wasmValidates(moduleBytes());
}
