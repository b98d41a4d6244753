import * as tf from '@tensorflow/tfjs-core';
import { isDistributionInstance } from './brand.js';
import type { Distribution } from './distribution.js';
import { registerKL } from './kl.js';
import type { RandomStream } from './random.js';
import { LOG_2PI, asTensor, assertValues, broadcastIfNeeded, broadcastShapes, stopGradient, sumEvent, validationEnabled } from './tensor.js';

/**
 * Independent normal over the last `eventRank` axes: N(loc, diag(scale²)).
 * Shared by priors (standard normal), posteriors (diagonal Gaussian) and likelihoods (Gaussian),
 * which is why it lives in core rather than in one of them.
 *
 * `logScale` may be passed when the caller has it (a network predicting log σ), so that
 * log-densities never take the log of an exponential.
 *
 * Parameters broadcast (numpy rules): a number or a scalar tensor for `loc` or `scale`, or a
 * `scale` shared by a batch (`[d]` against a `loc` of `[batch, d]`), is broadcast at construction
 * with core's `broadcastTo` (fast gradient), so the stored `loc` and `scale` and the batch shape
 * are those of the broadcast. Parameters of equal shapes are stored as given.
 */
export class Normal implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/core (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/core/Normal';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[];
  readonly loc: tf.Tensor;
  readonly scale: tf.Tensor;
  readonly logScale: tf.Tensor;

  constructor(
    loc: tf.Tensor | number,
    scale: tf.Tensor | number,
    readonly eventRank = 1,
    logScale?: tf.Tensor,
  ) {
    const locT = asTensor(loc);
    const scaleT = asTensor(scale);
    const shape = broadcastShapes('Normal', [
      ['loc', locT.shape],
      ['scale', scaleT.shape],
      ...(logScale ? [['logScale', logScale.shape] as const] : []),
    ]);
    if (eventRank > shape.length) throw new Error(`Normal: eventRank ${eventRank} exceeds the rank of loc (${shape.length})`);
    this.loc = broadcastIfNeeded(locT, shape);
    this.scale = broadcastIfNeeded(scaleT, shape);
    this.batchShape = shape.slice(0, shape.length - eventRank);
    this.eventShape = shape.slice(shape.length - eventRank);
    this.logScale = logScale ? broadcastIfNeeded(logScale, shape) : tf.log(this.scale);
    if (validationEnabled()) {
      assertValues('Normal', 'loc', this.loc, { allowed: 'finite', above: -Infinity, below: Infinity });
      assertValues('Normal', 'scale', this.scale, { allowed: 'positive and finite', above: 0, below: Infinity });
    }
  }

  /** z = μ + σ ⊙ ε, ε ~ N(0, I): gradients flow to μ and σ (Kingma & Welling 2013, §2.4). */
  rsample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => tf.add(this.loc, tf.mul(this.scale, rng.normal(this.loc.shape))));
  }

  sample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => stopGradient(this.rsample(rng)));
  }

  logProb(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const z = tf.div(tf.sub(x, this.loc), this.scale);
      const perElement = tf.neg(tf.add(tf.add(tf.mul(0.5, tf.square(z)), this.logScale), 0.5 * LOG_2PI));
      return sumEvent(perElement, this.eventRank);
    });
  }

  entropy(): tf.Tensor {
    return tf.tidy(() => sumEvent(tf.add(this.logScale, 0.5 + 0.5 * LOG_2PI), this.eventRank));
  }

  mean(): tf.Tensor {
    return this.loc;
  }

  mode(): tf.Tensor {
    return this.loc;
  }
}

/**
 * KL(q ‖ p) for two independent normals with the same event shape, summed over the event:
 * log σp − log σq + (σq² + (μq − μp)²) / (2σp²) − ½ per element.
 */
export function klNormalNormal(q: Normal, p: Normal): tf.Tensor {
  return tf.tidy(() => {
    const varRatio = tf.square(tf.div(q.scale, p.scale));
    const meanTerm = tf.square(tf.div(tf.sub(q.loc, p.loc), p.scale));
    const perElement = tf.mul(0.5, tf.sub(tf.sub(tf.add(varRatio, meanTerm), 1), tf.mul(2, tf.sub(q.logScale, p.logScale))));
    return sumEvent(perElement, q.eventRank);
  });
}

/** True for a Normal (or subclass) from any copy of @vaelab/core. */
export function isNormal(x: unknown): x is Normal {
  return isDistributionInstance(x, Normal);
}

registerKL(Normal, Normal, klNormalNormal);
