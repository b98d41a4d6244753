import { bernoulli } from './bernoulli.js';
import { gaussian } from './gaussian.js';

export { Bernoulli, BernoulliLikelihood, bernoulli } from './bernoulli.js';
export { FixedGaussianLikelihood, gaussian } from './gaussian.js';

/** Every likelihood in this package, for `registry.use(...)`. */
export const components = [bernoulli, gaussian];
