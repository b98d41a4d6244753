import * as tf from '@tensorflow/tfjs-core';
import {
  type Dataset,
  type DataSplit,
  NonFiniteLossError,
  ensureGradients,
  type Objective,
  type RandomStream,
  type RandomStreams,
  VaeLabError,
} from '@vaelab/core';
import { batchIndices, epochPermutation, evalBatches, gatherBatch, numBatches } from '@vaelab/data';
import type { VaeModel } from '@vaelab/objectives';
import { z } from 'zod';
import type { TrainState } from './checkpoint.js';
import { checkpointSchema } from './checkpoint-store.js';
import { type BestValue, EarlyStopping, type EarlyStoppingState, earlyStoppingSchema, improves } from './early-stopping.js';
import { learningRate, lrScheduleSchema } from './lr-schedules.js';

export const trainerSchema = z
  .object({
    epochs: z.number().int().min(1).default(10).describe('passes over the training split'),
    batch_size: z.number().int().min(1).default(128).describe('examples per optimizer step'),
    eval_batch_size: z.number().int().min(1).default(1000).describe('examples per evaluation batch'),
    drop_last: z.boolean().default(false).describe('drop the last, smaller batch of each epoch'),
    clip_norm: z.number().positive().nullable().default(null).describe('clip gradients to this global norm; null for none'),
    optimizer: z
      .looseObject({ name: z.string() })
      .default({ name: 'adam' })
      .describe('optimizer component: { name, ...options }'),
    lr_schedule: lrScheduleSchema.default({ name: 'constant', warmup_steps: 0, warmup_start: 0 }),
    log_every_steps: z.number().int().min(1).default(50).describe("write a 'train_step' metrics record every this many steps"),
    early_stopping: earlyStoppingSchema
      .nullable()
      .default(null)
      .describe('stop when a validation metric stops improving; null for never (needs a validation split)'),
    // prefault: an absent `checkpoint` is parsed as {}, so its defaults live in checkpointSchema alone
    checkpoint: checkpointSchema.prefault({}).describe('when to write checkpoints and which to keep'),
  })
  .strict();
/** Options as the loop uses them, every default filled in. */
export type TrainerOptions = z.output<typeof trainerSchema>;
/** Options as a user may write them: any option left out takes its default. */
export type TrainerOptionsInput = z.input<typeof trainerSchema>;

