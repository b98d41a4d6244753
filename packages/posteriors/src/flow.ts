import * as tf from '@tensorflow/tfjs-core';
import { type Distribution, LOG_2PI, type RandomStream, ShapeError, VaeLabError, assertValues, isDistributionInstance, stopGradient, validationEnabled } from '@vaelab/core';
import type { ScaleParameterization } from './diagonal-gaussian.js';

export type { ScaleParameterization };

/** A flow's forward map z0 -> z_T with log|det ∂z_T/∂z0| per batch member. */
export interface FlowTransform {
  /** z0: [batch, D] -> z: [batch, D], logDetJacobian: [batch]. */
  transform(z0: tf.Tensor2D): { z: tf.Tensor2D; logDetJacobian: tf.Tensor1D };
}

/** logProb was asked at a point this flow did not produce. */
export class FlowLogProbError extends VaeLabError {}

/**
 * q(z_T) for z_T = f(z0), z0 ~ N(μ, diag σ²), with f a normalizing flow (DESIGN §1):
 *   log q(z_T) = log q0(z0) − log|det ∂f/∂z0|   (Rezende & Mohamed 2015, eq. 7).
 * f has no closed-form inverse, so log q is known only at this distribution's own samples: each
 * rsample()/sample() remembers the log q of the tensor it returns (`logProbOnlyAtOwnSamples`).
 * The remembered log q is created in the same tidy scope as the sample, so both live and die
 * together: call rsample()/sample() inside tf.tidy (or tf.variableGrads), where the scope's end
 * disposes both; a sample disposed by hand outside any scope leaves its log q behind.
 *
 * Batch shape [batch], event shape [D]. mean() and entropy() have no closed form and are absent.
 */
export class FlowDistribution implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/posteriors (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/posteriors/FlowDistribution';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[];
  readonly logProbOnlyAtOwnSamples = true;
  private readonly remembered = new WeakMap<tf.Tensor, tf.Tensor>();

  /**
   * @param family the posterior family's config name, for error messages
   * @param loc μ of the base: [batch, D]
   * @param logScale log σ of the base: [batch, D]
   */
  constructor(
    readonly family: string,
    readonly loc: tf.Tensor2D,
    readonly logScale: tf.Tensor2D,
    readonly flow: FlowTransform,
  ) {
    if (loc.rank !== 2 || logScale.rank !== 2 || loc.shape[0] !== logScale.shape[0] || loc.shape[1] !== logScale.shape[1]) {
      throw new ShapeError(`${family}: base loc has shape [${loc.shape.join(', ')}] and log-scale [${logScale.shape.join(', ')}], expected both [batch, D]`);
    }
    this.batchShape = [loc.shape[0]];
    this.eventShape = [loc.shape[1]];
    if (validationEnabled()) {
      assertValues(family, 'base loc', loc, { allowed: 'finite', above: -Infinity, below: Infinity });
      assertValues(family, 'base log-scale', logScale, { allowed: 'finite', above: -Infinity, below: Infinity });
    }
  }

  /** z0 = μ + σ ε, pushed through the flow; log q accumulated along the way. */
  private draw(rng: RandomStream): { z: tf.Tensor2D; logQ: tf.Tensor1D } {
    const eps = rng.normal(this.loc.shape) as tf.Tensor2D;
    const z0 = tf.add(this.loc, tf.mul(tf.exp(this.logScale), eps)) as tf.Tensor2D;
    // log q0(z0) written with ε = (z0 − μ)/σ: the same function of (ε, μ, σ), without a division.
    const logQ0 = tf.neg(tf.add(tf.sum(tf.add(tf.mul(0.5, tf.square(eps)), this.logScale), -1), 0.5 * this.eventShape[0]! * LOG_2PI));
    const { z, logDetJacobian } = this.flow.transform(z0);
    return { z, logQ: tf.sub(logQ0, logDetJacobian) as tf.Tensor1D };
  }

  rsample(rng: RandomStream): tf.Tensor {
    const [z, logQ] = tf.tidy(() => {
      const d = this.draw(rng);
      return [d.z, d.logQ];
    });
    this.remembered.set(z, logQ);
    return z;
  }

  /**
   * A sample without gradient. Its remembered log q carries no gradient either: with z held fixed,
   * the gradient of log q(z) would need the inverse of the flow.
   */
  sample(rng: RandomStream): tf.Tensor {
    const [z, logQ] = tf.tidy(() => {
      const d = this.draw(rng);
      return [stopGradient(d.z), stopGradient(d.logQ)];
    });
    this.remembered.set(z, logQ);
    return z;
  }

  /** log q(x) for x returned by this distribution's rsample()/sample(): [batch]. */
  logProb(x: tf.Tensor): tf.Tensor {
    const logQ = this.remembered.get(x);
    if (!logQ) {
      throw new FlowLogProbError(
        `${this.family}: logProb is only available at this distribution's own samples (a normalizing flow has no closed-form inverse); ` +
          `got a tensor of shape [${x.shape.join(', ')}] that its rsample()/sample() did not return. ` +
          'Pass the tensor returned by rsample()/sample() itself, one call per sample (not a stacked or reshaped copy).',
      );
    }
    if (logQ.isDisposed) throw new FlowLogProbError(`${this.family}: the log q remembered for this sample was disposed (its tidy scope ended)`);
    return logQ.clone();
  }
}

/** Splits [batch, 2D] base parameters into μ and log σ. */
export function baseParameters(params: tf.Tensor2D, dim: number, scale: ScaleParameterization): { loc: tf.Tensor2D; logScale: tf.Tensor2D } {
  const loc = tf.slice(params, [0, 0], [-1, dim]);
  const s = tf.slice(params, [0, dim], [-1, dim]);
  return { loc, logScale: scale === 'log_var' ? tf.mul(s, 0.5) : s };
}
