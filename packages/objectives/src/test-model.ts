/* Helpers for this package's tests only (not exported from index.ts). */
import * as tf from '@tensorflow/tfjs-core';
import { type Objective, type RandomStream, RandomStreams, type StepContext } from '@vaelab/core';
import { BernoulliLikelihood } from '@vaelab/likelihoods';
import { Mlp } from '@vaelab/networks';
import { DiagonalGaussianPosterior } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';
import { VaeModel } from './model.js';

/** A small fixed VAE: MLP encoder and decoder, diagonal Gaussian q, N(0, I) prior, Bernoulli p(x|z). */
export function tinyModel(seed = 1, dataDim = 6, latentDim = 2, hidden = [5]): VaeModel {
  const streams = new RandomStreams(seed);
  const opts = { hidden, activation: 'relu' as const, init: 'uniform_fan_in' as const };
  return new VaeModel({
    encoder: new Mlp([dataDim], [2 * latentDim], opts, streams.stream('e')),
    posterior: new DiagonalGaussianPosterior('log_var'),
    decoder: new Mlp([latentDim], [dataDim], opts, streams.stream('d')),
    likelihood: new BernoulliLikelihood([dataDim]),
    prior: new StandardNormalPrior(latentDim),
    latentDim,
    dataShape: [dataDim],
  });
}

/** A fresh noise stream: equal seeds give identical draws. */
export function noiseStream(seed = 1): RandomStream {
  return new RandomStreams(seed).stream('noise');
}

export function stepContext(noise: RandomStream, step = 0): StepContext {
  return { step, epoch: 0, training: true, noise };
}

/** The build context of an objective for data of shape [dataDim]. */
export function objectiveContext(discrete = true, dataDim = 6, latentDim = 2) {
  return { streams: new RandomStreams(1), cwd: '.', dataShape: [dataDim], latentDim, discrete };
}

export const X = (): tf.Tensor2D => tf.tensor2d([[0, 1, 0.5, 1, 0, 0.2], [1, 1, 0, 0, 0.9, 0.1], [0, 0, 1, 1, 0, 1]]);

/** One training-like step (corruption, forward, loss, gradients), disposing everything. */
export function gradientStep(model: VaeModel, objective: Objective, x: tf.Tensor, noise: RandomStream, step = 0): void {
  const { value, grads } = tf.variableGrads(() => {
    const corrupted = objective.corrupt?.(x, noise);
    const fwd = model.forward(x, noise, undefined, corrupted);
    return objective.loss(fwd, stepContext(noise, step)).loss;
  }, model.variables);
  tf.dispose([value, ...Object.values(grads)]);
}

/** Tensors left behind by a training-like step (after one warm-up step). */
export function leakedTensors(model: VaeModel, objective: Objective, x: tf.Tensor): number {
  const noise = noiseStream(9);
  gradientStep(model, objective, x, noise);
  const before = tf.memory().numTensors;
  gradientStep(model, objective, x, noise, 1);
  return tf.memory().numTensors - before;
}

/** Values of a tensor as a plain array of numbers. */
export function values(t: tf.Tensor | undefined): number[] {
  if (!t) throw new Error('missing tensor');
  return Array.from(t.dataSync());
}

/** The single value of a scalar. */
export function scalar(t: tf.Tensor | undefined): number {
  return values(t)[0]!;
}
