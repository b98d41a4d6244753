import { gaussian } from './gaussian.js';
import { mixtureOfGaussians } from './mixture-of-gaussians.js';
import { standardNormal } from './standard-normal.js';
import { uniformCategorical } from './uniform-categorical.js';
import { vamp } from './vamp.js';

export { StandardNormalPrior, standardNormal } from './standard-normal.js';
export { GaussianPrior, gaussian } from './gaussian.js';
export { MixtureSameFamily, SharedMixture } from './mixture.js';
export { MixtureOfGaussiansPrior, mixtureOfGaussians, type MixtureOfGaussiansOptions } from './mixture-of-gaussians.js';
export { VampPrior, vamp, type VampPriorOptions } from './vamp.js';
export { UniformCategoricalPrior, uniformCategorical } from './uniform-categorical.js';

/** Every prior in this package, for `registry.use(...)`. */
export const components = [standardNormal, gaussian, mixtureOfGaussians, vamp, uniformCategorical];
