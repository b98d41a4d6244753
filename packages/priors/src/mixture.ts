import * as tf from '@tensorflow/tfjs';
import { type Distribution, Normal, type RandomStream, ShapeError, broadcastTo, gumbelNoise, shapesEqual, stopGradient } from '@vaelab/core';

/**
 * p(z) = Σ_k π_k p_k(z): a mixture of K distributions of one family, as TFP's MixtureSameFamily.
 *
 * `components` holds all K components at once (batch shape [K], event shape E); the mixture has
 * batch shape [batch] and shares them across the batch. `componentsAt(indices)` returns the
 * components at the given indices (batch shape [n]); sampling uses it to draw one value per batch
 * member from its chosen component without drawing from all K.
 */
export class MixtureSameFamily implements Distribution {
  readonly batchShape: number[];
  readonly eventShape: number[];
  /** log π: [K], normalized. */
  readonly logWeights: tf.Tensor1D;
  readonly size: number;

  constructor(
    mixtureLogits: tf.Tensor1D,
    readonly components: Distribution,
    batch: number,
    private readonly componentsAt: (indices: tf.Tensor1D) => Distribution,
  ) {
    this.size = mixtureLogits.shape[0];
    if (!shapesEqual(components.batchShape, [this.size])) {
      throw new ShapeError(
        `MixtureSameFamily: components have batch shape [${components.batchShape.join(', ')}], expected [${this.size}] (one per mixture weight)`,
      );
    }
    this.batchShape = [batch];
    this.eventShape = components.eventShape;
    this.logWeights = tf.logSoftmax(mixtureLogits);
  }

  /**
   * log p(z) = logsumexp_k (log π_k + log p_k(z)); z: [..., ...event] -> [...]. z gets a
   * component axis before the event and is broadcast against the K components.
   */
  logProb(z: tf.Tensor): tf.Tensor {
    const e = this.eventShape.length;
    if (z.rank < e || !shapesEqual(z.shape.slice(z.rank - e), this.eventShape)) {
      throw new ShapeError(`MixtureSameFamily: value has shape [${z.shape.join(', ')}], expected [..., ${this.eventShape.join(', ')}] (the event shape)`);
    }
    return tf.tidy(() => {
      const lead = z.shape.slice(0, z.rank - e);
      let zk = tf.expandDims(z, lead.length); // [..., 1, ...event]
      // Core's Normal broadcasts size-1 axes itself; other families are only promised to accept
      // extra leading axes, so they get the component axis spelled out.
      if (!(this.components instanceof Normal)) zk = broadcastTo(zk, [...lead, this.size, ...this.eventShape]);
      const perComponent = this.components.logProb(zk); // [..., K]
      return tf.logSumExp(tf.add(perComponent, this.logWeights), -1);
    });
  }

  /** Draw a component per batch member (Gumbel-max over log π), then a value from it. No gradient. */
  sample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => {
      const batch = this.batchShape[0]!;
      const perturbed = tf.add(this.logWeights, gumbelNoise(rng, [batch, this.size]));
      const chosen = this.componentsAt(tf.argMax(perturbed, -1) as tf.Tensor1D);
      return stopGradient(chosen.sample(rng));
    });
  }

  /** Σ_k π_k mean_k, broadcast to [batch, ...event]. */
  mean(): tf.Tensor {
    const componentMean = this.components.mean?.bind(this.components);
    if (!componentMean) throw new Error('MixtureSameFamily: the components have no mean()');
    return tf.tidy(() => {
      const weights = tf.reshape(tf.exp(this.logWeights), [this.size, ...this.eventShape.map(() => 1)]);
      const mean = tf.sum(tf.mul(weights, componentMean()), 0);
      return broadcastTo(mean, [...this.batchShape, ...this.eventShape]);
    });
  }
}
