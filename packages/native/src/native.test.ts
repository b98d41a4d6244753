import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNative, nativeAvailable, nativeCounters, nativeStatus, setNativeThreads, uninstallNative, type NativeInstall } from './index.js';

/*
 * The native BatchMatMul on the wasm backend against tfjs's cpu backend. These tests need the
 * addon: they fail (never skip) with the way to build it when it is missing.
 */

let install: NativeInstall;

beforeAll(() => {
  expect(tf.getBackend()).toBe('wasm'); // vitest.setup.ts selects it
  install = installNative();
  if (!install.ok) {
    throw new Error(
      `@vaelab/native's addon is needed for these tests and did not load: ${install.reason}. ` +
        'Install OpenBLAS (apt-get install libopenblas-dev) and run: npm run build:native -w @vaelab/native',
    );
  }
});

afterAll(() => uninstallNative());

/** Deterministic values in [-1, 1) with some exact zeros. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = i % 11 === 0 ? 0 : s / 2 ** 31 - 1;
  }
  return out;
}

/** Run fn with the cpu backend active (tensors made inside live there), then return to wasm. */
async function onCpu<T>(fn: () => T): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return fn();
  } finally {
    await tf.setBackend('wasm');
  }
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

interface Case {
  a: number[];
  b: number[];
  ta: boolean;
  tb: boolean;
  k: number;
}

/** A shape [..batch, rows, cols] as stored, given the logical op(X) dims and the flag. */
function stored(batch: number[], rows: number, cols: number, transposed: boolean): number[] {
  return transposed ? [...batch, cols, rows] : [...batch, rows, cols];
}

const CASES: Case[] = [];
const SHAPES: [number[], number[], number, number, number][] = [
  // batch dims of A, of B, m, k, n
  [[], [], 1, 1, 1],
  [[], [], 3, 5, 7],
  [[], [], 17, 33, 9],
  [[], [], 128, 97, 65],
  [[], [], 1, 64, 1],
  [[], [], 31, 1, 29],
  [[4], [4], 5, 6, 3],
  [[1], [4], 5, 6, 3],
  [[4], [1], 7, 2, 5],
  [[3], [], 5, 6, 3],
  [[], [3], 5, 6, 3],
  [[2, 3], [2, 3], 2, 9, 4],
];
for (const [ba, bb, m, k, n] of SHAPES) {
  for (const ta of [false, true]) {
    for (const tb of [false, true]) CASES.push({ a: stored(ba, m, k, ta), b: stored(bb, k, n, tb), ta, tb, k });
  }
}

/** Σ_k |a||b| for each output element: the scale of its rounding error. */
function absBound(av: Float32Array, bv: Float32Array, c: Case): Float64Array {
  const absA = tf.tidy(() => tf.matMul(tf.tensor(av.map(Math.abs), c.a), tf.tensor(bv.map(Math.abs), c.b), c.ta, c.tb).dataSync());
  return Float64Array.from(absA);
}