/** A trainer option that cannot work; `path` is its config path, e.g. 'trainer.batch_size'. */
export class TrainerOptionsError extends VaeLabError {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

/** Parse (and fill the defaults of) trainer options, naming the path of the first bad value. */
export function parseTrainerOptions(options: TrainerOptionsInput): TrainerOptions {
  const r = trainerSchema.safeParse(options);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = ['trainer', ...issue.path.map(String)].join('.');
  throw new TrainerOptionsError(`${path}: ${issue.message}`, path);
}

/**
 * Check trainer options against the data they will train on: a batch larger than the training
 * split, a setting that leaves zero steps, early stopping without a validation split. Throws a
 * TrainerOptionsError whose `path` names the option (the CLI says where the value came from).
 * `validationSize` (when given) is the size of the validation split, null or 0 when there is none.
 */
export function checkTrainerAgainstData(
  options: TrainerOptionsInput,
  trainSize: number,
  data: { validationSize?: number | null } = {},
): TrainerOptions {
  const o = parseTrainerOptions(options);
  if (!Number.isInteger(trainSize) || trainSize < 1) {
    throw new TrainerOptionsError(`the training split has ${trainSize} examples; there is nothing to train on`, 'data');
  }
  if (o.batch_size > trainSize) {
    throw new TrainerOptionsError(
      `trainer.batch_size is ${o.batch_size} but the training split has ${trainSize} examples; use a batch size of at most ${trainSize}`,
      'trainer.batch_size',
    );
  }
  const batches = numBatches(trainSize, o.batch_size, o.drop_last);
  if (batches * o.epochs < 1) {
    throw new TrainerOptionsError(
      `trainer.drop_last is true and trainer.batch_size ${o.batch_size} leaves no full batch of the ${trainSize} training examples: zero steps per epoch`,
      'trainer.drop_last',
    );
  }
  if (data.validationSize !== undefined && !data.validationSize) {
    if (o.checkpoint.metric?.startsWith('validation.')) {
      throw new TrainerOptionsError(
        `trainer.checkpoint.metric is ${o.checkpoint.metric}, but there is no validation split; add one to the data or choose a train or test metric`,
        'trainer.checkpoint.metric',
      );
    }
    if (o.early_stopping) {
      throw new TrainerOptionsError(
        `trainer.early_stopping watches ${o.early_stopping.metric}, but there is no validation split; add one to the data or set trainer.early_stopping to null`,
        'trainer.early_stopping',
      );
    }
  }
  return o;
}

/** One line of metrics.jsonl. Terms are nats per example. */
export interface MetricsRecord {
  step: number;
  /** Epochs completed; fractional (epoch + batch / batches) on 'train_step' records. */
  epoch: number;
  split: 'train' | 'test' | 'validation' | 'train_step';
  loss: number;
  /** Scalar terms are numbers; per-dimension vectors (e.g. kl_per_dim) are arrays. */
  [term: string]: number | string | number[];
}

/** Vector element i of `name` is carried as the scalar `name[i]` (one transfer, plain sums). */
const ELEMENT = /^(.+)\[(\d+)\]$/;

/** Averages of scalar sums, with `name[i]` entries gathered back into arrays. */
export function averagesToRecord(sums: Record<string, number>, count: number): Record<string, number | number[]> {
  const out: Record<string, number | number[]> = {};
  for (const [name, sum] of Object.entries(sums)) {
    const m = ELEMENT.exec(name);
    if (m) {
      const arr = (out[m[1]!] ??= []) as number[];
      arr[Number(m[2])] = sum / count;
    } else out[name] = sum / count;
  }
  return out;
}

export interface StepInfo {
  step: number;
  epoch: number;
  batch: number;
  batches: number;
  /** Examples in this step's batch. */
  size: number;
  loss: number;
  /** Learning rate of this step's update. */
  lr: number;
}

/**
 * The training state with what the loop adds to the cursor of `TrainState`; all of it plain JSON,
 * saved in the checkpoint beside the cursor, so that a resumed run continues exactly. The learning
 * rate schedule needs no state of its own: it is a function of `step`.
 */
export interface TrainerState extends TrainState {
  /** Best value so far of the metric the best checkpoint is chosen by; null before the first epoch. */
  best?: BestValue | null;
  /** Early-stopping counters (with their own best value); null when early stopping is off. */
  earlyStopping?: EarlyStoppingState | null;
}

export type CheckpointReason = 'step' | 'time' | 'epoch' | 'interrupt' | 'non-finite';

/** What the loop knows about a checkpoint beyond the state. */
export interface CheckpointMeta {
  /** Present when this epoch's metric is a new best: keep this checkpoint as the best one. */
  best?: BestValue;
}

export interface EpochMetrics {
  /** Epochs completed (1-based). */
  epoch: number;
  step: number;
  train: MetricsRecord;
  test: MetricsRecord;
  validation?: MetricsRecord;
}

export interface TrainArgs {
  model: VaeModel;
  objective: Objective;
  optimizer: tf.Optimizer;
  /** A dataset; when it has a `validation` split (see withValidationSplit) it is evaluated each epoch. */
  dataset: Dataset & { readonly validation?: DataSplit };
  streams: RandomStreams;
  /** Trainer options; those left out take their defaults (parsed with trainerSchema). */
  options: TrainerOptionsInput;
  /** State to resume from (as restored from a checkpoint); a fresh run starts at zero. */
  state?: TrainerState;
  /**
   * Persist a checkpoint of the current state: every `checkpoint.every_steps` steps ('step'), every
   * `checkpoint.every_minutes` minutes ('time'), at each epoch's end ('epoch', with `meta.best` when
   * the epoch's metric is a new best), on interrupt and on a non-finite loss.
   */
  checkpoint?: (state: TrainerState, reason: CheckpointReason, meta?: CheckpointMeta) => Promise<void>;
  /** After each checkpoint (whether or not `checkpoint` is given). */
  onCheckpoint?: (info: { reason: CheckpointReason; state: TrainerState; best?: BestValue }) => void | Promise<void>;
  onStep?: (info: StepInfo) => void;
  /** Every metrics record: 'train', 'validation' and 'test' per epoch, 'train_step' every log_every_steps. */
  onMetrics?: (record: MetricsRecord) => void;
  /** The validation record of each epoch (also sent to onMetrics). */
  onValidation?: (record: MetricsRecord) => void;
  /** At each epoch's end, after its evaluations. */
  onEpoch?: (metrics: EpochMetrics) => void;
  /** Polled after each step; true stops training after a checkpoint. */
  shouldStop?: () => boolean;
  /** Wall clock in milliseconds since the Unix epoch (default Date.now); inject one to make `time` deterministic. */
  now?: () => number;
}

export interface TrainResult {
  state: TrainerState;
  interrupted: boolean;
  /** Present when early stopping ended the run: why, and the best value it saw. */
  stoppedEarly?: { reason: string; best: BestValue | null };
  /** The last test-split evaluation, when one ran. */
  lastTest?: MetricsRecord;
  /** The last validation-split evaluation, when one ran. */
  lastValidation?: MetricsRecord;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function initialState(): TrainState {
  return { epoch: 0, batch: 0, step: 0, epochSums: {}, epochCount: 0 };
}

function finiteCheck(step: number, names: string[], values: ArrayLike<number>): void {
  const bad = names.filter((_, i) => !Number.isFinite(values[i]!));
  if (bad.length === 0) return;
  const detail = bad.map((n) => `${n} = ${values[names.indexOf(n)]}`).join(', ');
  const culprit = bad.filter((n) => n !== 'loss');
  throw new NonFiniteLossError(
    step,
    bad,
    `${culprit.length ? `term${culprit.length > 1 ? 's' : ''} ${culprit.join(', ')} went non-finite` : 'the loss went non-finite'} (${detail}); the update was not applied and the last good state was checkpointed`,
  );
}

/** Scale gradients so that their global L2 norm is at most `maxNorm` (Pascanu et al. 2013). */
function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  return tf.tidy(() => {
    const sq = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    const norm = tf.sqrt(tf.addN(sq));
    const scale = tf.div(maxNorm, tf.maximum(norm, maxNorm));
    return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, scale)]));
  });
}

