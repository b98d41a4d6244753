import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs, kernelReplacement } from './kernel-wrap.js';
import {
  I32,
  V128,
  type WasmFunction,
  type WasmMemory,
  byteLoop,
  functionBody,
  op,
  voidType,
  wasmBackendInternals,
  wasmHeapMemory,
  wasmModule,
} from './wasm-simd.js';

/*
 * tfjs-wasm 4.22 computes a matMul with XNNPACK's fully-connected operator, which packs the
 * right-hand operand into its own layout when the operator is created, and caches the operator
 * by that operand's tensor id. In training the operand is a new tensor on every call, so every
 * product pays for the packing, single-threaded: the 11 products of a mnist_vae step take 7.2–7.5
 * ms on 2 threads that way and 4.6 ms when the operand is reused (experiments/README.md, Speed).
 *
 * XNNPACK's result is, bit for bit, the plain float32 dot product summed in k order,
 * c = ((0 + a₀b₀) + a₁b₁) + …, with no fused multiply-add (`bench/matmul-order.mjs` in @vaelab/cli
 * checks the step's shapes). So this kernel computes exactly that, without packing: 4 rows × 8
 * columns of C at a time in WebAssembly SIMD registers, k in order, reading A and B where tfjs
 * keeps them. Rows are split between the calling thread and worker threads that run the same
 * compiled module on the same (shared) wasm heap. Every element is computed by the same operations in the
 * same order whatever the split, so the results are those of the stock kernel, bit for bit, on any
 * thread count.
 *
 * It serves float32, untransposed, rank-2 products (or rank 3 with a batch of 1) whose row count is
 * a multiple of 4 and column count a multiple of 8, on the threaded wasm build (shared memory);
 * everything else goes to the stock kernel.
 */

// gemm(a, b, c, K·4, N·4, i0, i1): rows [i0, i1) of C = A·B, A [M, K], B [K, N], C [M, N] row-major
const [A, B, C, K4, N4, I0, I1] = [0, 1, 2, 3, 4, 5, 6];
// i32 locals: byte column, row, byte k, the 4 row pointers into A, the pointer into B, into C
const [J, I, KK, PA0, PA1, PA2, PA3, PB, PC] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
// v128 locals: 8 accumulators (row r, half h at ACC + 2r + h), the two B vectors, the splatted a
const [ACC, B0, B1, AV] = [16, 24, 25, 26];
const I32_MUL = [0x6c];
const V128_LOAD_16 = [0xfd, 0x00, 0x00, 0x10]; // v128.load offset=16
const V128_STORE_16 = [0xfd, 0x0b, 0x00, 0x10]; // v128.store offset=16
const V128_LOAD32_SPLAT = [0xfd, 0x09, 0x02, 0x00]; // v128.load32_splat: one float, in all 4 lanes

function gemmFunction(): WasmFunction {
  const rows = [PA0, PA1, PA2, PA3];
  // one k: acc[r][h] = acc[r][h] + a[r][k]·b[k][j + 4h .. j + 4h + 3]
  const kStep = [
    ...op.get(PB), ...op.v128Load, ...op.set(B0),
    ...op.get(PB), ...V128_LOAD_16, ...op.set(B1),
    ...rows.flatMap((pa, r) => [
      ...op.get(pa), ...op.get(KK), ...op.i32Add, ...V128_LOAD32_SPLAT, ...op.set(AV),
      ...op.get(ACC + 2 * r), ...op.get(AV), ...op.get(B0), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(ACC + 2 * r),
      ...op.get(ACC + 2 * r + 1), ...op.get(AV), ...op.get(B1), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(ACC + 2 * r + 1),
    ]),
    ...op.get(PB), ...op.get(N4), ...op.i32Add, ...op.set(PB),
  ];
  // one 4×8 block of C at row I, byte column J
  const block = [
    ...Array.from({ length: 8 }, (_, q) => [...op.f32(0), ...op.f32x4Splat, ...op.set(ACC + q)]).flat(),
    ...op.get(A), ...op.get(I), ...op.get(K4), ...I32_MUL, ...op.i32Add, ...op.set(PA0),
    ...op.get(PA0), ...op.get(K4), ...op.i32Add, ...op.set(PA1),
    ...op.get(PA1), ...op.get(K4), ...op.i32Add, ...op.set(PA2),
    ...op.get(PA2), ...op.get(K4), ...op.i32Add, ...op.set(PA3),
    ...op.get(B), ...op.get(J), ...op.i32Add, ...op.set(PB),
    ...op.i32(0), ...op.set(KK),
    ...byteLoop(KK, K4, 4, kStep),
    ...op.get(C), ...op.get(I), ...op.get(N4), ...I32_MUL, ...op.i32Add, ...op.get(J), ...op.i32Add, ...op.set(PC),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...op.get(PC), ...op.get(ACC + 2 * r), ...op.v128Store,
      ...op.get(PC), ...op.get(ACC + 2 * r + 1), ...V128_STORE_16,
      ...op.get(PC), ...op.get(N4), ...op.i32Add, ...op.set(PC),
    ]),
  ];
  // for each 8-column strip (B's strip stays in cache), for each block of 4 rows in [i0, i1)
  const rowLoop = [
    ...op.get(I0), ...op.set(I),
    ...op.block, ...op.loop,
    ...op.get(I), ...op.get(I1), ...op.i32GeU, ...op.brIf(1),
    ...block,
    ...op.get(I), ...op.i32(4), ...op.i32Add, ...op.set(I),
    ...op.br(0), ...op.end, ...op.end,
  ];
  return {
    name: 'gemm',
    type: voidType(Array(7).fill(I32)),
    code: functionBody(
      [
        [9, I32],
        [11, V128],
      ],
      [...op.i32(0), ...op.set(J), ...byteLoop(J, N4, 32, rowLoop)],
    ),
  };
}

