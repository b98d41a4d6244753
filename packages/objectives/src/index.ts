import { autoencoder } from './autoencoder.js';
import { betaVae } from './beta-vae.js';
import { elbo } from './elbo.js';
import { freeBits } from './free-bits.js';
import { iwae } from './iwae.js';
import { vqVae } from './vq-vae.js';

export { Autoencoder, type AutoencoderOptions, autoencoder } from './autoencoder.js';
export { BetaVae, type BetaVaeOptions, type KLWeighting, betaVae } from './beta-vae.js';
export { CORRUPTION_TYPES, type CorruptFunction, type CorruptionOptions, type CorruptionType, corruptInput, corruptionFunction } from './corruption.js';
export { Elbo, type ElboOptions, elbo } from './elbo.js';
export { FreeBits, type FreeBitsOptions, freeBits } from './free-bits.js';
export { Iwae, type IwaeOptions, iwae } from './iwae.js';
export { klPerDimension } from './per-dimension.js';
export * from './schedules.js';
export { type DataInfo, bitsPerDim, vaeTerms } from './terms.js';
export { VaeModel, type VaeParts } from './model.js';
export { type QuantizedView, VqVae, type VqVaeOptions, isQuantized, vqVae } from './vq-vae.js';

/** Every objective in this package, for `registry.use(...)`. */
export const components = [elbo, betaVae, freeBits, iwae, autoencoder, vqVae];
