import * as tf from '@tensorflow/tfjs-core';
import { type Distribution, Normal, VaeLabError } from '@vaelab/core';

/** Burda et al. (2016, §5.2): a latent dimension is active when Cov_x(E_q[z_j]) exceeds this. */
export const ACTIVE_UNIT_THRESHOLD = 0.01;

/**
 * Accumulates the variance over examples of the posterior mean E_q(z|x)[z_j] of each latent
 * dimension, batch by batch, in float64 (sums of u and u² around the first batch's mean, so that
 * the subtraction loses nothing when the means are far from zero).
 */
export class ActiveUnits {
  private count = 0;
  private shift: Float64Array | undefined;
  private sum: Float64Array | undefined;
  private sumSq: Float64Array | undefined;

  /** means: [batch, ...event] posterior means (q.mean()); the event is flattened into dimensions. */
  add(means: tf.Tensor): void {
    const batch = means.shape[0]!;
    if (batch === 0) return;
    const values = means.dataSync();
    const dims = values.length / batch;
    if (!this.shift) {
      this.shift = new Float64Array(dims);
      for (let b = 0; b < batch; b++) for (let j = 0; j < dims; j++) this.shift[j]! += values[b * dims + j]! / batch;
      this.sum = new Float64Array(dims);
      this.sumSq = new Float64Array(dims);
    } else if (this.shift.length !== dims) {
      throw new VaeLabError(`ActiveUnits: batches have ${dims} latent dimensions, earlier ones ${this.shift.length}`);
    }
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < dims; j++) {
        const u = values[b * dims + j]! - this.shift[j]!;
        this.sum![j]! += u;
        this.sumSq![j]! += u * u;
      }
    }
    this.count += batch;
  }

  /** Examples seen so far. */
  get examples(): number {
    return this.count;
  }

  /** The sample variance (divisor n − 1; 0 for a single example) of each dimension's posterior mean. */
  variances(): number[] {
    if (!this.sum || this.count === 0) return [];
    const n = this.count;
    return Array.from(this.sum, (s, j) => (n > 1 ? Math.max(0, (this.sumSq![j]! - (s * s) / n) / (n - 1)) : 0));
  }

  /** The number of dimensions whose variance exceeds `threshold`. */
  active(threshold = ACTIVE_UNIT_THRESHOLD): number {
    return this.variances().filter((v) => v > threshold).length;
  }
}

/**
 * KL(q ‖ p) per latent dimension, [...batch, latentDim], when both are independent `Normal`s over
 * one event axis (diagonal Gaussians): ½(σq²/σp² + (μq − μp)²/σp² − 1) − log σq + log σp.
 * Null for any other pair, where the KL does not split over dimensions in closed form.
 */
export function klPerDimension(q: Distribution, p: Distribution): tf.Tensor | null {
  if (!(q instanceof Normal) || !(p instanceof Normal) || q.eventRank !== 1 || p.eventRank !== 1) return null;
  return tf.tidy(() => {
    const varRatio = tf.square(tf.div(q.scale, p.scale));
    const meanTerm = tf.square(tf.div(tf.sub(q.loc, p.loc), p.scale));
    return tf.sub(tf.mul(0.5, tf.sub(tf.add(varRatio, meanTerm), 1)), tf.sub(q.logScale, p.logScale));
  });
}
