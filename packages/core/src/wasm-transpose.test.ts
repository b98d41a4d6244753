import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from './backend.js';
import { installWasmTranspose, transposeSplit, uninstallWasmTranspose } from './wasm-transpose.js';

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

describe('the wasm Transpose kernel with the 3-D route for rows that are a multiple of 128', () => {
  afterAll(() => installWasmTranspose());

  it('takes the 3-D route only where it is the faster one', () => {
    expect(transposeSplit(128, 784)).toBe(8);
    expect(transposeSplit(256, 400)).toBe(8);
    expect(transposeSplit(128, 130)).toBe(2);
    expect(transposeSplit(128, 131)).toBe(0); // no small divisor: stock kernel
    expect(transposeSplit(784, 128)).toBe(0); // rows not a multiple of 128
    expect(transposeSplit(128, 40)).toBe(0); // small: stock kernel
  });

  it('gives the stock kernel’s result bit for bit, with gradients, and leaks nothing', async () => {
    await selectBackend('wasm');
    installWasmTranspose();
    const shapes: [number, number][] = [[128, 784], [256, 400], [128, 130], [128, 131], [384, 128], [784, 128], [128, 20], [3, 5]];
    const inputs = shapes.map(([r, c], i) => tf.randomNormal([r, c], 0, 1, 'float32', i + 1));
    const g = (x: tf.Tensor) => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.transpose(v), tf.transpose(tf.sin(x)))))(x);
    const before = tf.memory().numTensors;
    const ours = inputs.map((x) => [tf.transpose(x), g(x)]);
    expect(tf.memory().numTensors).toBe(before + 2 * inputs.length);
    uninstallWasmTranspose();
    expect(tf.getKernel('Transpose', 'wasm')).toBeDefined();
    const stock = inputs.map((x) => [tf.transpose(x), g(x)]);
    installWasmTranspose();
    shapes.forEach(([r, c], i) => {
      expect(ours[i]![0]!.shape).toEqual([c, r]);
      expect(bits(ours[i]![0]!)).toEqual(bits(stock[i]![0]!));
      expect(bits(ours[i]![1]!)).toEqual(bits(stock[i]![1]!));
    });
    // and it is the transpose: element (i, j) of the input is element (j, i) of the output
    const x = inputs[0]!.arraySync() as number[][];
    const t = ours[0]![0]!.arraySync() as number[][];
    for (const [i, j] of [[0, 0], [5, 700], [127, 783], [64, 1]] as const) expect(t[j]![i]).toBe(x[i]![j]);
    // other ranks and permutations go to the stock kernel
    const cube = tf.randomNormal([128, 16, 8], 0, 1, 'float32', 9);
    expect(tf.transpose(cube, [2, 0, 1]).shape).toEqual([8, 128, 16]);
    tf.dispose([...inputs, ...ours.flat(), ...stock.flat(), cube]);
  });
});
