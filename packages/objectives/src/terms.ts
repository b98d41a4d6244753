import * as tf from '@tensorflow/tfjs-core';
import { type Forward, type LossResult, type RandomStream, kl, sizeOf } from '@vaelab/core';
import { klPerDimension } from './per-dimension.js';

/*
 * The term conventions every VAE objective shares (nats per example, averaged over the batch):
 *   reconstruction = E_q[−log p(x|z)], kl = KL(q(z|x) ‖ p(z)), nelbo = reconstruction + kl,
 *   bits_per_dim = nelbo / (D ln 2) when the likelihood is discrete (D values per example),
 *   and the vector kl_per_dim [latentDim] when the KL factorises per dimension.
 */

/** What an objective knows about the data beyond the batch itself. */
export interface DataInfo {
  /** True when the likelihood is over discrete values, so that bits per dimension mean something. */
  readonly discrete: boolean;
}

/** The ingredients of a (negative) ELBO, per example. */
export interface ElboParts {
  /** −log p(x | z) per example, averaged over the samples of z: [batch]. */
  readonly nll: tf.Tensor;
  /** KL(q ‖ p) per example: [batch]. */
  readonly kl: tf.Tensor;
  /** KL per example and latent dimension, [batch, latentDim], when it factorises in closed form. */
  readonly klPerDim: tf.Tensor2D | undefined;
  /** Whether the KL is analytic (else a Monte Carlo estimate). */
  readonly analytic: boolean;
}

/**
 * −log p(x | z) per example, [batch], averaged over `samples` draws of z: the forward pass's z
 * first, then fresh reparameterized draws from `noise`, each decoded through `fwd.decode`.
 */
export function reconstructionNll(fwd: Forward, noise: RandomStream, samples: number): tf.Tensor {
  let nll = tf.neg(fwd.px.logProb(fwd.x));
  for (let s = 1; s < samples; s++) {
    const z = fwd.q.rsample ? fwd.q.rsample(noise) : fwd.q.sample(noise);
    nll = tf.add(nll, tf.neg(fwd.decode(z).logProb(fwd.x)));
  }
  return samples > 1 ? tf.div(nll, samples) : nll;
}

/**
 * Reconstruction over `samples` draws of z (the forward pass's z first, then fresh ones from
 * `noise`) and the KL: per dimension in closed form when available (summed for the total),
 * otherwise through the KL registry (analytic or Monte Carlo with `klSamples` draws).
 */
export function elboParts(fwd: Forward, noise: RandomStream, samples: number, klSamples: number): ElboParts {
  const nll = reconstructionNll(fwd, noise, samples);
  const klPerDim = klPerDimension(fwd.q, fwd.prior);
  if (klPerDim) return { nll, kl: tf.sum(klPerDim, 1), klPerDim, analytic: true };
  const result = kl(fwd.q, fwd.prior, { rng: noise, samples: klSamples, z: fwd.z });
  return { nll, kl: result.value, klPerDim: undefined, analytic: result.analytic };
}

/** Values per example: the D in bits per dimension. */
export function valuesPerExample(x: tf.Tensor): number {
  return sizeOf(x.shape.slice(1));
}

/** nats per example -> bits per data value. */
export function bitsPerDim(natsPerExample: tf.Scalar, x: tf.Tensor): tf.Scalar {
  return tf.div(natsPerExample, valuesPerExample(x) * Math.LN2) as tf.Scalar;
}

/**
 * The shared terms from per-example −log p(x|z) and KL: reconstruction, kl, nelbo, and
 * bits_per_dim when the data is discrete.
 */
export function vaeTerms(nll: tf.Tensor, klPerExample: tf.Tensor, x: tf.Tensor, data: DataInfo): Record<string, tf.Scalar> {
  const reconstruction = tf.mean(nll) as tf.Scalar;
  const klTerm = tf.mean(klPerExample) as tf.Scalar;
  const nelbo = tf.add(reconstruction, klTerm) as tf.Scalar;
  const terms: Record<string, tf.Scalar> = { reconstruction, kl: klTerm, nelbo };
  if (data.discrete) terms.bits_per_dim = bitsPerDim(nelbo, x);
  return terms;
}

/** `kl_per_dim` ([latentDim], averaged over the batch) when the per-dimension KL exists. */
export function klVectors(klPerDim: tf.Tensor2D | undefined): Record<string, tf.Tensor1D> | undefined {
  return klPerDim ? { kl_per_dim: tf.mean(klPerDim, 0) as tf.Tensor1D } : undefined;
}

/** The result with its optional vectors attached only when there are some. */
export function lossResult(loss: tf.Scalar, terms: Record<string, tf.Scalar>, vectors?: Record<string, tf.Tensor1D>): LossResult {
  return vectors ? { loss, terms, vectors } : { loss, terms };
}

/** Runs a loss computation in `tf.tidy`, keeping only the tensors of the result. */
export function tidyLoss(fn: () => LossResult): LossResult {
  return tf.tidy(() => fn() as unknown as tf.TensorContainer) as unknown as LossResult;
}
