import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { installWasmIdentity, uninstallWasmIdentity } from './wasm-identity.js';
import { wasmBackendInternals } from './wasm-simd.js';

/* The zero-copy wasm Identity (wasm-identity.ts): same values, shared data, correct lifetimes. */

describe('Identity on wasm shares the data', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  const offset = (t: tf.Tensor) => wasmBackendInternals()!.getMemoryOffset(t.dataId);

  it('a clone has the same values and the same heap memory; the stock kernel copies', () => {
    const x = tf.tensor2d([1, -0, Number.NaN, 3.5], [2, 2]);
    const y = tf.clone(x);
    expect(offset(y)).toBe(offset(x));
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    uninstallWasmIdentity();
    try {
      const z = tf.clone(x);
      expect(offset(z)).not.toBe(offset(x));
      expect(Array.from(z.dataSync())).toEqual(Array.from(x.dataSync()));
      z.dispose();
    } finally {
      installWasmIdentity();
    }
    tf.dispose([x, y]);
  });

  it('the data lives while any tensor uses it and is freed with the last one', () => {
    const before = tf.memory();
    const x = tf.randomNormal([64, 64]);
    const values = Array.from(x.dataSync());
    const y = tf.clone(x);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual(values);
    expect(tf.memory().numBytes).toBe(before.numBytes + 64 * 64 * 4);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(wasmBackendInternals()!.refCount(y.dataId)).toBe(0);
  });

  it('gradients through saved (cloned) inputs are unchanged, and leave no tensor behind', () => {
    const w = tf.variable(tf.randomNormal([8, 4], 0, 1, 'float32', 1));
    const x = tf.randomNormal([5, 8], 0, 1, 'float32', 2);
    const grads = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(tf.matMul(x, w))) as tf.Scalar);
      const out = Array.from(grads[w.name]!.dataSync());
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const before = tf.memory().numTensors;
    const shared = grads();
    uninstallWasmIdentity();
    const copied = grads();
    installWasmIdentity();
    expect(shared).toEqual(copied);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, x]);
  });
});
