import { convDecoder, convEncoder } from './conv.js';
import { mlpDecoder, mlpEncoder } from './mlp.js';
import { resnetDecoder, resnetEncoder } from './resnet.js';

export { ACTIVATIONS, type Activation, Dense, FeatureMajorDense, INITS, type Init, activate } from './dense.js';
export { Mlp, type MlpOptions, mlpDecoder, mlpEncoder } from './mlp.js';
export { ConvDecoder, ConvEncoder, convDecoder, convEncoder } from './conv.js';
export type { ImageNetOptions } from './image-net.js';
export { ResNetDecoder, ResNetEncoder, type ResNetOptions, ResidualBlock, resnetDecoder, resnetEncoder } from './resnet.js';
export { Conv2D, ConvTranspose2D, NORMS, type Norm, Normalization, UPSAMPLES, type Upsample, Upsampler } from './layers.js';
export { conv2d, conv2dTranspose, convFilterGrad, convInputGrad, depthToSpace, samePadBefore, upsampleNearest } from './conv-ops.js';
export { CONDITIONS, type Condition, maxStages } from './image.js';

/** Every encoder and decoder in this package, for `registry.use(...)`. */
export const components = [mlpEncoder, mlpDecoder, convEncoder, convDecoder, resnetEncoder, resnetDecoder];
