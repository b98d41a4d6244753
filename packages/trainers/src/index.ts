import { adam, rmsprop, sgd } from './optimizers.js';

export { type BestMark, CHECKPOINT_LAYOUT, type CheckpointLayout, type CheckpointParts, type TrainState, verifyCheckpoint } from './checkpoint.js';
export { CheckpointError, CheckpointWriteError } from './checkpoint-errors.js';
export {
  type CheckpointInfo,
  type CheckpointOptions,
  type LoadResult,
  type SaveOptions,
  type SaveResult,
  CheckpointStore,
  checkpointSchema,
  findCheckpoint,
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint-store.js';
export { type CheckpointFaultHook, type FileOp, checkpointFileOps, setCheckpointFaultHook } from './durable-fs.js';
export { adam, rmsprop, sgd } from './optimizers.js';
export { FusedAdamOptimizer } from './fused-adam.js';
export { type FusedPath, FusedOptimizer } from './fused-optimizer.js';
// where a native stand-in for a fused optimizer's kernel is set (@vaelab/core); re-exported for convenience
export { type HeapKernel, setHeapKernel } from '@vaelab/core';
export { FusedRmspropOptimizer } from './fused-rmsprop.js';
export { FusedSgdOptimizer } from './fused-sgd.js';
export {
  type CheckpointMeta,
  type CheckpointReason,
  type EpochMetrics,
  type MetricsRecord,
  averagesToRecord,
  type StepInfo,
  type TrainArgs,
  type TrainResult,
  type TrainerOptions,
  type TrainerOptionsInput,
  type TrainerState,
  TrainerOptionsError,
  batchCondition,
  batchInput,
  checkTrainerAgainstData,
  evaluate,
  initialState,
  parseTrainerOptions,
  train,
  trainStep,
  trainerSchema,
} from './trainer.js';
export { type LrSchedule, type LrScheduleInput, learningRate, lrScheduleSchema } from './lr-schedules.js';
export {
  type BestValue,
  EarlyStopping,
  type EarlyStoppingOptions,
  type EarlyStoppingState,
  earlyStoppingSchema,
  improves,
} from './early-stopping.js';

/** Every optimizer in this package, for `registry.use(...)`. */
export const components = [adam, sgd, rmsprop];
