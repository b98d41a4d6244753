import * as tf from '@tensorflow/tfjs-core';
import type { Distribution, RandomStream } from '@vaelab/core';
import type { VaeModel } from '@vaelab/objectives';

/** Where the decoder was evaluated: at the posterior mean, or at a sample when q has no mean. */
export type ReconstructionPoint = 'posterior_mean' | 'sample';

export interface Reconstruction {
  /** q(z|x)'s mean, [batch, ...event], or null when the posterior has none. */
  posteriorMean: tf.Tensor | null;
  /** The likelihood's mean at `z` (its mode, then a sample, when it has no mean): [batch, ...dataShape]. */
  reconstruction: tf.Tensor;
  at: ReconstructionPoint;
}

/**
 * x̂ = E_p(x|z)[x] at z = E_q(z|x)[z]: a deterministic reconstruction (no sampling noise), the
 * convention of reconstruction grids and MSEs. Falls back to z ~ q (drawn from `rng`) for
 * posteriors without a mean. x: [batch, ...dataShape].
 */
export function reconstruct(model: VaeModel, x: tf.Tensor, rng: RandomStream, cond?: tf.Tensor): Reconstruction {
  const { encoder, posterior } = model.parts;
  let at: ReconstructionPoint = 'posterior_mean';
  const out = tf.tidy(() => {
    const r = reconstructFrom(model, posterior.distribution(encoder.apply(x, cond)), rng, cond);
    at = r.at;
    const kept: { reconstruction: tf.Tensor; posteriorMean?: tf.Tensor } = { reconstruction: r.reconstruction };
    if (r.posteriorMean) kept.posteriorMean = r.posteriorMean;
    return kept;
  });
  return { posteriorMean: out.posteriorMean ?? null, reconstruction: out.reconstruction, at };
}

/** As `reconstruct`, from q(z|x) already built. */
export function reconstructFrom(model: VaeModel, q: Distribution, rng: RandomStream, cond?: tf.Tensor): Reconstruction {
  const { decoder, likelihood } = model.parts;
  const at: ReconstructionPoint = q.mean ? 'posterior_mean' : 'sample';
  const out = tf.tidy(() => {
    const mean = q.mean ? q.mean() : undefined;
    const z = mean ?? (q.rsample ? q.rsample(rng) : q.sample(rng));
    const px = likelihood.distribution(decoder.apply(z, cond));
    const reconstruction = px.mean ? px.mean() : px.mode ? px.mode() : px.sample(rng);
    // clones: a distribution may hand back one of its own tensors (Normal's mean is its loc)
    const kept: { reconstruction: tf.Tensor; posteriorMean?: tf.Tensor } = { reconstruction: tf.clone(reconstruction) };
    if (mean) kept.posteriorMean = tf.clone(mean);
    return kept;
  });
  return { posteriorMean: out.posteriorMean ?? null, reconstruction: out.reconstruction, at };
}

/** Mean squared error per example, averaged over its dimensions: [batch]. */
export function squaredError(x: tf.Tensor, reconstruction: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const batch = x.shape[0]!;
    return tf.mean(tf.reshape(tf.squaredDifference(x, reconstruction), [batch, -1]), 1) as tf.Tensor1D;
  });
}