describe('native BatchMatMul', () => {
  it('reports OpenBLAS and its thread count', () => {
    expect(install).toMatchObject({ ok: true, kernels: ['BatchMatMul'], gradient: true });
    expect(nativeAvailable()).toEqual({ ok: true });
    if (!install.ok) return;
    expect(install.blas).toMatch(/OpenBLAS/);
    expect(install.threads).toBeGreaterThanOrEqual(1);
    if (process.env.OPENBLAS_NUM_THREADS) expect(install.threadsFrom).toBe('OPENBLAS_NUM_THREADS');
    else expect(install).toMatchObject({ threads: 1, threadsFrom: 'default' });
    expect(installNative()).toEqual(install); // idempotent
  });

  it('equals the cpu backend for the four transpose combinations, rank 2 to 4, broadcast batches and odd sizes', async () => {
    const inputs = CASES.map((c, i) => ({ c, av: values(size(c.a), 2 * i + 1), bv: values(size(c.b), 2 * i + 2) }));
    const reference = await onCpu(() =>
      inputs.map(({ c, av, bv }) => tf.tidy(() => {
        const out = tf.matMul(tf.tensor(av, c.a), tf.tensor(bv, c.b), c.ta, c.tb);
        return { shape: out.shape, data: out.dataSync() as Float32Array };
      })),
    );
    expect(tf.getBackend()).toBe('wasm');
    for (const [i, { c, av, bv }] of inputs.entries()) {
      const before = nativeCounters().native;
      const out = tf.tidy(() => tf.matMul(tf.tensor(av, c.a), tf.tensor(bv, c.b), c.ta, c.tb));
      const got = out.dataSync();
      out.dispose();
      const label = `${JSON.stringify(c.a)}${c.ta ? 'ᵀ' : ''} · ${JSON.stringify(c.b)}${c.tb ? 'ᵀ' : ''}`;
      expect(nativeCounters().native - before, label).toBe(1);
      expect(out.shape, label).toEqual(reference[i]!.shape);
      // Two float32 sums of k products, each within k·2^-24·Σ|a||b| of the exact one (and in practice far closer).
      const bound = absBound(av, bv, c);
      for (let j = 0; j < got.length; j++) {
        const tolerance = 2 * c.k * 2 ** -24 * bound[j]! + 1e-30;
        expect(Math.abs(got[j]! - reference[i]!.data[j]!), `${label}, element ${j}`).toBeLessThanOrEqual(tolerance);
      }
    }
  });

  it('passes batch dims that both broadcast to the stock kernel, with its result', () => {
    for (const [sa, sb] of [
      [[2, 1, 3, 4], [1, 3, 4, 5]],
      [[3, 3, 4], [2, 3, 4, 5]],
    ] as [number[], number[]][]) {
      const av = values(size(sa), 51);
      const bv = values(size(sb), 52);
      const product = () => tf.tidy(() => tf.matMul(tf.tensor(av, sa), tf.tensor(bv, sb)).dataSync() as Float32Array);
      const before = nativeCounters();
      const got = product();
      expect(nativeCounters().fallback - before.fallback).toBe(1);
      expect(nativeCounters().native).toBe(before.native);
      uninstallNative();
      let stock: Float32Array;
      try {
        stock = product();
      } finally {
        expect(installNative().ok).toBe(true);
      }
      expect(Array.from(got)).toEqual(Array.from(stock));
    }
  });

  it('handles empty products: m = 0 gives an empty result, k = 0 a zero one', () => {
    const empty = tf.matMul(tf.zeros([0, 3]), tf.ones([3, 4]));
    expect(empty.shape).toEqual([0, 4]);
    const zero = tf.matMul(tf.ones([2, 0]), tf.ones([0, 3]));
    expect(zero.shape).toEqual([2, 3]);
    expect(Array.from(zero.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    tf.dispose([empty, zero]);
  });

  it("throws tfjs's own error for mismatched inner sizes, leaking nothing", () => {
    const a = tf.ones([2, 3]);
    const b = tf.ones([4, 5]);
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    expect(() => tf.matMul(a, b)).toThrow(/inner shapes \(3\) and \(4\)/);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
    tf.dispose([a, b]);
  });

  it('stays correct when the wasm memory grows between calls (the heap buffer is fetched per call)', () => {
    const a = tf.tensor(values(64 * 48, 7), [64, 48]);
    const b = tf.tensor(values(48 * 32, 8), [48, 32]);
    const first = tf.matMul(a, b).dataSync().slice();
    const heap = tf.engine().backend as unknown as { wasm: { HEAPU8: Uint8Array } };
    const bytesBefore = heap.wasm.HEAPU8.buffer.byteLength;
    const big = tf.zeros([heap.wasm.HEAPU8.buffer.byteLength / 4 + 1_000_000]); // forces the memory to grow
    expect(heap.wasm.HEAPU8.buffer.byteLength).toBeGreaterThan(bytesBefore);
    const second = tf.matMul(a, b).dataSync();
    expect(Array.from(second)).toEqual(Array.from(first));
    tf.dispose([a, b, big]);
  });
});

describe('gradients with the native kernel', () => {
  it('equal the cpu backend for every transpose combination (the gradient uses transposed products)', async () => {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const [m, k, n] = [6, 9, 5];
        const sa = ta ? [k, m] : [m, k];
        const sb = tb ? [n, k] : [k, n];
        const av = values(m * k, 11);
        const bv = values(k * n, 12);
        const rv = values(m * n, 13);
        const grads = () =>
          tf.tidy(() => {
            const r = tf.tensor(rv, [m, n]);
            const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b, ta, tb), r)));
            return g([tf.tensor(av, sa), tf.tensor(bv, sb)]).map((t) => t.dataSync() as Float32Array);
          });
        const want = await onCpu(grads);
        const before = nativeCounters().native;
        const got = grads();
        expect(nativeCounters().native - before).toBe(3); // the forward product and both gradients
        for (let i = 0; i < 2; i++) {
          for (let j = 0; j < want[i]!.length; j++) expect(got[i]![j]!).toBeCloseTo(want[i]![j]!, 5);
        }
      }
    }
  });

  it('of a small dense network equal the stock kernels and the cpu backend, and leak no tensors', async () => {
    const dims = [20, 16, 10];
    const batch = 32;
    const xv = values(batch * dims[0]!, 21);
    const yv = values(batch * dims[2]!, 22);
    const w1v = values(dims[0]! * dims[1]!, 23);
    const w2v = values(dims[1]! * dims[2]!, 24);
    const run = () => {
      const [w1, b1, w2] = tf.tidy(() => [
        tf.variable(tf.tensor(w1v, [dims[0]!, dims[1]!])),
        tf.variable(tf.zeros([dims[1]!])),
        tf.variable(tf.tensor(w2v, [dims[1]!, dims[2]!])),
      ]);
      const x = tf.tensor(xv, [batch, dims[0]!]);
      const y = tf.tensor(yv, [batch, dims[2]!]);
      const loss = () => tf.mean(tf.square(tf.sub(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), y))) as tf.Scalar;
      const { value, grads } = tf.variableGrads(loss, [w1, b1, w2]);
      const out = { loss: value.dataSync()[0]!, grads: [w1, b1, w2].map((v) => grads[v.name]!.dataSync() as Float32Array) };
      tf.dispose([w1, b1, w2, x, y, value, ...Object.values(grads)]);
      return out;
    };
    const tensors = tf.memory().numTensors;
    const native = run();
    expect(tf.memory().numTensors).toBe(tensors);
    uninstallNative();
    let stock: ReturnType<typeof run>;
    try {
      stock = run();
    } finally {
      expect(installNative().ok).toBe(true);
    }
    const cpu = await onCpu(run);
    for (const other of [stock, cpu]) {
      expect(native.loss).toBeCloseTo(other.loss, 5);
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < other.grads[i]!.length; j++) expect(native.grads[i]![j]!).toBeCloseTo(other.grads[i]![j]!, 5);
      }
    }
  });

  it('delegates rank-3 gradients to the one registered before', async () => {
    const av = values(2 * 3 * 4, 31);
    const bv = values(2 * 4 * 5, 32);
    const grads = () =>
      tf.tidy(() =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b))))([tf.tensor(av, [2, 3, 4]), tf.tensor(bv, [2, 4, 5])]).map(
          (t) => t.dataSync() as Float32Array,
        ),
      );
    const want = await onCpu(grads);
    const got = grads();
    for (let i = 0; i < 2; i++) for (let j = 0; j < want[i]!.length; j++) expect(got[i]![j]!).toBeCloseTo(want[i]![j]!, 4);
  });
});

