import { elbo } from './elbo.js';

export { Elbo, type ElboOptions, elbo } from './elbo.js';
export { VaeModel, type VaeParts } from './model.js';

/** Every objective in this package, for `registry.use(...)`. */
export const components = [elbo];
