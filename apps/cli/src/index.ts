export { main, EXIT } from './main.js';
export { builtinRegistry, loadPlugins } from './registry.js';
export { checkConfig, buildExperiment, type Experiment } from './build.js';
export { executeRun, type ExecuteOptions, type ExecuteResult } from './execute.js';
export { runConfigSchema, type RunConfig } from './schema.js';
export { RUN_FILES, readMetrics } from '@vaelab/runs';
export { type Io, processIo } from './io.js';
export { type TrainedRun, loadTrainedRun, examples, labelsOf } from './trained.js';
export { attributeVectorOf, editExamples } from './edit.js';