/**
 * Model inputs for the examples at `indices`: the stored values, through the dataset's transform
 * (e.g. dynamic binarization) when it has one.
 */
export function batchInput(
  dataset: Dataset,
  split: DataSplit,
  indices: Int32Array | number[],
  rng: RandomStream,
  training: boolean,
): tf.Tensor {
  return tf.tidy(() => {
    const { x } = gatherBatch(split, dataset.shape, indices);
    return dataset.transform ? dataset.transform(x, rng, training) : x;
  });
}

/**
 * The condition for the examples at `indices` in a conditional model (one-hot labels,
 * [indices.length, numClasses]); undefined for an unconditional one. A conditional model on a split
 * without labels is an error that says so.
 */
export function batchCondition(model: VaeModel, split: DataSplit, indices: Int32Array | number[]): tf.Tensor2D | undefined {
  if (!model.conditional) return undefined;
  if (!split.labels) return model.condition(undefined);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) labels[i] = split.labels[indices[i]!]!;
  return model.condition(labels);
}

/**
 * The loss, its terms and the elements of its vectors as numbers, [loss, ...terms, ...vectors],
 * read in one transfer. Vector element i of `v` is named `v[i]`.
 */
function lossValues(
  loss: tf.Tensor,
  terms: Record<string, tf.Tensor>,
  vectors: Record<string, tf.Tensor> = {},
): { names: string[]; values: Float32Array } {
  const names = ['loss', ...Object.keys(terms)];
  for (const [name, v] of Object.entries(vectors)) for (let i = 0; i < v.size; i++) names.push(`${name}[${i}]`);
  const packed = tf.tidy(() => tf.concat([tf.stack([loss, ...Object.values(terms)]), ...Object.values(vectors).map((v) => tf.reshape(v, [-1]))]));
  const values = packed.dataSync() as Float32Array;
  packed.dispose();
  return { names, values };
}

