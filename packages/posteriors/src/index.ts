import { diagonalGaussian } from './diagonal-gaussian.js';

export { DiagonalGaussianPosterior, diagonalGaussian, type ScaleParameterization } from './diagonal-gaussian.js';

/** Every posterior family in this package, for `registry.use(...)`. */
export const components = [diagonalGaussian];