describe('no leaks', () => {
  it('a training step with Adam leaves the tensor count, the backend data and the matMul count per step unchanged', () => {
    const [w, v] = tf.tidy(() => [tf.variable(tf.tensor(values(64 * 32, 41), [64, 32])), tf.variable(tf.tensor(values(32 * 64, 42), [32, 64]))]);
    const x = tf.tensor(values(16 * 64, 43), [16, 64]);
    const optimizer = tf.train.adam(1e-3);
    const step = () => optimizer.minimize(() => tf.mean(tf.square(tf.sub(tf.matMul(tf.tanh(tf.matMul(x, w)), v), x))) as tf.Scalar);
    step(); // Adam creates its slots on the first step
    const tensors = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    const before = nativeCounters();
    for (let i = 0; i < 10; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(ids);
    const after = nativeCounters();
    expect(after.native - before.native).toBe(10 * 5); // 2 forward + 3 gradient products (x needs none)
    expect(after.fallback).toBe(before.fallback);
    optimizer.dispose();
    tf.dispose([w, v, x]);
  });
});

describe('threads', () => {
  it('setNativeThreads and installNative({ threads }) set the OpenBLAS thread count', () => {
    const original = nativeStatus();
    expect(original.ok).toBe(true);
    if (!original.ok) return;
    try {
      expect(setNativeThreads(1)).toBe(1);
      expect(nativeStatus()).toMatchObject({ ok: true, threads: 1, threadsFrom: 'option' });
      expect(installNative({ threads: 2 })).toMatchObject({ ok: true, threads: 2, threadsFrom: 'option' });
      expect(() => setNativeThreads(0)).toThrow(RangeError);
      expect(() => installNative({ threads: 1.5 })).toThrow(RangeError);
    } finally {
      setNativeThreads(original.threads);
    }
  });
});
