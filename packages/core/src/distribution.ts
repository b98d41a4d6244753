import type * as tf from '@tensorflow/tfjs-core';
import type { RandomStream } from './random.js';

/**
 * A batch of distributions: the leading axes are the batch shape, the rest the event shape.
 * `logProb` sums over the event, so its result has the batch shape; units are nats.
 */
export interface Distribution {
  readonly batchShape: number[];
  readonly eventShape: number[];
  /**
   * True when `logProb` is only available at this distribution's own samples (normalizing flows
   * without a closed-form inverse cache log q at the points they produced). Absent means anywhere.
   */
  readonly logProbOnlyAtOwnSamples?: boolean;
  /**
   * True for a point mass (VQ-VAE's nearest-code posterior): it has no density, so importance-
   * sampled log-likelihoods and ELBOs through it are undefined and evaluations skip them.
   */
  readonly deterministic?: boolean;
  /** A sample with no gradient path to the parameters. Shape batchShape ++ eventShape. */
  sample(rng: RandomStream): tf.Tensor;
  /** A reparameterized (pathwise) sample, when the family has one. */
  rsample?(rng: RandomStream): tf.Tensor;
  logProb(x: tf.Tensor): tf.Tensor;
  entropy?(): tf.Tensor;
  mean?(): tf.Tensor;
  mode?(): tf.Tensor;
}

/** A class whose instances are distributions, as used as a key of the KL registry. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DistributionClass = abstract new (...args: any[]) => Distribution;
