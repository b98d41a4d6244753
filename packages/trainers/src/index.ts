import { adam, rmsprop, sgd } from './optimizers.js';

export { type TrainState, type CheckpointParts, hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export { adam, rmsprop, sgd } from './optimizers.js';
export {
  type MetricsRecord,
  averagesToRecord,
  type StepInfo,
  type TrainArgs,
  type TrainResult,
  type TrainerOptions,
  batchInput,
  evaluate,
  initialState,
  train,
  trainStep,
  trainerSchema,
} from './trainer.js';

/** Every optimizer in this package, for `registry.use(...)`. */
export const components = [adam, sgd, rmsprop];
