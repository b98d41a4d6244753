import type * as tf from '@tensorflow/tfjs-core';
import { type Distribution, MixtureSameFamily as CoreMixtureSameFamily } from '@vaelab/core';

/**
 * A mixture p(z) = Σ_k π_k p_k(z) of K components shared by every member of a batch, as the
 * mixture-of-Gaussians prior and the VampPrior use it: core's `MixtureSameFamily` with logits [K],
 * components of batch shape [K], and batch shape [batch]. `componentsAt(indices)` returns the
 * components at the given indices (batch shape [n]); sampling uses it to draw one value per batch
 * member from its chosen component without drawing from all K.
 */
export class SharedMixture extends CoreMixtureSameFamily {
  /** log π: [K], normalized. */
  declare readonly logWeights: tf.Tensor1D;

  constructor(
    mixtureLogits: tf.Tensor1D,
    components: Distribution,
    batch: number,
    componentsAt: (indices: tf.Tensor1D) => Distribution,
  ) {
    super(mixtureLogits, components, { batchShape: [batch], componentsAt: componentsAt as (indices: tf.Tensor) => Distribution });
  }
}

/**
 * @deprecated The batch-shared mixture under its old name (constructor `(logits [K], components,
 * batch, componentsAt)`); use `SharedMixture`, or core's `MixtureSameFamily` for batches of mixtures.
 */
export const MixtureSameFamily = SharedMixture;
/** @deprecated see the value `MixtureSameFamily`. */
export type MixtureSameFamily = SharedMixture;
