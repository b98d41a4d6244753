import * as tf from '@tensorflow/tfjs-core';
import { setFusedKernels, setHeapKernel } from '@vaelab/core';
import { bernoulliTerms, fusedBernoulliApplies } from '@vaelab/likelihoods';
import { FusedAdamOptimizer } from '@vaelab/trainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNative, nativeAdamKernel, nativeHeapKernels, uninstallNative } from './index.js';

/*
 * The addon's stand-ins for VAE Lab's own WebAssembly kernels against those kernels: the Adam
 * update of @vaelab/trainers (itself equal to tf.train.adam) and the fused Bernoulli term of
 * @vaelab/likelihoods, the same bits. Needs the addon (fails, never skips, without it).
 */

beforeAll(() => {
  expect(tf.getBackend()).toBe('wasm'); // vitest.setup.ts selects it
  const install = installNative();
  if (!install.ok) throw new Error(`@vaelab/native's addon did not load: ${install.reason}. Run: npm run build:native -w @vaelab/native`);
});

afterAll(() => {
  setHeapKernel('adam', null);
  setHeapKernel('bernoulliTerm', null);
  setHeapKernel('bernoulliTermGrad', null);
  setFusedKernels(null);
  uninstallNative();
});

const bits = (xs: Float32Array[]) => xs.map((x) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length)));

/** Values over many magnitudes, signs and exact zeros, so that every branch of rounding is hit. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = i % 13 === 0 ? 0 : (s / 2 ** 31 - 1) * 10 ** ((i % 9) - 6);
  }
  return out;
}

/** Train two copies of the same variables with the same gradients; return their weights and slots. */
function run(native: boolean, steps: number): { weights: Float32Array[]; slots: Float32Array[]; path: string | null } {
  setHeapKernel('adam', native ? nativeAdamKernel() : null);
  // sizes that are not multiples of any vector width, and one large enough for every loop part
  const shapes = [[3], [17, 5], [400, 131]];
  const vars = shapes.map((shape, i) =>
    tf.tidy(() => tf.variable(tf.tensor(values(shape.reduce((a, b) => a * b), i + 1), shape), true, `adam-${native}-${i}`)),
  );
  const optimizer = new FusedAdamOptimizer(3e-3, 0.9, 0.999, 1e-8);
  for (let step = 0; step < steps; step++) {
    const grads = Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(values(v.size, 100 * step + i + 7), v.shape)]));
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
  }
  const weights = vars.map((v) => v.dataSync() as Float32Array);
  const slots = (optimizer as unknown as { slots: tf.Variable[][] }).slots.flat().map((s) => s.dataSync() as Float32Array);
  const path = optimizer.lastPath;
  optimizer.dispose();
  tf.dispose(vars);
  return { weights, slots, path };
}

describe('native Adam', () => {
  it('gives the same bits as the wasm kernel, parameters and slots, over 25 steps, and leaks nothing', () => {
    expect(nativeAdamKernel()).toBeTypeOf('function');
    const before = tf.memory().numTensors;
    const wasm = run(false, 25);
    const native = run(true, 25);
    expect(wasm.path).toBe('wasm-simd');
    expect(native.path).toBe('native');
    expect(bits(native.weights)).toEqual(bits(wasm.weights));
    expect(bits(native.slots)).toEqual(bits(wasm.slots));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses offsets outside the heap and overlapping outputs with a RangeError', () => {
    const adam = nativeAdamKernel()!;
    const heap = new Float32Array(64);
    const scalars = [0.9, 0.1, 0.999, 0.001, 0.1, 0.001, 1e-8, -1e-3];
    expect(() => adam(heap, 0, 64, 128, 192, 200, 16, ...scalars)).toThrow(/out lies outside the heap/);
    expect(() => adam(heap, 0, 64, 128, 128, 192, 16, ...scalars)).toThrow(/must not overlap/);
    expect(() => adam(heap, 2, 64, 128, 160, 192, 4, ...scalars)).toThrow(/multiples of 4/);
  });
});

/** Logits over the whole float32 range: tiny, ordinary, around the ±87 cut-off, huge, ±0, ±∞. */
function logits(n: number): Float32Array {
  const out = new Float32Array(n);
  const special = [0, -0, 1e-30, -1e-30, 86.99, -86.99, 87, -87, 87.01, -87.01, 88.7, -88.7, 103, -103, 3.4e38, -3.4e38, Infinity, -Infinity];
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    out[i] = i < special.length ? special[i]! : (u < 0.5 ? -1 : 1) * (i % 3 === 0 ? u * 20 : i % 3 === 1 ? Math.exp(u * 90 - 45) : u * 200);
  }
  return out;
}

/** The fused Bernoulli term and its gradient, with or without the native stand-ins. */
function bernoulli(native: boolean, l: Float32Array, xv: Float32Array, dyv: Float32Array): Float32Array[] {
  const kernels = nativeHeapKernels();
  setHeapKernel('bernoulliTerm', native ? kernels.bernoulliTerm! : null);
  setHeapKernel('bernoulliTermGrad', native ? kernels.bernoulliTermGrad! : null);
  return tf.tidy(() => {
    const logitsT = tf.tensor(l, [l.length / 4, 4]);
    const x = tf.tensor(xv, [l.length / 4, 4]);
    const dy = tf.tensor(dyv, [l.length / 4, 4]);
    expect(fusedBernoulliApplies(logitsT, x)).toBe(true);
    const term = bernoulliTerms(logitsT, x);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(bernoulliTerms(t, x), dy)))(logitsT);
    return [term.dataSync() as Float32Array, grad.dataSync() as Float32Array];
  });
}

describe('native Bernoulli term', () => {
  it('gives the same bits as the fused wasm kernels, forward and backward, over the whole float32 range', () => {
    setFusedKernels(true);
    const n = 40_000;
    const l = logits(n);
    const xv = Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : i % 5 === 1 ? 1 : (i % 97) / 97));
    const dyv = Float32Array.from({ length: n }, (_, i) => ((i % 13) - 6) / 3);
    const before = tf.memory().numTensors;
    const wasm = bernoulli(false, l, xv, dyv);
    const native = bernoulli(true, l, xv, dyv);
    expect(bits(native)).toEqual(bits(wasm));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an output that overlaps an input', () => {
    const { bernoulliTerm } = nativeHeapKernels();
    expect(() => bernoulliTerm!(new Float32Array(64), 0, 64, 32, 16)).toThrow(/out must not overlap logits/);
  });
});

