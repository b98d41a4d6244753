import type { KLRule } from '@vaelab/core';
import { diagonalGaussian } from './diagonal-gaussian.js';
import { fullCovarianceGaussian, fullCovarianceKLRules } from './full-covariance.js';
import { iaf } from './iaf.js';
import { planarFlow } from './planar-flow.js';
import { relaxedCategorical } from './relaxed-categorical.js';
import { vectorQuantizer } from './vector-quantizer.js';

export { DiagonalGaussianPosterior, diagonalGaussian, type ScaleParameterization } from './diagonal-gaussian.js';
export {
  FullCovarianceGaussianPosterior,
  MultivariateNormalTriL,
  SOFTPLUS_DIAGONAL_EPSILON,
  fullCovarianceGaussian,
  fullCovarianceKLRules,
  klMvnTriLMvnTriL,
  klMvnTriLNormal,
  type DiagonalParameterization,
} from './full-covariance.js';
export { FlowDistribution, FlowLogProbError, type FlowTransform } from './flow.js';
export { PlanarFlow, PlanarFlowPosterior, constrainPlanar, constrainU, planarFlow, type PlanarLayer } from './planar-flow.js';
export { IAF_DEFAULTS, IafFlow, IafPosterior, Made, iaf, type IafOptions } from './iaf.js';
export { Quantized, VectorQuantizerPosterior, nearestCodes, vectorQuantizer, type VectorQuantizerOptions } from './vector-quantizer.js';
export { fillTriangular, matrixDiagonal, solveLowerTriangular, triangleSize } from './linalg.js';
export {
  RELAXED_CATEGORICAL_DEFAULTS,
  RelaxedCategoricalPosterior,
  relaxedCategorical,
  temperatureAt,
  type RelaxedCategoricalOptions,
} from './relaxed-categorical.js';

/** Every posterior family in this package, for `registry.use(...)`. */
export const components = [diagonalGaussian, fullCovarianceGaussian, planarFlow, iaf, vectorQuantizer, relaxedCategorical];

/** Analytic KL rules of this package, for `registry.use(...)`: MVN-TriL ‖ MVN-TriL and MVN-TriL ‖ Normal. */
export const klRules: KLRule[] = [...fullCovarianceKLRules];
