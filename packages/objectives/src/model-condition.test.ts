import * as tf from '@tensorflow/tfjs-core';
import { RandomStreams, VaeLabError } from '@vaelab/core';
import { BernoulliLikelihood } from '@vaelab/likelihoods';
import { Mlp } from '@vaelab/networks';
import { DiagonalGaussianPosterior } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';
import { describe, expect, it } from 'vitest';
import { VaeModel } from './model.js';
import { X, noiseStream, tinyModel } from './test-model.js';

/** tinyModel made conditional on `classes` labels: encoder and decoder take one-hot labels. */
function conditionalModel(classes: number): VaeModel {
  const streams = new RandomStreams(1);
  const opts = { hidden: [5], activation: 'relu' as const, init: 'uniform_fan_in' as const };
  return new VaeModel({
    encoder: new Mlp([6], [4], opts, streams.stream('e'), classes),
    posterior: new DiagonalGaussianPosterior('log_var'),
    decoder: new Mlp([2], [6], opts, streams.stream('d'), classes),
    likelihood: new BernoulliLikelihood([6]),
    prior: new StandardNormalPrior(2),
    latentDim: 2,
    dataShape: [6],
    numClasses: classes,
  });
}

describe('VaeModel label condition (CVAE)', () => {
  it('one-hot float labels for a conditional model; none for an unconditional one', () => {
    const model = conditionalModel(3);
    expect(model.conditional).toBe(true);
    const cond = model.condition(Int32Array.from([2, 0]))!;
    expect(cond.dtype).toBe('float32');
    expect(Array.from(cond.dataSync())).toEqual([0, 0, 1, 1, 0, 0]);
    expect(() => model.condition(undefined)).toThrow(VaeLabError);
    expect(() => model.condition(undefined)).toThrow(/no labels.*3 classes/);
    const plain = tinyModel();
    expect(plain.conditional).toBe(false);
    expect(plain.condition([1, 2])).toBeUndefined();
    cond.dispose();
    model.dispose();
    plain.dispose();
  });

  it('forward passes the condition to the encoder and decoder, and keeps it in the record', () => {
    const model = conditionalModel(3);
    tf.tidy(() => {
      const x = X();
      const a = model.forward(x, noiseStream(), model.condition([0, 1, 2]));
      const b = model.forward(x, noiseStream(), model.condition([2, 2, 2]));
      expect(a.cond?.shape).toEqual([3, 3]);
      expect(Array.from(a.pParams.dataSync())).not.toEqual(Array.from(b.pParams.dataSync()));
      // more samples than the batch (IWAE): the condition is tiled sample-major
      expect(a.decode(tf.zeros([6, 2])).batchShape).toEqual([6]);
    });
    model.dispose();
  });

  it('setTraining reaches every part that has the hook', () => {
    const model = tinyModel();
    const seen: boolean[] = [];
    (model.parts.decoder as { setTraining?: (t: boolean) => void }).setTraining = (t) => seen.push(t);
    model.setTraining(true);
    model.setTraining(false);
    expect(seen).toEqual([true, false]);
    model.dispose();
  });
});
