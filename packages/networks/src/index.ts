import { mlpDecoder, mlpEncoder } from './mlp.js';

export { ACTIVATIONS, type Activation, Dense, INITS, type Init, activate } from './dense.js';
export { Mlp, type MlpOptions, mlpDecoder, mlpEncoder } from './mlp.js';

/** Every encoder and decoder in this package, for `registry.use(...)`. */
export const components = [mlpEncoder, mlpDecoder];