const moduleBytes = (shared = false) => wasmModule([gemmFunction()], shared);

type Gemm = (a: number, b: number, c: number, k4: number, n4: number, i0: number, i1: number) => void;

// The control block shared with the worker (Int32 slots).
const SEQ = 0; // job number, written by the caller
const DONE = 1; // the job number the worker finished
const READY = 2; // 1 once the worker runs (a worker that fails ends with an 'error' event)
const ARGS = 3; // 7 arguments of gemm
const SLOTS = ARGS + 7;
/** How long a worker spins for the next product before it sleeps, and the caller for a worker's rows. */
const SPIN_MS = 3;
const CALLER_SPIN_MS = 20;

/** The code the worker runs (CommonJS, eval). */
const WORKER = `
const { workerData } = require('node:worker_threads');
const { memory, module, control } = workerData;
const c = new Int32Array(control);
const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm;
Atomics.store(c, ${READY}, 1);
let seen = 0;
for (;;) {
  // Spin up to ${SPIN_MS} ms before sleeping: the next product usually follows within a millisecond,
  // and a thread woken from sleep was often placed on its waker's core, where the two halves then
  // ran one after the other (experiments/README.md, Speed).
  const until = performance.now() + ${SPIN_MS};
  while (Atomics.load(c, ${SEQ}) === seen && performance.now() < until) for (let i = 0; i < 256; i++);
  Atomics.wait(c, ${SEQ}, seen);
  seen = Atomics.load(c, ${SEQ});
  gemm(c[${ARGS}], c[${ARGS + 1}], c[${ARGS + 2}], c[${ARGS + 3}], c[${ARGS + 4}], c[${ARGS + 5}], c[${ARGS + 6}]);
  Atomics.store(c, ${DONE}, seen);
  Atomics.notify(c, ${DONE});
}
`;

interface Helper {
  control: Int32Array;
  /** The worker reported ready and has not failed or exited. */
  alive: boolean;
  /** The worker failed or exited: its rows are computed by the calling thread from now on. */
  dead: boolean;
}

interface Pool {
  memory: WasmMemory;
  gemm: Gemm;
  helpers: Helper[];
  seq: number;
}

let pool: Pool | null | undefined;
let wantHelpers = 1;
/** The WebAssembly API (tfjs-core's lib settings do not include the DOM's typings). */
declare const WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object, imports: object) => { exports: unknown } };
const WasmApi = WebAssembly;

