import { standardNormal } from './standard-normal.js';

export { StandardNormalPrior, standardNormal } from './standard-normal.js';

/** Every prior in this package, for `registry.use(...)`. */
export const components = [standardNormal];
