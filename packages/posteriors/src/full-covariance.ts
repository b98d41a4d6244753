import * as tf from '@tensorflow/tfjs-core';
import {
  type Distribution,
  type KLRule,
  type LatentSpec,
  LOG_2PI,
  Normal,
  type PosteriorFamily,
  type RandomStream,
  ShapeError,
  assertValues,
  broadcastIfNeeded,
  broadcastShapes,
  defineComponent,
  isDistributionInstance,
  registerKL,
  stopGradient,
  validationEnabled,
} from '@vaelab/core';
import { z } from 'zod';
import { type DiagonalTransform, fillTriangular, matrixDiagonal, solveLowerTriangular, triangleSize, triangularMatVec } from './linalg.js';

/**
 * N(μ, Σ) with Σ = L Lᵀ, L lower triangular with a positive diagonal (a Cholesky factor).
 * Batch shape = loc.shape[:-1], event shape [D].
 *
 * `logDiagonal` (log L_ii) may be passed when the caller has it, so that log-densities never take
 * the log of an exponential.
 *
 * Parameters broadcast: loc [...batchA, D] and scaleTril [...batchB, D, D] (and logDiagonal
 * [...batchC, D]) give the batch shape broadcast(batchA, batchB, batchC); a single [D, D] factor
 * shared by a batch of means, or one mean for a batch of factors, is broadcast at construction
 * with core's `broadcastTo` (fast gradient).
 */
export class MultivariateNormalTriL implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/posteriors (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/posteriors/MultivariateNormalTriL';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[];
  readonly loc: tf.Tensor;
  readonly scaleTril: tf.Tensor;
  readonly diagonal: tf.Tensor;
  readonly logDiagonal: tf.Tensor;

  constructor(loc: tf.Tensor, scaleTril: tf.Tensor, logDiagonal?: tf.Tensor) {
    const dim = loc.shape[loc.rank - 1];
    if (loc.rank < 1 || dim === undefined) throw new ShapeError(`MultivariateNormalTriL: loc has shape [${loc.shape.join(', ')}], expected [...batch, D]`);
    if (scaleTril.rank < 2 || scaleTril.shape[scaleTril.rank - 1] !== dim || scaleTril.shape[scaleTril.rank - 2] !== dim) {
      throw new ShapeError(`MultivariateNormalTriL: scale_tril has shape [${scaleTril.shape.join(', ')}], expected [..., ${dim}, ${dim}] (loc has [${loc.shape.join(', ')}])`);
    }
    if (logDiagonal && logDiagonal.shape[logDiagonal.rank - 1] !== dim) {
      throw new ShapeError(`MultivariateNormalTriL: log_diagonal has shape [${logDiagonal.shape.join(', ')}], expected [..., ${dim}]`);
    }
    const batch = broadcastShapes('MultivariateNormalTriL', [
      ['loc batch', loc.shape.slice(0, -1)],
      ['scale_tril batch', scaleTril.shape.slice(0, -2)],
      ...(logDiagonal ? [['log_diagonal batch', logDiagonal.shape.slice(0, -1)] as const] : []),
    ]);
    this.loc = broadcastIfNeeded(loc, [...batch, dim]);
    this.scaleTril = broadcastIfNeeded(scaleTril, [...batch, dim, dim]);
    this.batchShape = batch;
    this.eventShape = [dim];
    this.diagonal = matrixDiagonal(this.scaleTril);
    if (validationEnabled()) {
      assertValues('MultivariateNormalTriL', 'loc', this.loc, { allowed: 'finite', above: -Infinity, below: Infinity });
      assertValues('MultivariateNormalTriL', 'scale_tril', this.scaleTril, { allowed: 'finite', above: -Infinity, below: Infinity });
      assertValues('MultivariateNormalTriL', 'the diagonal of scale_tril', this.diagonal, { allowed: 'positive and finite', above: 0, below: Infinity });
    }
    this.logDiagonal = logDiagonal ? broadcastIfNeeded(logDiagonal, [...batch, dim]) : tf.log(this.diagonal);
  }

  get dim(): number {
    return this.eventShape[0]!;
  }

  /** z = μ + L ε, ε ~ N(0, I): gradients flow to μ and L. */
  rsample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => tf.add(this.loc, triangularMatVec(this.scaleTril, rng.normal(this.loc.shape))));
  }

  sample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => stopGradient(this.rsample(rng)));
  }

  /**
   * log N(x; μ, LLᵀ) = −½‖L⁻¹(x − μ)‖² − Σ log L_ii − (D/2) log 2π.
   * x: [...lead, ...batch, D] -> [...lead, ...batch].
   */
  logProb(x: tf.Tensor): tf.Tensor {
    if (x.shape[x.rank - 1] !== this.dim) {
      throw new ShapeError(`MultivariateNormalTriL: x has shape [${x.shape.join(', ')}], expected [..., ${this.dim}]`);
    }
    return tf.tidy(() => {
      const y = solveLowerTriangular(this.scaleTril, tf.sub(x, this.loc), this.diagonal);
      const halfMahalanobis = tf.mul(0.5, tf.sum(tf.square(y), -1));
      return tf.neg(tf.add(tf.add(halfMahalanobis, tf.sum(this.logDiagonal, -1)), 0.5 * this.dim * LOG_2PI));
    });
  }

  /** H = (D/2)(1 + log 2π) + Σ log L_ii. */
  entropy(): tf.Tensor {
    return tf.tidy(() => tf.add(tf.sum(this.logDiagonal, -1), 0.5 * this.dim * (1 + LOG_2PI)));
  }

  mean(): tf.Tensor {
    return this.loc;
  }

  mode(): tf.Tensor {
    return this.loc;
  }

  /** Σ = L Lᵀ: [...batch, D, D]. */
  covariance(): tf.Tensor {
    return tf.tidy(() => {
      // Σ_ij = Σ_k L_ik L_jk, as a broadcast product.
      const rank = this.scaleTril.rank;
      return tf.sum(tf.mul(tf.expandDims(this.scaleTril, rank - 1), tf.expandDims(this.scaleTril, rank - 2)), -1);
    });
  }
}

