import * as tf from '@tensorflow/tfjs';
import {
  type Dataset,
  type DataSplit,
  NonFiniteLossError,
  type Objective,
  type RandomStream,
  type RandomStreams,
} from '@vaelab/core';
import { batchIndices, epochPermutation, evalBatches, gatherBatch, numBatches } from '@vaelab/data';
import type { VaeModel } from '@vaelab/objectives';
import { z } from 'zod';
import type { TrainState } from './checkpoint.js';

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
  })
  .strict();
export type TrainerOptions = z.output<typeof trainerSchema>;

/** One line of metrics.jsonl. Terms are nats per example. */
export interface MetricsRecord {
  step: number;
  epoch: number;
  split: 'train' | 'test';
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
}

export interface TrainArgs {
  model: VaeModel;
  objective: Objective;
  optimizer: tf.Optimizer;
  dataset: Dataset;
  streams: RandomStreams;
  options: TrainerOptions;
  /** State to resume from (as restored from a checkpoint); a fresh run starts at zero. */
  state?: TrainState;
  /** Persist a checkpoint of the current state: at each epoch's end, on interrupt and on NaN. */
  checkpoint?: (state: TrainState, reason: 'epoch' | 'interrupt' | 'non-finite') => Promise<void>;
  onStep?: (info: StepInfo) => void;
  onMetrics?: (record: MetricsRecord) => void;
  /** Polled after each step; true stops training after a checkpoint. */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  state: TrainState;
  interrupted: boolean;
  /** The last test-split evaluation, when one ran. */
  lastTest?: MetricsRecord;
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
  args: Pick<TrainArgs, 'model' | 'objective' | 'optimizer' | 'options'>,
  x: tf.Tensor,
  noise: RandomStream,
  at: { step: number; epoch: number },
): { names: string[]; values: Float32Array } {
  let terms: Record<string, tf.Tensor> = {};
  let vectors: Record<string, tf.Tensor> = {};
  args.model.setStep(at.step);
  const { value, grads } = tf.variableGrads(() => {
    const corrupted = args.objective.corrupt?.(x, noise);
    const fwd = args.model.forward(x, noise, undefined, corrupted);
    const r = args.objective.loss(fwd, { step: at.step, epoch: at.epoch, training: true, noise });
    terms = Object.fromEntries(Object.entries(r.terms).map(([k, t]) => [k, tf.keep(t)]));
    vectors = Object.fromEntries(Object.entries(r.vectors ?? {}).map(([k, t]) => [k, tf.keep(t)]));
    return r.loss;
  }, args.model.variables);
  const { names, values } = lossValues(value, terms, vectors);
  tf.dispose([value, ...Object.values(terms), ...Object.values(vectors)]);
  try {
    finiteCheck(at.step, names, values);
    if (args.options.clip_norm !== null) {
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
  for (const { indices } of evalBatches(split, batchSize)) {
    const { names, values } = tf.tidy(() => {
      const x = batchInput(dataset, split, indices, noise, false);
      const r = objective.loss(model.forward(x, noise), { step: at.step, epoch: at.epoch, training: false, noise });
      return lossValues(r.loss, r.terms, r.vectors);
    });
    names.forEach((name, i) => (sums[name] = (sums[name] ?? 0) + values[i]! * indices.length));
  }
  return averagesToRecord(sums, split.size);
}

/**
 * The training loop: epochs of seeded shuffled batches, an evaluation on the test split after
 * each epoch, a checkpoint after each epoch. Exact resume: the batch order of epoch e depends only
 * on (seed, e), and the random streams, optimizer slots and epoch accumulators are in the state.
 */
export async function train(args: TrainArgs): Promise<TrainResult> {
  const { model, objective, dataset, streams, options } = args;
  const state: TrainState = args.state ? structuredClone(args.state) : initialState();
  const noise = streams.stream('noise');
  const dataNoise = streams.stream('data/transform');
  const evalNoise = streams.stream('eval');
  const batches = numBatches(dataset.train.size, options.batch_size, options.drop_last);
  let lastTest: MetricsRecord | undefined;

  while (state.epoch < options.epochs) {
    const order = epochPermutation(dataset.train.size, streams.seed, state.epoch);
    while (state.batch < batches) {
      const indices = batchIndices(order, state.batch, options.batch_size);
      const x = batchInput(dataset, dataset.train, indices, dataNoise, true);
      let result: { names: string[]; values: Float32Array };
      try {
        result = trainStep(args, x, noise, { step: state.step, epoch: state.epoch });
      } catch (e) {
        if (e instanceof NonFiniteLossError) await args.checkpoint?.(structuredClone(state), 'non-finite');
        throw e;
      } finally {
        x.dispose();
      }
      result.names.forEach((name, i) => {
        state.epochSums[name] = (state.epochSums[name] ?? 0) + result.values[i]! * indices.length;
      });
      state.epochCount += indices.length;
      state.step += 1;
      state.batch += 1;
      args.onStep?.({ step: state.step, epoch: state.epoch, batch: state.batch, batches, size: indices.length, loss: result.values[0]! });
      // A step is synchronous on wasm and cpu, and so would be the whole loop: yield to the event
      // loop so that signal handlers (Ctrl-C) and timers run between steps. Costs microseconds.
      await yieldToEventLoop();
      if (args.shouldStop?.() && state.batch < batches) {
        await args.checkpoint?.(structuredClone(state), 'interrupt');
        return lastTest ? { state, interrupted: true, lastTest } : { state, interrupted: true };
      }
    }
    const trainAvg = averagesToRecord(state.epochSums, state.epochCount);
    args.onMetrics?.({ ...trainAvg, step: state.step, epoch: state.epoch + 1, split: 'train', loss: trainAvg.loss as number });
    const test = evaluate(model, objective, dataset, dataset.test, options.eval_batch_size, evalNoise, state);
    lastTest = { ...test, step: state.step, epoch: state.epoch + 1, split: 'test', loss: test.loss as number };
    args.onMetrics?.(lastTest);
    state.epoch += 1;
    state.batch = 0;
    state.epochSums = {};
    state.epochCount = 0;
    await args.checkpoint?.(structuredClone(state), 'epoch');
    await yieldToEventLoop();
    if (args.shouldStop?.() && state.epoch < options.epochs) {
      return { state, interrupted: true, lastTest };
    }
  }
  return lastTest ? { state, interrupted: false, lastTest } : { state, interrupted: false };
}
