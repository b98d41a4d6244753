export {
  importanceSample,
  importanceSampleFrom,
  logLikelihood,
  defaultChunkSize,
  DEFAULT_ROWS_PER_CHUNK,
  type ImportanceOptions,
  type ImportanceEstimates,
} from './importance.js';
export { ActiveUnits, ACTIVE_UNIT_THRESHOLD, klPerDimension } from './latent.js';
export { reconstruct, reconstructFrom, squaredError, type Reconstruction, type ReconstructionPoint } from './reconstruct.js';
export {
  imageGrid,
  reconstructionGrid,
  encodePng,
  imageShape,
  type GridImage,
  type GridOptions,
  type ImageBatch,
  type ImageShape,
} from './grid.js';
export { evaluateModel, type EvaluateOptions, type EvaluateResult, type EvalReport, type EvalSplit } from './evaluate.js';