/**
 * KL(q ‖ p) between two MVN-TriL with the same event size:
 *   ½ [‖Lp⁻¹ Lq‖²_F + ‖Lp⁻¹(μp − μq)‖² − D] + Σ log Lp_ii − Σ log Lq_ii.
 */
export function klMvnTriLMvnTriL(q: MultivariateNormalTriL, p: MultivariateNormalTriL): tf.Tensor {
  if (q.dim !== p.dim) throw new ShapeError(`KL(MultivariateNormalTriL ‖ MultivariateNormalTriL): event sizes ${q.dim} and ${p.dim} differ`);
  return tf.tidy(() => {
    const rank = q.scaleTril.rank;
    // The columns of Lq as right-hand sides on a leading axis: [D (column), ...batch, D (row)].
    const columns = tf.transpose(q.scaleTril, [rank - 1, ...Array.from({ length: rank - 2 }, (_, a) => a), rank - 2]);
    const trace = tf.sum(tf.square(solveLowerTriangular(p.scaleTril, columns, p.diagonal)), [0, rank - 1]);
    const y = solveLowerTriangular(p.scaleTril, tf.sub(p.loc, q.loc), p.diagonal);
    const mahalanobis = tf.sum(tf.square(y), -1);
    const logDetRatio = tf.sub(tf.sum(p.logDiagonal, -1), tf.sum(q.logDiagonal, -1));
    return tf.add(tf.mul(0.5, tf.sub(tf.add(trace, mahalanobis), q.dim)), logDetRatio);
  });
}

/**
 * KL(q ‖ p) for an MVN-TriL q and a diagonal Normal p over one event axis (the standard normal
 * prior, a learnable diagonal prior): with Σp = diag σp²,
 *   ½ [Σ_ij Lq_ij² / σp_i² + Σ_i ((μp − μq)_i / σp_i)² − D] + Σ log σp_i − Σ log Lq_ii.
 */
