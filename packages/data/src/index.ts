export { DataFormatError, DatasetNotFoundError } from './errors.js';
export { parseIdx, readIdxFile, isGzip, type IdxArray, type IdxFile } from './idx.js';
export { loadMnist, defaultMnistFolder, MNIST_FILES, type MnistOptions } from './mnist.js';
export { loadFashionMnist, FASHION_MNIST_CLASSES, FASHION_MNIST_DEBIAN_FOLDER, type FashionMnistOptions } from './fashion-mnist.js';
export { makeSynthetic, SYNTHETIC_PATTERNS, type SyntheticOptions } from './synthetic.js';
export { takeFirst, limitDataset } from './subset.js';
export { BYTE_LEVELS, byteSplit, bytesToUnit } from './bytes.js';
export {
  withValidationSplit,
  validationCount,
  hasValidation,
  ValidationSplitError,
  type ValidatedDataset,
} from './validation-split.js';
export {
  epochPermutation,
  numBatches,
  batchIndices,
  gatherBatch,
  evalBatches,
  type Batch,
  type EvalRange,
} from './batches.js';
export {
  binarizeDataset,
  binarizeSplit,
  bernoulliBinarize,
  BINARIZATIONS,
  BINARIZE_STREAMS,
  type Binarization,
  type BinarizeOptions,
} from './binarized.js';
export { components, mnistComponent, binarizedMnistComponent, fashionMnistComponent, syntheticComponent } from './components.js';
