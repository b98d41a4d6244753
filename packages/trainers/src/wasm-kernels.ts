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

/*
 * The few WebAssembly JS API members used here. Declared locally: the packages compile without
 * the DOM library, and @types/node 20 does not declare the WebAssembly namespace.
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

// --- a minimal encoder for the WebAssembly binary format (core spec §5, SIMD proposal opcodes) ---

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
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

const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

/** Instructions used by the kernels. Memory arguments use alignment hint 0 (any address). */
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n)],
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
  v128Load: [0xfd, ...uleb(0x00), 0, 0],
  v128Store: [0xfd, ...uleb(0x0b), 0, 0],
  f32x4Splat: [0xfd, ...uleb(0x13)],
  f32x4Sqrt: [0xfd, ...uleb(0xe3)],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Sub: [0xfd, ...uleb(0xe5)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
  f32x4Div: [0xfd, ...uleb(0xe7)],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  end: [0x0b],
};

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
  const loopUntil = (step: number, lane: Lane) => [
    ...op.block,
    ...op.loop,
    ...op.get(offset),
    ...op.get(end),
    ...op.i32GeU,
    ...op.brIf(1),
    ...body(lane),
    ...op.get(offset),
    ...op.i32(step),
    ...op.i32Add,
    ...op.set(offset),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
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

/**
 * `shared`: the memory to import is shared (tfjs-wasm's threaded build); a shared import must say so
 * and give a maximum, here the largest a 32-bit memory can have, so any shared memory fits.
 */
function moduleBytes(shared = false): Uint8Array {
  const kernels = KERNELS;
  const limits = shared ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(kernels.map((k) => k.type))),
    // import env.memory: the tfjs-wasm heap (minimum 1 page, no maximum unless shared: any memory fits)
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec(kernels.map((_, i) => uleb(i)))),
    ...section(7, vec(kernels.map((k, i) => [...name(k.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(kernels.map((k) => k.code))),
  ]);
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
  if (instances.has(memory)) return instances.get(memory)!;
  let kernels: WasmKernels | null = null;
  try {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const module = new WebAssembly.Module(moduleBytes(shared));
    kernels = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as WasmKernels;
  } catch {
    kernels = null;
  }
  instances.set(memory, kernels);
  return kernels;
}

/** The module's bytes, for tests. */
export const kernelModuleBytes = moduleBytes;

/** Whether this runtime accepts the kernel module (WebAssembly with SIMD). */
export function kernelsValidate(): boolean {
  return typeof WebAssembly !== 'undefined' && WebAssembly.validate(moduleBytes());
}
