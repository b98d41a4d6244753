import * as tf from '@tensorflow/tfjs-core';
import { FusedAdamOptimizer, setHeapKernel } from '@vaelab/trainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNative, nativeAdamKernel, uninstallNative } from './index.js';

/*
 * The addon's Adam update against @vaelab/trainers' WebAssembly SIMD kernel (itself equal to
 * tf.train.adam): the same bits, step after step. Needs the addon (fails, never skips, without it).
 */

beforeAll(() => {
  expect(tf.getBackend()).toBe('wasm'); // vitest.setup.ts selects it
  const install = installNative();
  if (!install.ok) throw new Error(`@vaelab/native's addon did not load: ${install.reason}. Run: npm run build:native -w @vaelab/native`);
});

afterAll(() => {
  setHeapKernel('adam', null);
  uninstallNative();
});

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
    const bits = (xs: Float32Array[]) => xs.map((x) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length)));
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
