export { RunFolderError, RunLockedError, type RunLockInfo } from './errors.js';
export {
  RUN_FILES,
  type Meta,
  type RunMetricsRecord,
  type RunRecord,
  appendMetrics,
  createRunDir,
  gitCommit,
  packageVersions,
  readEval,
  readMetrics,
  readMeta,
  readRun,
  readSummary,
  truncateMetrics,
  writeFileAtomic,
  writeJson,
  writeRunStart,
} from './run-folder.js';
export { checkOutDir, makeFolders } from './out-dir.js';
export { type AcquireRunLockOptions, type RunLock, acquireRunLock, isProcessAlive } from './lock.js';
export { crc32c, maskedCrc32c } from './crc32c.js';
export {
  type TensorBoardEvent,
  type TensorBoardImage,
  type TensorBoardValue,
  TensorBoardWriter,
  decodeEvent,
  encodeEvent,
  frameRecord,
  readEventFile,
} from './tensorboard.js';
export {
  JOB_STATES,
  SWEEP_FILES,
  type JobState,
  type JobStatus,
  type SweepJob,
  type SweepJobRecord,
  type SweepManifest,
  type SweepParameter,
  type SweepRecord,
  createJobDir,
  createSweepDir,
  isSweepDir,
  jobName,
  listSweeps,
  readJobStatus,
  readSweep,
  readSweepManifest,
  shortKeys,
  writeJobStatus,
  writeSweepManifest,
} from './sweep-folder.js';
export {
  type MetricStats,
  type ResultGroup,
  type ResultRow,
  type ResultTable,
  collectResults,
  formatNumber,
  groupResults,
  meanStd,
  metricValue,
  resultsCsv,
  resultsMarkdown,
} from './results.js';
export { IMAGE_CAPTIONS, type RunImage, readRunImages, writeRunImage } from './images.js';