/** The calling thread's module and the worker threads on the wasm backend's shared heap, or null. */
function poolFor(backend: unknown): Pool | null {
  const internals = wasmBackendInternals(backend);
  const memory = internals ? wasmHeapMemory(internals) : null;
  if (!memory || typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  if (pool !== undefined) return pool && pool.memory === memory ? pool : null;
  pool = null;
  const threads = typeof process !== 'undefined' ? process.getBuiltinModule?.('node:worker_threads') : undefined;
  if (!threads) return null;
  let started: Pool;
  let module: object;
  try {
    // One compiled module for every thread: V8 shares its code, and its optimized tier, between them.
    module = new WasmApi.Module(moduleBytes(true));
    const gemm = (new WasmApi.Instance(module, { env: { memory } }).exports as { gemm: Gemm }).gemm;
    started = { memory, gemm, helpers: [], seq: 0 };
  } catch {
    return null;
  }
  try {
    for (let w = 0; w < wantHelpers; w++) {
      const helper: Helper = { control: new Int32Array(new SharedArrayBuffer(SLOTS * 4)), alive: false, dead: false };
      const worker = new threads.Worker(WORKER, { eval: true, workerData: { memory, module, control: helper.control.buffer } });
      worker.unref();
      const gone = () => {
        helper.dead = true;
        helper.alive = false;
      };
      worker.on('error', gone);
      worker.on('exit', gone);
      started.helpers.push(helper);
    }
    // The workers are used once they report ready (a few milliseconds); until then the stock kernel runs.
    pool = started;
  } catch {
    pool = null;
  }
  return pool;
}

/** Whether every worker is up (or gone for good): then this kernel serves. */
function settled(p: Pool): boolean {
  for (const h of p.helpers) {
    if (!h.alive && !h.dead && Atomics.load(h.control, READY) === 1) h.alive = true;
    if (!h.alive && !h.dead) return false;
  }
  return true;
}

/** Rows [0, rows) of C = A·B, split in blocks of 4 rows between the live workers and this thread. */
function run(p: Pool, a: number, b: number, c: number, k: number, n: number, rows: number): void {
  const k4 = k * 4;
  const n4 = n * 4;
  // small products on this thread alone; otherwise worker w takes part w, this thread the last
  const parts = rows * k * n >= 1 << 18 ? p.helpers.reduce((count, h) => count + (h.alive ? 1 : 0), 1) : 1;
  const bound = (part: number) => Math.round((rows / 4) * (part / parts)) * 4;
  p.seq = (p.seq + 1) | 0;
  let part = 0;
  for (const h of p.helpers) {
    if (parts === 1 || !h.alive) continue;
    const ctl = h.control;
    ctl[ARGS] = a;
    ctl[ARGS + 1] = b;
    ctl[ARGS + 2] = c;
    ctl[ARGS + 3] = k4;
    ctl[ARGS + 4] = n4;
    ctl[ARGS + 5] = bound(part);
    ctl[ARGS + 6] = bound(++part);
    Atomics.store(ctl, SEQ, p.seq);
    Atomics.notify(ctl, SEQ);
  }
  p.gemm(a, b, c, k4, n4, bound(part), rows);
  // wait for each worker: spin (its rows take well under a millisecond more), then sleep in 1 s
  // slices; a worker that is gone has its rows computed here
  part = 0;
  for (const h of p.helpers) {
    if (parts === 1 || Atomics.load(h.control, SEQ) !== p.seq) continue;
    const from = bound(part);
    const to = bound(++part);
    const until = performance.now() + CALLER_SPIN_MS;
    while (Atomics.load(h.control, DONE) !== p.seq) {
      if (performance.now() < until) continue;
      if (Atomics.wait(h.control, DONE, Atomics.load(h.control, DONE), 1000) === 'timed-out' && h.dead) {
        p.gemm(a, b, c, k4, n4, from, to);
        break;
      }
    }
  }
}

const matMul = kernelReplacement('BatchMatMul', 'wasm', (stock) =>
  ((args: KernelArgs) => {
    const { a, b } = args.inputs as { a?: tf.TensorInfo; b?: tf.TensorInfo };
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    if (!a || !b || transposeA || transposeB || a.dtype !== 'float32' || b.dtype !== 'float32') return stock.kernelFunc(args);
    const rank = a.shape.length;
    if (rank !== b.shape.length || (rank !== 2 && !(rank === 3 && a.shape[0] === 1 && b.shape[0] === 1))) return stock.kernelFunc(args);
    const [m, k] = a.shape.slice(-2) as [number, number];
    const [k2, n] = b.shape.slice(-2) as [number, number];
    if (k !== k2 || m % 4 !== 0 || n % 8 !== 0 || m === 0 || n === 0 || k === 0) return stock.kernelFunc(args);
    const p = poolFor(args.backend);
    if (!p || !settled(p)) return stock.kernelFunc(args); // not the threaded build, or workers still starting
    const backend = wasmBackendInternals(args.backend)!;
    const out = backend.makeOutput(rank === 3 ? [1, m, n] : [m, n], 'float32');
    // offsets after the allocation: it may have grown the heap (a shared heap grows in place)
    const ptr = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
    run(p, ptr(a), ptr(b), ptr(out), k, n, m);
    return out;
  }) as tf.KernelFunc,
);

/**
 * Replaces the wasm backend's BatchMatMul with the k-ordered SIMD kernel above, computing on
 * `threads` threads (the calling one and `threads − 1` workers, started on the first product it
 * could serve) on the threaded build; elsewhere every product goes to the stock kernel. Same bits
 * as the stock kernel either way. Idempotent (the thread count is fixed by the first call that
 * started the workers).
 */
export function installWasmMatMul(threads = 2): void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`installWasmMatMul: threads must be a positive integer, got ${threads}`);
  if (pool === undefined) wantHelpers = threads - 1;
  matMul.install();
  if (tf.getBackend() === 'wasm') poolFor(tf.backend()); // start the workers now, ready for the first step
}

/** Puts the stock wasm BatchMatMul back (tests and benchmarks that compare the two). */
export function uninstallWasmMatMul(): void {
  matMul.uninstall();
}

/**
 * Threads the kernel computes a large product with: 1 + its live workers, or 0 while it does not
 * serve (not the threaded build, or its workers still starting). For tests and benchmarks.
 */
export function wasmMatMulThreads(): number {
  if (!pool || !settled(pool)) return 0;
  return 1 + pool.helpers.filter((h) => h.alive).length;
}
