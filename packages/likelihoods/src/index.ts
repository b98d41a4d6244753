import { bernoulli } from './bernoulli.js';
import { categorical256 } from './categorical.js';
import { continuousBernoulli } from './continuous-bernoulli.js';
import { discretizedLogistic } from './discretized-logistic.js';
import { gaussian } from './gaussian.js';
import { laplace } from './laplace.js';

export { Bernoulli, BernoulliLikelihood, bernoulli } from './bernoulli.js';
export { bernoulliTerms, fusedBernoulliApplies } from './bernoulli-kernel.js';
export {
  ContinuousBernoulli,
  ContinuousBernoulliLikelihood,
  continuousBernoulli,
  continuousBernoulliEntropy,
  continuousBernoulliLogNormalizer,
  continuousBernoulliMean,
} from './continuous-bernoulli.js';
export { FixedGaussianLikelihood, GaussianLikelihood, type GaussianLikelihoodOptions, gaussian } from './gaussian.js';
export { Laplace, LaplaceLikelihood, type LaplaceLikelihoodOptions, laplace } from './laplace.js';
export { Categorical256Likelihood, QuantizedCategorical, categorical256 } from './categorical.js';
export { DiscretizedLogisticLikelihood, DiscretizedLogisticMixture, MIN_LOG_SCALE, discretizedLogistic } from './discretized-logistic.js';
export { type ScaleConfig, type ScaleMode, ScaleParameter } from './scale.js';
/** The Gaussian likelihood's distribution is core's Normal (re-exported for convenience). */
export { Normal } from '@vaelab/core';

/** Every likelihood in this package, for `registry.use(...)`. */
export const components = [bernoulli, continuousBernoulli, gaussian, laplace, categorical256, discretizedLogistic];
