import * as tf from '@tensorflow/tfjs-core';
import { type Distribution, Normal, findKL, klNormalNormal } from '@vaelab/core';

/** The same normal with every axis in the batch (event rank 0), so that nothing is summed. */
function elementwise(n: Normal): Normal {
  return new Normal(n.loc, n.scale, 0, n.logScale);
}

/**
 * KL(q ‖ p) for each latent dimension: [batch, latentDim], nats, in closed form, when q and p are
 * both core `Normal`s over a vector (event rank 1, batch rank 1), i.e. diagonal Gaussians, whose
 * KL factorises over dimensions. Undefined for any other pair (full covariance, mixtures, flows,
 * ...), where the KL does not split per dimension in closed form, and when the KL registry holds
 * a more specific rule for the pair than the Normal–Normal one (so that the per-dimension values
 * always sum to the KL the registry computes).
 */
export function klPerDimension(q: Distribution, p: Distribution): tf.Tensor2D | undefined {
  if (!(q instanceof Normal) || !(p instanceof Normal)) return undefined;
  if (q.eventRank !== 1 || p.eventRank !== 1 || q.loc.rank !== 2 || p.loc.rank > 2) return undefined;
  if (findKL(q, p) !== klNormalNormal) return undefined;
  return tf.tidy(() => klNormalNormal(elementwise(q), elementwise(p)) as tf.Tensor2D);
}

/** A distribution's class name for messages ("Normal", "MixtureOfGaussians", ...). */
export function distributionName(d: Distribution): string {
  const name = (d as object).constructor?.name;
  const shape = `batch [${d.batchShape.join(', ')}], event [${d.eventShape.join(', ')}]`;
  return `${name && name !== 'Object' ? name : 'a distribution'} (${shape})`;
}
