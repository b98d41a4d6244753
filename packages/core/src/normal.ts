import * as tf from '@tensorflow/tfjs';
import type { Distribution } from './distribution.js';
import type { RandomStream } from './random.js';
import { LOG_2PI, assertShape, assertValues, stopGradient, sumEvent, validationEnabled } from './tensor.js';

/**
 * Independent normal over the last `eventRank` axes: N(loc, diag(scale²)).
 * Shared by priors (standard normal), posteriors (diagonal Gaussian) and likelihoods (Gaussian),
 * which is why it lives in core rather than in one of them.
 *
 * `logScale` may be passed when the caller has it (a network predicting log σ), so that
 * log-densities never take the log of an exponential.
 */
export class Normal implements Distribution {
  readonly batchShape: number[];
  readonly eventShape: number[];
  readonly logScale: tf.Tensor;

  constructor(
    readonly loc: tf.Tensor,
    readonly scale: tf.Tensor,
    readonly eventRank = 1,
    logScale?: tf.Tensor,
  ) {
    assertShape('Normal', 'scale', scale.shape, loc.shape);
    if (eventRank > loc.rank) throw new Error(`Normal: eventRank ${eventRank} exceeds the rank of loc (${loc.rank})`);
    this.batchShape = loc.shape.slice(0, loc.rank - eventRank);
    this.eventShape = loc.shape.slice(loc.rank - eventRank);
    this.logScale = logScale ?? tf.log(scale);
    if (validationEnabled()) {
      assertValues('Normal', 'loc', loc, { allowed: 'finite', above: -Infinity, below: Infinity });
      assertValues('Normal', 'scale', scale, { allowed: 'positive and finite', above: 0, below: Infinity });
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