export function klMvnTriLNormal(q: MultivariateNormalTriL, p: Normal): tf.Tensor {
  if (p.eventRank !== 1 || p.eventShape[0] !== q.dim) {
    throw new ShapeError(
      `KL(MultivariateNormalTriL ‖ Normal): the Normal's event shape is [${p.eventShape.join(', ')}], expected [${q.dim}] (one event axis)`,
    );
  }
  return tf.tidy(() => {
    const variance = tf.square(p.scale); // [...batch, D]
    const trace = tf.sum(tf.div(tf.sum(tf.square(q.scaleTril), -1), variance), -1);
    const mahalanobis = tf.sum(tf.div(tf.square(tf.sub(p.loc, q.loc)), variance), -1);
    const logDetRatio = tf.sub(tf.sum(p.logScale, -1), tf.sum(q.logDiagonal, -1));
    return tf.add(tf.mul(0.5, tf.sub(tf.add(trace, mahalanobis), q.dim)), logDetRatio);
  });
}

/** True for a MultivariateNormalTriL from any copy of @vaelab/posteriors. */
export function isMultivariateNormalTriL(x: unknown): x is MultivariateNormalTriL {
  return isDistributionInstance(x, MultivariateNormalTriL);
}

/**
 * The rules, registered here at import: importing the class activates them (no `registry.use`
 * needed). The list stays exported for `registry.use({ klRules })`, which registers them again.
 */
export const fullCovarianceKLRules: KLRule[] = [
  { q: MultivariateNormalTriL, p: MultivariateNormalTriL, fn: klMvnTriLMvnTriL },
  { q: MultivariateNormalTriL, p: Normal, fn: klMvnTriLNormal },
];
for (const rule of fullCovarianceKLRules) registerKL(rule.q, rule.p, rule.fn);

export type DiagonalParameterization = 'softplus' | 'exp';

/** Added to softplus(raw) so that the diagonal stays away from 0 (TFP's FillScaleTriL uses 1e-5 too). */
export const SOFTPLUS_DIAGONAL_EPSILON = 1e-5;

function diagonalTransform(kind: DiagonalParameterization): DiagonalTransform {
  if (kind === 'exp') return (raw) => ({ diagonal: tf.exp(raw), logDiagonal: raw });
  return (raw) => {
    const diagonal = tf.add(tf.softplus(raw), SOFTPLUS_DIAGONAL_EPSILON);
    return { diagonal, logDiagonal: tf.log(diagonal) };
  };
}

/**
 * q(z | x) = N(μ, L Lᵀ). The encoder emits D + D(D+1)/2 values per example: μ, then the lower
 * triangle of L row-major (L00, L10, L11, L20, ...), whose diagonal entries pass through softplus
 * (plus 1e-5) or exp. z = μ + L ε is reparameterized.
 */
export class FullCovarianceGaussianPosterior implements PosteriorFamily {
  readonly reparameterized = true;
  readonly variables: tf.Variable[] = [];

  constructor(
    readonly latentDim: number,
    readonly diagonal: DiagonalParameterization = 'softplus',
  ) {}

  paramShape(latent: LatentSpec): number[] {
    return [latent.dim + triangleSize(latent.dim)];
  }

  // params: [batch, D + D(D+1)/2] -> MVN with batch [batch], event [D]
  distribution(params: tf.Tensor): MultivariateNormalTriL {
    const dim = this.latentDim;
    const size = dim + triangleSize(dim);
    if (params.rank !== 2 || params.shape[1] !== size) {
      throw new ShapeError(
        `full_covariance_gaussian: encoder output has shape [${params.shape.join(', ')}], expected [batch, ${size}] (D + D(D+1)/2 for latent_dim ${dim})`,
      );
    }
    const [loc, tril] = tf.split(params, [dim, triangleSize(dim)], 1) as [tf.Tensor2D, tf.Tensor2D];
    const { scaleTril, logDiagonal } = fillTriangular(tril, dim, diagonalTransform(this.diagonal));
    return new MultivariateNormalTriL(loc, scaleTril, logDiagonal);
  }

  dispose(): void {}
}

export const fullCovarianceGaussian = defineComponent({
  kind: 'posterior',
  name: 'full_covariance_gaussian',
  description: 'Full-covariance Gaussian posterior N(μ, LLᵀ); the encoder predicts μ and a Cholesky factor L.',
  schema: z.object({
    diagonal: z.enum(['softplus', 'exp']).default('softplus').describe("map from the encoder's raw value to L's positive diagonal (softplus adds 1e-5)"),
  }),
  create: (options, ctx) => new FullCovarianceGaussianPosterior(ctx.latentDim, options.diagonal),
});