/** One optimizer step on a batch. Returns [loss, ...terms] as numbers. Leaves no tensors behind. */
export function trainStep(
  args: Pick<TrainArgs, 'model' | 'objective' | 'optimizer'> & { options: { clip_norm?: number | null } },
  x: tf.Tensor,
  noise: RandomStream,
  at: { step: number; epoch: number },
  /** The batch's condition in a conditional model (see `batchCondition`). */
  cond?: tf.Tensor,
): { names: string[]; values: Float32Array } {
  let terms: Record<string, tf.Tensor> = {};
  let vectors: Record<string, tf.Tensor> = {};
  args.model.setStep(at.step);
  args.model.setTraining(true);
  let computed: { value: tf.Scalar; grads: tf.NamedTensorMap };
  try {
    computed = tf.variableGrads(() => {
      const corrupted = args.objective.corrupt?.(x, noise);
      const fwd = args.model.forward(x, noise, cond, corrupted);
      const r = args.objective.loss(fwd, { step: at.step, epoch: at.epoch, training: true, noise });
      terms = Object.fromEntries(Object.entries(r.terms).map(([k, t]) => [k, tf.keep(t)]));
      vectors = Object.fromEntries(Object.entries(r.vectors ?? {}).map(([k, t]) => [k, tf.keep(t)]));
      return r.loss;
    }, args.model.variables);
  } finally {
    args.model.setTraining(false);
  }
  const { value, grads } = computed;
  const { names, values } = lossValues(value, terms, vectors);
  tf.dispose([value, ...Object.values(terms), ...Object.values(vectors)]);
  try {
    finiteCheck(at.step, names, values);
    if (args.options.clip_norm != null) {
      const clipped = clipByGlobalNorm(grads, args.options.clip_norm);
      args.optimizer.applyGradients(clipped);
      tf.dispose(clipped);
    } else {
      args.optimizer.applyGradients(grads);
    }
  } finally {
    tf.dispose(grads);
  }
  return { names, values };
}

/**
 * Average loss and terms over a split, in order, with the 'eval' noise stream. Weighted by batch
 * size, so the result is nats per example over the whole split.
 */
export function evaluate(
  model: VaeModel,
  objective: Objective,
  dataset: Dataset,
  split: DataSplit,
  batchSize: number,
  noise: RandomStream,
  at: { step: number; epoch: number },
): Record<string, number | number[]> {
  const sums: Record<string, number> = {};
  model.setStep(at.step);
  model.setTraining(false);
  for (const { indices } of evalBatches(split, batchSize)) {
    const { names, values } = tf.tidy(() => {
      const x = batchInput(dataset, split, indices, noise, false);
      const r = objective.loss(model.forward(x, noise, batchCondition(model, split, indices)), { step: at.step, epoch: at.epoch, training: false, noise });
      return lossValues(r.loss, r.terms, r.vectors);
    });
    names.forEach((name, i) => (sums[name] = (sums[name] ?? 0) + values[i]! * indices.length));
  }
  return averagesToRecord(sums, split.size);
}

/** Set an optimizer's learning rate for its next update. SGD and momentum cache −lr in a tensor, refreshed by setLearningRate. */
function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (o.learningRate === lr) return;
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** The value of `metric` ('split.term', e.g. 'validation.loss') among an epoch's records. */
function metricValue(metric: string, path: string, records: Partial<Record<string, MetricsRecord>>): number {
  const dot = metric.indexOf('.');
  const split = metric.slice(0, dot);
  const term = metric.slice(dot + 1);
  if (!['train', 'validation', 'test'].includes(split) || !term) {
    throw new TrainerOptionsError(`${path}: expected '<split>.<term>' with split train, validation or test (e.g. 'validation.loss'), got '${metric}'`, path);
  }
  const record = records[split];
  if (!record) throw new TrainerOptionsError(`${path}: ${metric} needs a ${split} split, and this run has none`, path);
  const value = record[term];
  if (typeof value !== 'number') {
    const terms = Object.keys(record).filter((k) => !['step', 'epoch', 'split', 'time'].includes(k) && typeof record[k] === 'number');
    throw new TrainerOptionsError(`${path}: ${metric} is not a ${split} term; the ${split} terms are ${terms.join(', ')}`, path);
  }
  return value;
}

