import { join } from 'node:path';

/** The names inside a run folder (DESIGN §5). */
export const RUN_FILES = {
  config: 'config.yaml',
  overrides: 'overrides.yaml',
  meta: 'meta.json',
  metrics: 'metrics.jsonl',
  summary: 'summary.json',
  eval: 'eval.json',
  validation: 'validation.json',
  lock: '.lock',
  /** Folder of TensorBoard event files. */
  tensorboard: 'tb',
  /** Folder of PNG grids. */
  images: 'images',
  /** Folder of checkpoints; `checkpoint` is the one resume reads. */
  checkpoints: 'checkpoints',
  checkpoint: join('checkpoints', 'latest'),
} as const;
