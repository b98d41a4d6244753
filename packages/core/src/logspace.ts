import * as tf from '@tensorflow/tfjs-core';

/*
 * Reductions in log space. Each subtracts the maximum before exponentiating, so terms of ±1000
 * neither overflow nor underflow, and a slice whose terms are all −∞ (a sample where p(x|z) = 0)
 * gives −∞ rather than NaN (−∞ − (−∞)). With a finite maximum the operations are exactly those of
 * tf.logSumExp, so results match it bit for bit.
 */

/** log Σ exp(x) over `axis` (default 0), stable; the axis is removed. */
export function logSumExp(x: tf.Tensor, axis = 0): tf.Tensor {
  return tf.tidy(() => {
    // tf.logSumExp's own steps, with the maximum replaced by 0 where it is not finite.
    const xMax = tf.max(x, axis, true);
    const shift = tf.where(tf.isFinite(xMax), xMax, tf.zerosLike(xMax));
    const sum = tf.sum(tf.exp(tf.sub(x, shift)), axis);
    return tf.add(tf.reshape(shift, sum.shape), tf.log(sum));
  });
}

/** log(eᵃ + eᵇ), elementwise, stable; −∞ when both are −∞. */
export function logAddExp(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => logSumExp(tf.stack([a, b]), 0));
}

/** log (1/n) Σ exp(x) over `axis` (default 0), n = x.shape[axis]: logSumExp − log n. */
export function logMeanExp(x: tf.Tensor, axis = 0): tf.Tensor {
  const a = axis < 0 ? x.rank + axis : axis;
  const n = x.shape[a];
  if (n === undefined || n < 1) throw new Error(`logMeanExp: axis ${axis} is not a non-empty axis of shape [${x.shape.join(', ')}]`);
  return tf.tidy(() => tf.sub(logSumExp(x, a), Math.log(n)));
}

/**
 * The importance-weighted bound per example (Burda et al. 2016, eq. 8):
 *   L_k = log (1/k) Σ_i w_i,  log w_i = log p(x, z_i) − log q(z_i | x),  z_i ~ q(z | x).
 * logWeights: [k, batch] -> [batch], nats. k = 1 is the single-sample ELBO.
 */
export function iwBound(logWeights: tf.Tensor): tf.Tensor {
  if (logWeights.rank < 1) throw new Error(`iwBound: log-weights have shape [${logWeights.shape.join(', ')}], expected [k, batch]`);
  return logMeanExp(logWeights, 0);
}
