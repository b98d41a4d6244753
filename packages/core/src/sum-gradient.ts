import * as tf from '@tensorflow/tfjs-core';
import type { KernelArgs } from './kernel-wrap.js';
import {
  I32,
  V128,
  type WasmMemory,
  byteLoop,
  functionBody,
  kernelsOnHeap,
  op,
  voidType,
  wasmBackendInternals,
  wasmModule,
} from './wasm-simd.js';

/*
 * tfjs's gradient of Sum broadcasts dy back to the input's shape by multiplying it with
 * `ones(x.shape)`: a new Float32Array of the input's size built in JavaScript, copied to the
 * backend and multiplied, every step. For the Bernoulli log-density of a batch of 128 MNIST images
 * that is 400 KB of fresh memory per step (about half of what a default mnist_vae step allocates
 * in JavaScript; fresh memory costs ~4 ms per MB here the first time it is touched) and one more
 * kernel. On wasm, when the reduced axes are the trailing ones (sumEvent's case) and the rows are
 * a multiple of 4 long, this writes each dy value across its row with one WebAssembly SIMD pass
 * instead. It is pure data movement, and dy·1 = dy exactly, so the result is bit-identical to the
 * stock gradient (sum-gradient.test.ts). Every other case goes to the stock gradient.
 */

/* rows(dy, out, rows, rowBytes): out[r·m + j] = dy[r] for j < m (m·4 = rowBytes, m a multiple of 4) */
const ROWS = (() => {
  const [DY, OUT, ROWS_N, ROW_BYTES] = [0, 1, 2, 3];
  const [r, rEnd, o, oEnd, v] = [4, 5, 6, 7, 8];
  const store = [...op.get(OUT), ...op.get(o), ...op.i32Add, ...op.get(v), ...op.v128Store];
  const row = [
    ...op.get(DY), ...op.get(r), ...op.i32Add, ...op.f32Load, ...op.f32x4Splat, ...op.set(v),
    ...op.get(o), ...op.get(ROW_BYTES), ...op.i32Add, ...op.set(oEnd),
    ...byteLoop(o, oEnd, 16, store),
  ];
  const instructions = [...op.get(ROWS_N), ...op.i32(2), ...op.i32Shl, ...op.set(rEnd), ...byteLoop(r, rEnd, 4, row)];
  return { name: 'rows', type: voidType([I32, I32, I32, I32]), code: functionBody([[4, I32], [1, V128]], instructions) };
})();

const moduleBytes = (shared = false) => wasmModule([ROWS], shared);
const instances = new WeakMap<WasmMemory, { rows(dy: number, out: number, rows: number, rowBytes: number): void } | null>();

const KERNEL = 'VaelabBroadcastRows';

/** The axes a Sum reduces, normalized (tfjs: a number, a list, or every axis when absent). */
function reducedAxes(axis: unknown, rank: number): number[] {
  const list = axis === undefined || axis === null ? Array.from({ length: rank }, (_, i) => i) : Array.isArray(axis) ? axis : [axis];
  return [...new Set((list as number[]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
}

let installed = false;

/**
 * Replaces the gradient of Sum with one that, on wasm, broadcasts dy over trailing reduced axes by
 * one SIMD pass (same values, no `ones` tensor). Idempotent; a no-op where Sum has no gradient.
 */
export function installWasmSumGradient(): void {
  if (installed) return;
  const stock = tf.getGradient('Sum');
  if (!stock) return;
  if (!tf.getKernel(KERNEL, 'wasm')) {
    tf.registerKernel({
      kernelName: KERNEL,
      backendName: 'wasm',
      kernelFunc: ((args: KernelArgs) => {
        const backend = wasmBackendInternals(args.backend)!;
        const dy = args.inputs.x as tf.TensorInfo;
        const shape = (args.attrs as unknown as { shape: number[] }).shape;
        const out = backend.makeOutput([...shape], 'float32');
        const rows = dy.shape.reduce((a, b) => a * b, 1);
        const size = shape.reduce((a, b) => a * b, 1);
        const kernels = kernelsOnHeap(instances, moduleBytes, args.backend)!;
        kernels.rows(backend.getMemoryOffset(dy.dataId), backend.getMemoryOffset(out.dataId), rows, (size / rows) * 4);
        return out;
      }) as tf.KernelFunc,
    });
  }
  tf.registerGradient({
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const g = dy as tf.Tensor;
      const axes = reducedAxes((attrs as { axis?: unknown } | undefined)?.axis, x.rank);
      const trailing = axes.length > 0 && axes.every((a, i) => a === x.rank - axes.length + i);
      const inner = x.shape.slice(x.rank - axes.length).reduce((a, b) => a * b, 1);
      if (trailing && inner % 4 === 0 && inner > 0 && x.dtype === 'float32' && g.dtype === 'float32' && kernelsOnHeap(instances, moduleBytes) !== null) {
        return { x: () => tf.engine().runKernel(KERNEL, { x: g }, { shape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor };
      }
      return stock.gradFunc(dy, saved, attrs);
    },
  });
  installed = true;
}
