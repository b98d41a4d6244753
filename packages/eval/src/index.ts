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
export {
  encodeMeans,
  decodeCodes,
  samplePrior,
  priorCodes,
  codesTensor,
  isCodebookPosterior,
  type CodeOptions,
  type DecodeOptions,
  type SampleOptions,
  type PriorSamples,
} from './generate.js';
export { interpolate, interpolateCodes, INTERPOLATION_MODES, type InterpolationMode, type Interpolation, type InterpolationOptions } from './interpolate.js';
export { traversalCodes, dimensionsByKl } from './traverse.js';
export {
  attributeVector,
  classChangeVector,
  labelAttributeVector,
  parseLabelAttribute,
  applyAttribute,
  type LabelAttribute,
} from './attributes.js';
export { ransEncode, ransDecode, quantizeFrequencies, frequencyTable, PROB_BITS, PROB_SCALE, type FrequencyTable } from './rans.js';
export {
  compressImages,
  decompressImages,
  codesOf,
  writeCodeFile,
  readCodeFile,
  checkConfigHash,
  gaussianBinTable,
  binsPerSide,
  normalCdf,
  CodeFileError,
  CODE_FILE_MAGIC,
  CODE_FILE_VERSION,
  DEFAULT_BIN_WIDTH,
  DEFAULT_KL_THRESHOLD,
  type CodeFile,
  type CodeFileHeader,
  type CompressOptions,
  type Compressed,
  type Decompressed,
} from './compress.js';
export { pca2, umap2, scatterPlot, manifoldCodes, LABEL_COLOURS, PROJECTIONS, type Projection, type ScatterOptions } from './latent-scatter.js';
export { decodePngImage, upscale, readableFactor, labelGrid, drawText, textWidth, textHeight, blankImage, fillRect, paste, shortNumber, type Colour, type LabelOptions } from './annotate.js';
export {
  renderRunReport,
  renderSweepReport,
  lineChart,
  barChart,
  learningCurves,
  escapeHtml,
  type ReportImage,
  type RunReportInput,
  type SweepReportInput,
  type SweepRun,
  type CurveSeries,
} from './report.js';
