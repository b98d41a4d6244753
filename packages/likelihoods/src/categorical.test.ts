import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, ComponentRegistry, RandomStream, RandomStreams, ShapeError, SupportError, withValidation } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { Categorical256Likelihood, QuantizedCategorical, components } from './index.js';

const registry = new ComponentRegistry().use({ components });
const ctx = (dataShape: number[], levels: number | null = 256) => ({ dataShape, levels, streams: new RandomStreams(1), cwd: '.' });

/** Float64 log-softmax of one row of logits. */
function logSoftmax(row: number[]): number[] {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((acc, v) => acc + Math.exp(v - max), 0));
  return row.map((v) => v - lse);
}

/** Deterministic logits for tests: a smooth bump plus a ripple, [rows][256]. */
function testLogits(rows: number): number[][] {
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: 256 }, (_, k) => -(((k - 40 - 60 * r) / (20 + 10 * r)) ** 2) + 0.5 * Math.sin(k * (r + 1))),
  );
}

describe('QuantizedCategorical', () => {
  const rows = testLogits(3);
  // Batch [3], event [1], 256 levels.
  const d = new QuantizedCategorical(tf.tensor3d(rows.map((r) => [r])), 1);

  it('probabilities over all 256 values sum to 1 (float64 sum), through an extra leading axis', () => {
    const x = tf.reshape(tf.div(tf.range(0, 256), 255), [256, 1, 1]);
    const lp = d.logProb(x).arraySync() as number[][];
    expect(lp).toHaveLength(256);
    for (let b = 0; b < 3; b++) {
      let total = 0;
      for (let k = 0; k < 256; k++) total += Math.exp(lp[k]![b]!);
      expect(Math.abs(total - 1)).toBeLessThan(1e-5);
    }
  });

  it('logProb, entropy, mean and mode match the closed forms', () => {
    const ks = [0, 77, 255];
    const lp = d.logProb(tf.tensor2d(ks.map((k) => [k / 255]))).dataSync();
    const entropy = d.entropy().dataSync();
    const mean = d.mean().dataSync();
    const mode = d.mode().dataSync();
    rows.forEach((row, b) => {
      const logP = logSoftmax(row.map(Math.fround));
      expect(lp[b]).toBeCloseTo(logP[ks[b]!]!, 4);
      expect(entropy[b]).toBeCloseTo(-logP.reduce((acc, l) => acc + Math.exp(l) * l, 0), 4);
      expect(mean[b]).toBeCloseTo(logP.reduce((acc, l, k) => acc + (Math.exp(l) * k) / 255, 0), 5);
      expect(mode[b]).toBeCloseTo(logP.indexOf(Math.max(...logP)) / 255, 6);
    });
    expect(d.batchShape).toEqual([3]);
    expect(d.eventShape).toEqual([1]);
  });

  it('sample frequencies match the probabilities', () => {
    const logits = new Array<number>(256).fill(-30);
    logits[0] = Math.log(0.2);
    logits[128] = Math.log(0.5);
    logits[255] = Math.log(0.3);
    const n = 2000;
    const s = new QuantizedCategorical(tf.tile(tf.tensor3d([[logits]]), [n, 1, 1]), 1).sample(new RandomStream('cat', 3)).dataSync();
    const count = (v: number) => s.filter((x) => Math.abs(x - v) < 1e-6).length / n;
    for (const [v, p] of [[0, 0.2], [128 / 255, 0.5], [1, 0.3]] as const) {
      expect(Math.abs(count(v) - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
    }
    expect(count(0) + count(128 / 255) + count(1)).toBe(1);
  });

  it('under validation, a value that is not a level is a SupportError', () => {
    expect(() => withValidation(() => d.logProb(tf.tensor2d([[0], [0.5], [1]])))).toThrow(SupportError);
    expect(() => withValidation(() => d.logProb(tf.tensor2d([[0], [0.5], [1]])))).toThrow(
      /QuantizedCategorical: value must be one of the 256 levels.*got 0\.5 at index \[1, 0\] of shape \[3, 1\]/,
    );
    expect(() => withValidation(() => d.logProb(tf.tensor2d([[0], [-1 / 255], [1]])))).toThrow(SupportError);
    expect(() => withValidation(() => d.logProb(tf.tensor2d([[0], [128 / 255], [1]])))).not.toThrow();
  });

  it('gradients of logProb reach the logits', () => {
    const logits = tf.tensor3d([[[0, 1, 2, 3]]]);
    const g = tf.grad((l: tf.Tensor) => tf.sum(new QuantizedCategorical(l, 1).logProb(tf.tensor2d([[1 / 3]]))))(logits).dataSync();
    const p = logSoftmax([0, 1, 2, 3]).map(Math.exp);
    [0, 1, 2, 3].forEach((k) => expect(g[k]).toBeCloseTo((k === 1 ? 1 : 0) - p[k]!, 5));
  });
});

describe('categorical_256 likelihood', () => {
  it('is built from config for 8-bit data, asks for 256 logits per value and is discrete', () => {
    const lk = registry.build('likelihood', { name: 'categorical_256' }, ctx([2, 2, 1]));
    expect(lk.discrete).toBe(true);
    expect(lk.paramShape([28, 28, 1])).toEqual([28, 28, 1, 256]);
    const d = lk.distribution(tf.zeros([3, 2, 2, 1, 256]));
    expect(d.batchShape).toEqual([3]);
    expect(d.eventShape).toEqual([2, 2, 1]);
    expect(d.logProb(tf.zeros([3, 2, 2, 1])).dataSync()[0]).toBeCloseTo(-4 * Math.log(256), 4);
  });

  it('refuses a dataset without 256 levels, naming the component', () => {
    expect(() => registry.build('likelihood', { name: 'categorical_256' }, ctx([4], null))).toThrow(ComponentConfigError);
    expect(() => registry.build('likelihood', { name: 'categorical_256' }, ctx([4], null))).toThrow(/'categorical_256' needs 256-level data.*levels null/);
    expect(() => registry.build('likelihood', { name: 'categorical_256' }, ctx([4], 2))).toThrow(/levels 2/);
    expect(() => registry.build('likelihood', { name: 'categorical_256', levels: 16 }, ctx([4]), 'likelihood')).toThrow(/unknown option 'levels'/);
  });

  it('rejects a decoder output of the wrong shape, naming both shapes', () => {
    const lk = new Categorical256Likelihood([4]);
    expect(() => lk.distribution(tf.zeros([2, 4]))).toThrow(ShapeError);
    expect(() => lk.distribution(tf.zeros([2, 4]))).toThrow(/categorical_256.*\[2, 4\].*\[batch, 4, 256\]/);
  });

  it('checkData accepts k/255 and names dataset, split, value and index otherwise', () => {
    const lk = new Categorical256Likelihood([2, 2]);
    const info = { split: 'test', dataset: 'mnist', levels: 256 };
    const good = Float32Array.from([0, 1, 17, 255, 128, 3, 254, 9], (k) => k / 255);
    expect(() => lk.checkData(good, info)).not.toThrow();
    const bad = Float32Array.from(good);
    bad[5] = 0.5;
    expect(() => lk.checkData(bad, info)).toThrow(SupportError);
    expect(() => lk.checkData(bad, info)).toThrow(/categorical_256: dataset 'mnist', split 'test': value 0\.5 at index 5 \(example 1, position \[0, 1\]/);
    bad[5] = 256 / 255;
    expect(() => lk.checkData(bad, info)).toThrow(/at index 5/);
    expect(() => lk.checkData(good, { ...info, levels: null })).toThrow(/dataset 'mnist' has levels null/);
  });
});
