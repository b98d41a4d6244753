import * as tf from '@tensorflow/tfjs-core';
import { RandomStream } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { decodeCodes, encodeMeans, samplePrior } from './generate.js';
import { B, linearGaussianModel, sampleData } from './test-helpers.js';

describe('samplePrior', () => {
  const model = linearGaussianModel();

  it('decodes n prior samples; temperature 0 decodes the prior mean; no tensor leaks', () => {
    const before = tf.memory().numTensors;
    const s = samplePrior(model, 5, { rng: new RandomStream('s', 1) });
    expect(s.z.shape).toEqual([5, 2]);
    expect(s.x.shape).toEqual([5, 3]);
    const cold = samplePrior(model, 2, { rng: new RandomStream('s', 1), temperature: 0 });
    (cold.x.arraySync() as number[][]).forEach((row) => row.forEach((v, j) => expect(v).toBeCloseTo(B[j]!, 6)));
    const drawn = samplePrior(model, 3, { rng: new RandomStream('s', 1), draw: true });
    expect(drawn.x.shape).toEqual([3, 3]);
    tf.dispose([s.z, s.x, cold.z, cold.x, drawn.z, drawn.x]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a temperature scales the spread of the codes', () => {
    const z1 = samplePrior(model, 2000, { rng: new RandomStream('t', 2) }).z;
    const zt = samplePrior(model, 2000, { rng: new RandomStream('t', 2), temperature: 0.5 }).z;
    const std = (t: tf.Tensor) => Math.sqrt(tf.moments(t).variance.dataSync()[0]!);
    expect(std(zt) / std(z1)).toBeCloseTo(0.5, 5);
    expect(() => samplePrior(model, 0, { rng: new RandomStream('t', 2) })).toThrow(/positive integer/);
    expect(() => samplePrior(model, 1, { rng: new RandomStream('t', 2), temperature: -1 })).toThrow(/>= 0/);
  });

  it('encodeMeans then decodeCodes is the mean reconstruction', () => {
    const x = tf.tensor2d(sampleData(4, 1));
    const z = encodeMeans(model, x);
    expect(z.shape).toEqual([4, 2]);
    expect(decodeCodes(model, z).shape).toEqual([4, 3]);
  });
});