/**
 * The metric that marks a checkpoint as best: the checkpoint options' `metric`, else early
 * stopping's, so that the checkpoint early stopping would return to is kept; null for none.
 */
function bestMetric(options: TrainerOptions): { metric: string; mode: 'min' | 'max' } | null {
  if (options.checkpoint.metric !== null) return { metric: options.checkpoint.metric, mode: options.checkpoint.mode };
  if (options.early_stopping) return { metric: options.early_stopping.metric, mode: options.early_stopping.mode };
  return null;
}

/**
 * The training loop: epochs of seeded shuffled batches, the learning rate of the schedule before
 * each step, an evaluation of the validation split (when the dataset has one) and of the test
 * split after each epoch, checkpoints by step count, by time, at each epoch's end, on interrupt
 * and on a non-finite loss, and early stopping. Exact resume: the batch order of epoch e depends
 * only on (seed, e); the random streams, optimizer slots, epoch accumulators and early-stopping
 * counters are in the state, and the learning rate is a function of the step.
 */
export async function train(args: TrainArgs): Promise<TrainResult> {
  await ensureGradients();
  const { model, objective, dataset, streams, optimizer } = args;
  const validation = dataset.validation ?? null;
  const options = checkTrainerAgainstData(args.options, dataset.train.size, { validationSize: validation?.size ?? null });
  const now = args.now ?? Date.now;
  const seconds = () => now() / 1000;
  const state: TrainerState = args.state ? structuredClone(args.state) : initialState();
  state.best ??= null;
  // a run resumed with early stopping switched off trains on, whatever the counters said
  state.earlyStopping = options.early_stopping ? (state.earlyStopping ?? { best: null, badEpochs: 0, stopped: null }) : null;
  const earlyStopping = options.early_stopping && new EarlyStopping(options.early_stopping, state.earlyStopping ?? undefined);
  const best = bestMetric(options);
  const noise = streams.stream('noise');
  const dataNoise = streams.stream('data/transform');
  const evalNoise = streams.stream('eval');
  const batches = numBatches(dataset.train.size, options.batch_size, options.drop_last);
  const runSteps = batches * options.epochs;
  const baseLr = (optimizer as unknown as { learningRate?: unknown }).learningRate;
  const scheduled = options.lr_schedule.name !== 'constant' || options.lr_schedule.warmup_steps > 0;
  if (typeof baseLr !== 'number' && scheduled) {
    throw new TrainerOptionsError('trainer.lr_schedule: the optimizer has no numeric learningRate to schedule', 'trainer.lr_schedule');
  }
  const { every_steps: everySteps, every_minutes: everyMinutes } = options.checkpoint;
  let lastCheckpointAt = now();
  let lastTest: MetricsRecord | undefined;
  let lastValidation: MetricsRecord | undefined;

  const save = async (reason: CheckpointReason, meta?: CheckpointMeta): Promise<void> => {
    const snapshot = structuredClone(state);
    if (meta) await args.checkpoint?.(snapshot, reason, meta);
    else await args.checkpoint?.(snapshot, reason);
    await args.onCheckpoint?.(meta?.best ? { reason, state: snapshot, best: meta.best } : { reason, state: snapshot });
    lastCheckpointAt = now();
  };
  const finish = (interrupted: boolean): TrainResult => {
    const result: TrainResult = { state, interrupted };
    if (state.earlyStopping?.stopped) result.stoppedEarly = { reason: state.earlyStopping.stopped, best: state.earlyStopping.best };
    if (lastTest) result.lastTest = lastTest;
    if (lastValidation) result.lastValidation = lastValidation;
    return result;
  };

  try {
    while (state.epoch < options.epochs && !state.earlyStopping?.stopped) {
      const order = epochPermutation(dataset.train.size, streams.seed, state.epoch);
      while (state.batch < batches) {
        const indices = batchIndices(order, state.batch, options.batch_size);
        const lr = typeof baseLr === 'number' ? learningRate(options.lr_schedule, baseLr, state.step, runSteps) : Number.NaN;
        if (scheduled) setLearningRate(optimizer, lr);
        const x = batchInput(dataset, dataset.train, indices, dataNoise, true);
        const cond = batchCondition(model, dataset.train, indices);
        let result: { names: string[]; values: Float32Array };
        try {
          result = trainStep({ model, objective, optimizer, options }, x, noise, { step: state.step, epoch: state.epoch }, cond);
        } catch (e) {
          if (e instanceof NonFiniteLossError) await save('non-finite');
          throw e;
        } finally {
          x.dispose();
          cond?.dispose();
        }
        const { names, values } = result;
        names.forEach((name, i) => {
          state.epochSums[name] = (state.epochSums[name] ?? 0) + values[i]! * indices.length;
        });
        state.epochCount += indices.length;
        state.step += 1;
        state.batch += 1;
        args.onStep?.({ step: state.step, epoch: state.epoch, batch: state.batch, batches, size: indices.length, loss: values[0]!, lr });
        if (state.step % options.log_every_steps === 0) {
          const terms = averagesToRecord(Object.fromEntries(names.map((name, i) => [name, values[i]!])), 1);
          args.onMetrics?.({
            step: state.step,
            epoch: state.epoch + state.batch / batches,
            split: 'train_step',
            ...terms,
            loss: values[0]!,
            lr,
            time: seconds(),
          });
        }
        // A step is synchronous on wasm and cpu, and so would be the whole loop: yield to the event
        // loop so that signal handlers (Ctrl-C) and timers run between steps. Costs microseconds.
        await yieldToEventLoop();
        // At an epoch's last step the epoch's checkpoint follows at once and stands for these.
        if (state.batch < batches) {
          if (args.shouldStop?.()) {
            await save('interrupt');
            return finish(true);
          }
          if (everySteps && state.step % everySteps === 0) await save('step');
          else if (everyMinutes && now() - lastCheckpointAt >= everyMinutes * 60_000) await save('time');
        }
      }
      const epoch = state.epoch + 1;
      const trainAvg = averagesToRecord(state.epochSums, state.epochCount);
      const trainRecord: MetricsRecord = { ...trainAvg, step: state.step, epoch, split: 'train', loss: trainAvg.loss as number, time: seconds() };
      args.onMetrics?.(trainRecord);
      const records: Partial<Record<string, MetricsRecord>> = { train: trainRecord };
      if (validation) {
        const v = evaluate(model, objective, dataset, validation, options.eval_batch_size, streams.stream('eval/validation'), state);
        lastValidation = { ...v, step: state.step, epoch, split: 'validation', loss: v.loss as number, time: seconds() };
        records.validation = lastValidation;
        args.onMetrics?.(lastValidation);
        args.onValidation?.(lastValidation);
      }
      const test = evaluate(model, objective, dataset, dataset.test, options.eval_batch_size, evalNoise, state);
      lastTest = { ...test, step: state.step, epoch, split: 'test', loss: test.loss as number, time: seconds() };
      records.test = lastTest;
      args.onMetrics?.(lastTest);
      args.onEpoch?.({ epoch, step: state.step, train: trainRecord, test: lastTest, ...(records.validation ? { validation: records.validation } : {}) });

      const meta: CheckpointMeta = {};
      if (best) {
        const path = options.checkpoint.metric !== null ? 'trainer.checkpoint.metric' : 'trainer.early_stopping.metric';
        const value = metricValue(best.metric, path, records);
        if (improves(value, state.best?.value ?? null, best.mode)) {
          state.best = { ...best, value, epoch, step: state.step };
          meta.best = state.best;
        }
      }
      if (earlyStopping) {
        earlyStopping.update(metricValue(earlyStopping.options.metric, 'trainer.early_stopping.metric', records), epoch, state.step);
        state.earlyStopping = earlyStopping.state;
        // a rule firing after the last epoch stops nothing; the counters stay for a run extended later
        if (epoch >= options.epochs) state.earlyStopping.stopped = null;
      }
      state.epoch += 1;
      state.batch = 0;
      state.epochSums = {};
      state.epochCount = 0;
      await save('epoch', meta.best ? meta : undefined);
      if (state.earlyStopping?.stopped) return finish(false);
      await yieldToEventLoop();
      if (args.shouldStop?.() && state.epoch < options.epochs) return finish(true);
    }
    return finish(false);
  } finally {
    if (scheduled && typeof baseLr === 'number') setLearningRate(optimizer, baseLr);
  }
}
