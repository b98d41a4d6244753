import * as tf from '@tensorflow/tfjs-core';
import { isDistributionInstance } from './brand.js';
import { gumbelNoise } from './categorical.js';
import type { Distribution } from './distribution.js';
import { ShapeError } from './errors.js';
import { isNormal } from './normal.js';
import type { RandomStream } from './random.js';
import { broadcastIfNeeded, broadcastShapes, broadcastTo, shapesEqual, stopGradient } from './tensor.js';

export interface MixtureSameFamilyOptions {
  /**
   * The mixture's batch shape when it is larger than the parameters' (default: the broadcast of
   * the logits' batch and the components' batch without its last axis). The mixture is then
   * shared across the extra axes, as a prior shared by every example of a batch.
   */
  batchShape?: readonly number[];
  /**
   * The components at chosen indices: indices [...batchShape] (int32) -> a distribution with batch
   * shape [...batchShape]. When given, `sample` draws only from the chosen components; it is
   * required to sample a mixture whose batch shape is larger than its components'.
   */
  componentsAt?: (indices: tf.Tensor) => Distribution;
}

/**
 * p(x) = Σ_k π_k p_k(x): a batch of mixtures of K distributions of one family (TFP's
 * MixtureSameFamily).
 *
 * mixtureLogits: [...batch, K] (π = softmax); components: a distribution with batch shape
 * [...batch, K] and event shape E. The mixture has batch shape [...batch] and event shape E. The
 * two batches broadcast against each other (one set of K components shared by a batch of logits,
 * or the reverse); `options.batchShape` widens the batch further.
 */
export class MixtureSameFamily implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/core (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/core/MixtureSameFamily';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[];
  /** log π: [...logits batch, K], normalized. */
  readonly logWeights: tf.Tensor;
  /** The number of components K. */
  readonly size: number;
  private readonly componentsAt: ((indices: tf.Tensor) => Distribution) | undefined;

  constructor(
    mixtureLogits: tf.Tensor,
    readonly components: Distribution,
    options: MixtureSameFamilyOptions = {},
  ) {
    const k = mixtureLogits.shape[mixtureLogits.rank - 1];
    if (mixtureLogits.rank < 1 || k === undefined || k < 1) {
      throw new ShapeError(`MixtureSameFamily: mixture logits have shape [${mixtureLogits.shape.join(', ')}], expected [..., K] with K ≥ 1`);
    }
    const componentBatch = components.batchShape;
    if (componentBatch[componentBatch.length - 1] !== k) {
      throw new ShapeError(
        `MixtureSameFamily: components have batch shape [${componentBatch.join(', ')}], expected [..., ${k}] (one per mixture weight)`,
      );
    }
    this.size = k;
    const parameterBatch = broadcastShapes('MixtureSameFamily', [
      ['mixture logits without the last axis', mixtureLogits.shape.slice(0, -1)],
      ["components' batch without the last axis", componentBatch.slice(0, -1)],
    ]);
    if (options.batchShape) {
      const widened = broadcastShapes('MixtureSameFamily', [
        ['parameter batch', parameterBatch],
        ['batchShape', options.batchShape],
      ]);
      if (!shapesEqual(widened, options.batchShape)) {
        throw new ShapeError(
          `MixtureSameFamily: batchShape [${options.batchShape.join(', ')}] must be a shape the parameters' batch [${parameterBatch.join(', ')}] broadcasts to`,
        );
      }
    }
    this.batchShape = [...(options.batchShape ?? parameterBatch)];
    this.eventShape = components.eventShape;
    this.componentsAt = options.componentsAt;
    this.logWeights = tf.logSoftmax(mixtureLogits);
  }

  /**
   * log p(x) = logsumexp_k (log π_k + log p_k(x)); x: [..., ...batch, ...event] -> [..., ...batch].
   * x gets a component axis before the event and is broadcast against the K components.
   */
  logProb(x: tf.Tensor): tf.Tensor {
    const e = this.eventShape.length;
    if (x.rank < e || !shapesEqual(x.shape.slice(x.rank - e), this.eventShape)) {
      throw new ShapeError(`MixtureSameFamily: value has shape [${x.shape.join(', ')}], expected [..., ${this.eventShape.join(', ')}] (the event shape)`);
    }
    return tf.tidy(() => {
      const lead = x.shape.slice(0, x.rank - e);
      let xk = tf.expandDims(x, lead.length); // [..., 1, ...event]
      // Core's Normal broadcasts size-1 axes itself; other families are only promised to accept
      // extra leading axes, so they get the component axis spelled out.
      if (!isNormal(this.components)) xk = broadcastTo(xk, [...lead, this.size, ...this.eventShape]);
      const perComponent = this.components.logProb(xk); // [..., K]
      return tf.logSumExp(tf.add(perComponent, this.logWeights), -1);
    });
  }

  /**
   * Draw a component per batch member (Gumbel-max over log π), then a value from it. With
   * `componentsAt`, only the chosen components are sampled; otherwise every component is and the
   * chosen ones are kept. No gradient.
   */
  sample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => {
      const perturbed = tf.add(this.logWeights, gumbelNoise(rng, [...this.batchShape, this.size]));
      const indices = tf.argMax(perturbed, -1); // [...batch]
      if (this.componentsAt) return stopGradient(this.componentsAt(indices).sample(rng));
      if (!shapesEqual(this.components.batchShape, [...this.batchShape, this.size])) {
        throw new ShapeError(
          `MixtureSameFamily: sampling a mixture of batch [${this.batchShape.join(', ')}] from components of batch [${this.components.batchShape.join(', ')}] needs options.componentsAt (shared components would give every batch member the same draws)`,
        );
      }
      const all = this.components.sample(rng); // [...batch, K, ...event]
      const e = this.eventShape.length;
      const mask = tf.reshape(tf.cast(tf.oneHot(indices, this.size), 'float32'), [...this.batchShape, this.size, ...this.eventShape.map(() => 1)]);
      return stopGradient(tf.sum(tf.mul(mask, all), all.rank - e - 1));
    });
  }

  /** Σ_k π_k mean_k: [...batch, ...event]. */
  mean(): tf.Tensor {
    const componentMean = this.components.mean?.bind(this.components);
    if (!componentMean) throw new Error('MixtureSameFamily: the components have no mean()');
    return tf.tidy(() => {
      const weights = tf.reshape(tf.exp(this.logWeights), [...this.logWeights.shape, ...this.eventShape.map(() => 1)]);
      const product = tf.mul(weights, componentMean()); // [...parameter batch, K, ...event]
      const mean = tf.sum(product, product.rank - this.eventShape.length - 1);
      return broadcastIfNeeded(mean, [...this.batchShape, ...this.eventShape]);
    });
  }
}

/** True for a MixtureSameFamily from any copy of @vaelab/core. */
export function isMixtureSameFamily(x: unknown): x is MixtureSameFamily {
  return isDistributionInstance(x, MixtureSameFamily);
}
