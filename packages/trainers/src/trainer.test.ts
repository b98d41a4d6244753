import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type Forward, NonFiniteLossError, type Objective, RandomStreams, VaeLabError, selectBackend } from '@vaelab/core';
import { makeSynthetic, withValidationSplit } from '@vaelab/data';
import { BernoulliLikelihood } from '@vaelab/likelihoods';
import { Mlp } from '@vaelab/networks';
import { Elbo, VaeModel } from '@vaelab/objectives';
import { DiagonalGaussianPosterior } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';
import { beforeAll, describe, expect, it } from 'vitest';
import { FusedAdamOptimizer } from './fused-adam.js';
import {
  type CheckpointMeta,
  type CheckpointReason,
  type MetricsRecord,
  type TrainerOptionsInput,
  type TrainerState,
  TrainerOptionsError,
  checkTrainerAgainstData,
  hasCheckpoint,
  learningRate,
  loadCheckpoint,
  lrScheduleSchema,
  saveCheckpoint,
  train,
  trainStep,
} from './index.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const options: TrainerOptionsInput = { epochs: 2, batch_size: 16, eval_batch_size: 64, drop_last: false, clip_norm: null, optimizer: { name: 'adam' } };

function setup(seed = 1, makeOptimizer: () => tf.Optimizer = () => tf.train.adam(1e-2, 0.9, 0.999, 1e-8)) {
  const streams = new RandomStreams(seed);
  const dataset = makeSynthetic({ nTrain: 100, nTest: 40, size: 4 }, streams.stream('synthetic'));
  const opts = { hidden: [8], activation: 'relu' as const, init: 'uniform_fan_in' as const };
  const model = new VaeModel({
    encoder: new Mlp([4, 4, 1], [4], opts, streams.stream('init/encoder')),
    posterior: new DiagonalGaussianPosterior(),
    decoder: new Mlp([2], [4, 4, 1], opts, streams.stream('init/decoder')),
    likelihood: new BernoulliLikelihood([4, 4, 1]),
    prior: new StandardNormalPrior(2),
    latentDim: 2,
    dataShape: [4, 4, 1],
  });
  const optimizer = makeOptimizer();
  return { streams, dataset, model, optimizer, objective: new Elbo({ samples: 1, klSamples: 1 }) };
}

const stockAdam = () => tf.train.adam(1e-2, 0.9, 0.999, 1e-8);
const fusedAdam = () => new FusedAdamOptimizer(1e-2, 0.9, 0.999, 1e-8);

async function run(seed: number, stopAfterStep?: number, resumeFrom?: string, makeOptimizer: () => tf.Optimizer = stockAdam) {
  const s = setup(seed, makeOptimizer);
  const records: MetricsRecord[] = [];
  const dir = resumeFrom ?? join(mkdtempSync(join(tmpdir(), 'vaelab-ckpt-')), 'latest');
  const parts = { variables: s.model.namedVariables(), optimizer: s.optimizer, streams: s.streams };
  const state = resumeFrom ? (await loadCheckpoint(dir, parts)).state : undefined;
  let steps = 0;
  const result = await train({
    ...s,
    options,
    ...(state ? { state } : {}),
    checkpoint: (st) => saveCheckpoint(dir, parts, st),
    onMetrics: (r) => records.push(r),
    onStep: () => (steps += 1),
    shouldStop: () => stopAfterStep !== undefined && steps >= stopAfterStep,
    now: () => 0, // records carry a wall-clock time; a fixed clock makes runs comparable
  });
  return { result, records, dir, weights: s.model.variables.map((v) => Array.from(v.dataSync())) };
}

describe('train', () => {
  it('is deterministic: same seed, same metrics; another seed differs', async () => {
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(a.records).toEqual(b.records);
    expect(a.records.map((r) => r.split)).toEqual(['train', 'test', 'train', 'test']);
    expect(c.records).not.toEqual(a.records);
  });

  it.each([
    ['tf.train.adam', stockAdam],
    ['fused adam', fusedAdam],
  ])('resumes exactly from a checkpoint taken after any step of an epoch (%s)', async (_, makeOptimizer) => {
    const straight = await run(1, undefined, undefined, makeOptimizer);
    // Every stop point of the first epoch: Adam's bias-correction state must round-trip for each t.
    for (let k = 1; k <= 6; k++) {
      const first = await run(1, k, undefined, makeOptimizer);
      expect(first.result.interrupted).toBe(true);
      expect(first.result.state).toMatchObject({ epoch: 0, batch: k, step: k });
      expect(hasCheckpoint(first.dir)).toBe(true);
      const resumed = await run(1, undefined, first.dir, makeOptimizer);
      expect(resumed.result.interrupted).toBe(false);
      expect(resumed.records).toEqual(straight.records);
      expect(resumed.weights).toEqual(straight.weights);
    }
  });

  it.each([
    ['tf.train.adam', stockAdam],
    ['fused adam', fusedAdam],
  ])('resumes exactly from an end-of-epoch checkpoint (%s)', async (_, makeOptimizer) => {
    const straight = await run(1, undefined, undefined, makeOptimizer);
    const first = await run(1, 7, undefined, makeOptimizer); // 100 / 16 → 7 batches: stops at the end of epoch 1
    expect(first.result.state).toMatchObject({ epoch: 1, batch: 0 });
    const resumed = await run(1, undefined, first.dir, makeOptimizer);
    expect([...first.records, ...resumed.records]).toEqual(straight.records);
  });

  it('fused adam trains to the same losses and weights as tf.train.adam, bit for bit (wasm)', async () => {
    const stock = await run(1, undefined, undefined, stockAdam);
    const fused = await run(1, undefined, undefined, fusedAdam);
    expect(fused.records).toEqual(stock.records);
    expect(fused.weights).toEqual(stock.weights);
  });

  it('a training step leaves the number of tensors unchanged', () => {
    const s = setup();
    const x = tf.tidy(() => s.streams.stream('x').uniform([16, 4, 4, 1]));
    const noise = s.streams.stream('noise');
    trainStep({ ...s, options }, x, noise, { step: 0, epoch: 0 }); // creates the optimizer slots
    const before = tf.memory().numTensors;
    for (let i = 1; i < 5; i++) trainStep({ ...s, options: { ...options, clip_norm: 1 } }, x, noise, { step: i, epoch: 0 });
    trainStep({ ...s, options }, x, noise, { step: 5, epoch: 0 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('clip_norm bounds the update', () => {
    const s = setup();
    const x = tf.tidy(() => s.streams.stream('x').uniform([16, 4, 4, 1]));
    const sgd = tf.train.sgd(1);
    const before = s.model.variables.map((v) => v.clone());
    trainStep({ ...s, optimizer: sgd, options: { ...options, clip_norm: 0.5 } }, x, s.streams.stream('noise'), { step: 0, epoch: 0 });
    const sq = s.model.variables.reduce((acc, v, i) => acc + tf.sum(tf.square(tf.sub(v, before[i]!))).dataSync()[0]!, 0);
    expect(Math.sqrt(sq)).toBeCloseTo(0.5, 3);
  });

  it('stops on a non-finite term, names it and the step, applies no update, and checkpoints', async () => {
    const s = setup();
    const inner = new Elbo({ samples: 1, klSamples: 1 });
    let calls = 0;
    const objective: Objective = {
      name: 'flaky',
      needsReparameterization: true,
      loss(fwd: Forward, ctx) {
        const r = inner.loss(fwd, ctx);
        calls += 1;
        if (calls < 3) return r;
        const kl = tf.mul(r.terms.kl!, NaN) as tf.Scalar;
        return { loss: tf.add(r.terms.reconstruction!, kl) as tf.Scalar, terms: { ...r.terms, kl } };
      },
    };
    const dir = join(mkdtempSync(join(tmpdir(), 'vaelab-nan-')), 'latest');
    const parts = { variables: s.model.namedVariables(), optimizer: s.optimizer, streams: s.streams };
    let snapshot: number[][] = [];
    const err = await train({
      ...s,
      objective,
      options,
      checkpoint: async (st, reason) => {
        expect(reason).toBe('non-finite');
        snapshot = s.model.variables.map((v) => Array.from(v.dataSync()));
        await saveCheckpoint(dir, parts, st);
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).step).toBe(2);
    expect((err as Error).message).toMatch(/step 2: term kl went non-finite/);
    expect(hasCheckpoint(dir)).toBe(true);
    const restored = setup();
    const st = await loadCheckpoint(dir, { variables: restored.model.namedVariables(), optimizer: restored.optimizer, streams: restored.streams });
    expect(st.state.step).toBe(2);
    expect(restored.model.variables.map((v) => Array.from(v.dataSync()))).toEqual(snapshot);
    expect(snapshot.flat().every(Number.isFinite)).toBe(true);
  });

  it('refuses a checkpoint from a different model, naming the variable and shapes', async () => {
    const a = await run(1, 1);
    const streams = new RandomStreams(1);
    const other = new Mlp([3], [2], { hidden: [], activation: 'relu', init: 'uniform_fan_in' }, streams.stream('x'));
    const vars: [string, tf.Variable][] = a.weights.map((_, i) => [`encoder/${i}`, other.variables[i % 2]!]);
    await expect(loadCheckpoint(a.dir, { variables: vars, optimizer: tf.train.adam(), streams })).rejects.toThrow(/was the config changed/);
  });
});

/** setup() with 20 of the 100 training examples carved out as a validation split: 80 train, 5 batches of 16. */
function setupWithValidation(seed = 1, makeOptimizer?: () => tf.Optimizer) {
  const s = makeOptimizer ? setup(seed, makeOptimizer) : setup(seed);
  return { ...s, dataset: withValidationSplit(s.dataset, 20, seed) };
}

const weightsOf = (model: VaeModel) => model.variables.map((v) => Array.from(v.dataSync()));

describe('train: schedules, validation, early stopping, step checkpoints', () => {
  const scheduled: TrainerOptionsInput = {
    epochs: 3,
    batch_size: 16,
    eval_batch_size: 64,
    log_every_steps: 1,
    lr_schedule: { name: 'cosine', warmup_steps: 3, min_lr: 1e-3 },
    early_stopping: { patience: 5 },
    checkpoint: { every_steps: 4, every_minutes: null, metric: 'validation.loss' },
  };

  /** Train from the checkpoint in `dir` (when there is one) until step `stopAt` (or the end); every checkpoint goes to `dir`. */
  async function segment(dir: string, stopAt?: number) {
    const s = setupWithValidation(1);
    const parts = { variables: s.model.checkpointVariables(), optimizer: s.optimizer, streams: s.streams };
    const state = hasCheckpoint(dir) ? ((await loadCheckpoint(dir, parts)).state as TrainerState) : undefined;
    const records: MetricsRecord[] = [];
    const reasons: [CheckpointReason, number][] = [];
    let step = state?.step ?? 0;
    const result = await train({
      ...s,
      options: scheduled,
      ...(state ? { state } : {}),
      checkpoint: async (st, reason) => {
        reasons.push([reason, st.step]);
        await saveCheckpoint(dir, parts, st);
      },
      onMetrics: (r) => records.push(r),
      onStep: (info) => (step = info.step),
      shouldStop: () => stopAt !== undefined && step >= stopAt,
      now: () => 0,
    });
    return { result, records, reasons, weights: weightsOf(s.model), optimizer: s.optimizer };
  }

  it('resumed from mid-epoch stops, gives the same losses step for step as the straight run', async () => {
    const straight = await segment(join(mkdtempSync(join(tmpdir(), 'vaelab-straight-')), 'latest'));
    expect(straight.records.filter((r) => r.split === 'train_step').map((r) => r.step)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    const perEpoch = ['train', 'validation', 'test'];
    expect(straight.records.filter((r) => r.split !== 'train_step').map((r) => r.split)).toEqual([...perEpoch, ...perEpoch, ...perEpoch]);
    expect(straight.reasons).toEqual([
      ['step', 4],
      ['epoch', 5],
      ['step', 8],
      ['epoch', 10],
      ['step', 12],
      ['epoch', 15],
    ]);
    const dir = join(mkdtempSync(join(tmpdir(), 'vaelab-stops-')), 'latest');
    const records: MetricsRecord[] = [];
    for (const stopAt of [2, 7, 11, undefined]) {
      const part = await segment(dir, stopAt);
      records.push(...part.records);
      if (stopAt !== undefined) {
        expect(part.result.interrupted).toBe(true);
        expect(part.result.state.step).toBe(stopAt);
        expect(part.reasons.at(-1)).toEqual(['interrupt', stopAt]);
      } else {
        expect(part.result.interrupted).toBe(false);
        expect(part.weights).toEqual(straight.weights);
        expect(part.result.state).toEqual(straight.result.state);
      }
    }
    expect(records).toEqual(straight.records);
    // the state carries what the loop needs besides the cursor
    const end = straight.result.state;
    expect(end.best).toMatchObject({ metric: 'validation.loss', mode: 'min' });
    expect(end.earlyStopping?.best?.value).toBe(end.best?.value);
    // the rate of each step is the schedule's, and the optimizer is left at its base rate
    const schedule = lrScheduleSchema.parse(scheduled.lr_schedule);
    for (const r of straight.records.filter((x) => x.split === 'train_step')) {
      expect(r.lr).toBeCloseTo(learningRate(schedule, 1e-2, r.step - 1, 15), 12);
    }
    expect((straight.optimizer as unknown as { learningRate: number }).learningRate).toBe(1e-2);
  });

  it('checkpoints by step count, by time and at epoch ends, marks new bests, and on interrupt', async () => {
    const s = setupWithValidation(1);
    let clock = 0;
    const calls: [CheckpointReason, number, CheckpointMeta | undefined][] = [];
    const seen: [CheckpointReason, number][] = [];
    const validation: number[] = [];
    const result = await train({
      ...s,
      options: { epochs: 2, batch_size: 16, eval_batch_size: 64, checkpoint: { every_steps: 3, every_minutes: 1 } },
      now: () => clock,
      onStep: () => (clock += 40_000), // 40 s per step
      onValidation: (r) => validation.push(r.loss),
      checkpoint: async (st, reason, meta) => {
        calls.push([reason, st.step, meta]);
      },
      onCheckpoint: ({ reason, state }) => {
        seen.push([reason, state.step]);
      },
    });
    expect(calls.map(([reason, step]) => [reason, step])).toEqual([
      ['time', 2], // 80 s since the start
      ['step', 3],
      ['epoch', 5], // the epoch's checkpoint stands for a step or time one due at its last step
      ['step', 6],
      ['time', 8], // 80 s since step 6
      ['step', 9],
      ['epoch', 10],
    ]);
    expect(seen).toEqual(calls.map(([reason, step]) => [reason, step]));
    // no checkpoint.metric: no best marks; then with one, each improving epoch is marked
    expect(calls.every(([, , meta]) => meta === undefined)).toBe(true);
    expect(result.lastValidation?.loss).toBe(validation[1]);

    const marked: (CheckpointMeta | undefined)[] = [];
    const t = setupWithValidation(1);
    await train({
      ...t,
      options: { epochs: 2, batch_size: 16, eval_batch_size: 64, checkpoint: { metric: 'validation.loss' } },
      checkpoint: async (_st, reason, meta) => {
        if (reason === 'epoch') marked.push(meta);
      },
    });
    expect(marked[0]).toEqual({ best: { metric: 'validation.loss', mode: 'min', value: validation[0], epoch: 1, step: 5 } });
    expect(marked[1]).toEqual(validation[1]! < validation[0]! ? { best: { metric: 'validation.loss', mode: 'min', value: validation[1], epoch: 2, step: 10 } } : undefined);

    const u = setupWithValidation(1);
    const reasons: CheckpointReason[] = [];
    let steps = 0;
    const stopped = await train({
      ...u,
      options: { epochs: 2, batch_size: 16 },
      checkpoint: async (_st, reason) => {
        reasons.push(reason);
      },
      onStep: () => (steps += 1),
      shouldStop: () => steps >= 7,
    });
    expect(stopped).toMatchObject({ interrupted: true, state: { epoch: 1, batch: 2, step: 7 } });
    expect(reasons).toEqual(['epoch', 'interrupt']);
  });

  it('logs train_step records every log_every_steps, and a wall-clock time on every record', async () => {
    const s = setup(1);
    const records: MetricsRecord[] = [];
    let stepInfoLr = 0;
    await train({
      ...s,
      options: { epochs: 2, batch_size: 16, eval_batch_size: 64, log_every_steps: 3, lr_schedule: { name: 'exponential', gamma: 0.5 } },
      onMetrics: (r) => records.push(r),
      onStep: (info) => (stepInfoLr = info.lr),
      now: () => 1_700_000_000_500,
    });
    // 100 examples in batches of 16: 7 steps per epoch, 14 in all
    expect(records.map((r) => `${r.split}@${r.step}`)).toEqual([
      'train_step@3',
      'train_step@6',
      'train@7',
      'test@7',
      'train_step@9',
      'train_step@12',
      'train@14',
      'test@14',
    ]);
    expect(records.every((r) => r.time === 1_700_000_000.5)).toBe(true);
    const step9 = records[4]!;
    expect(step9.epoch).toBeCloseTo(1 + 2 / 7, 12);
    expect(step9.lr).toBeCloseTo(1e-2 * 0.5 ** 8, 15);
    expect(Object.keys(step9)).toEqual(['step', 'epoch', 'split', 'loss', 'reconstruction', 'kl', 'nelbo', 'kl_per_dim', 'lr', 'time']);
    expect(stepInfoLr).toBeCloseTo(1e-2 * 0.5 ** 13, 15);
    expect(records[2]!.epoch).toBe(1);
  });

  it.each([
    ['adam', () => tf.train.adam(0.05)],
    ['sgd', () => tf.train.sgd(0.5)],
    ['momentum', () => tf.train.momentum(0.5, 0.9)],
    ['rmsprop', () => tf.train.rmsprop(0.05)],
  ])('%s honours a learning rate changed after its creation', async (_name, makeOptimizer) => {
    // The rate drops to 1e-30 after the first step: the weights then stay where that step left them.
    const options = { epochs: 1, batch_size: 16, lr_schedule: { name: 'step', step_size: 1, gamma: 1e-30 } } as const;
    const oneStep = setup(1, makeOptimizer);
    await train({ ...oneStep, options, shouldStop: () => true });
    const scheduledRun = setup(1, makeOptimizer);
    await train({ ...scheduledRun, options });
    const constant = setup(1, makeOptimizer);
    await train({ ...constant, options: { epochs: 1, batch_size: 16 } });
    expect(weightsOf(scheduledRun.model)).toEqual(weightsOf(oneStep.model));
    expect(weightsOf(constant.model)).not.toEqual(weightsOf(oneStep.model));
    // left at its base rate
    const base = (makeOptimizer() as unknown as { learningRate: number }).learningRate;
    expect((scheduledRun.optimizer as unknown as { learningRate: number }).learningRate).toBe(base);
  });

  it('leaves no tensors behind over a scheduled run with validation', async () => {
    const s = setupWithValidation(1, () => tf.train.sgd(0.1));
    await train({ ...s, options: { epochs: 1, batch_size: 16, lr_schedule: { name: 'exponential', gamma: 0.9 } }, now: () => 0 });
    const before = tf.memory().numTensors;
    await train({ ...s, options: { epochs: 2, batch_size: 16, lr_schedule: { name: 'exponential', gamma: 0.9 } }, now: () => 0 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops early when a rising learning rate makes the validation loss rise, and says why', async () => {
    const options: TrainerOptionsInput = {
      epochs: 8,
      batch_size: 16,
      // 5 steps per epoch: 0.01 for two epochs, then 0.3, then 9
      lr_schedule: { name: 'step', step_size: 10, gamma: 30 },
      early_stopping: { patience: 2 },
    };
    const s = setupWithValidation(1);
    const epochs: { epoch: number; validation?: number }[] = [];
    const result = await train({ ...s, options, onEpoch: (m) => epochs.push({ epoch: m.epoch, validation: m.validation?.loss }) });
    expect(result.interrupted).toBe(false);
    expect(result.stoppedEarly).toBeDefined();
    const losses = epochs.map((e) => e.validation!);
    const stopEpoch = result.state.epoch;
    expect(stopEpoch).toBeLessThan(8);
    expect(epochs.length).toBe(stopEpoch);
    const best = result.stoppedEarly!.best!;
    expect(best.epoch).toBe(stopEpoch - 2);
    expect(best.value).toBe(Math.min(...losses));
    expect(losses.at(-1)!).toBeGreaterThan(best.value);
    expect(result.stoppedEarly!.reason).toBe(`validation.loss did not improve on ${best.value} (epoch ${best.epoch}) by more than 0 for 2 epochs`);
    expect(result.state.earlyStopping?.stopped).toBe(result.stoppedEarly!.reason);
    // resuming a run that stopped early trains no further
    const again = setupWithValidation(1);
    let steps = 0;
    const resumed = await train({ ...again, options, state: result.state, onStep: () => (steps += 1) });
    expect(steps).toBe(0);
    expect(resumed.stoppedEarly).toEqual(result.stoppedEarly);
    // a rule firing after the last epoch stops nothing
    const exact = await train({ ...setupWithValidation(1), options: { ...options, epochs: stopEpoch } });
    expect(exact.stoppedEarly).toBeUndefined();
    expect(exact.state.earlyStopping).toMatchObject({ badEpochs: 2, stopped: null });
  });

  it('takes partial options, and refuses values that cannot work with a config path', async () => {
    const s = setup(1);
    const result = await train({ ...s, options: { epochs: 1, batch_size: 50 } });
    expect(result.state).toMatchObject({ epoch: 1, step: 2 });

    const fails = (f: () => unknown, path: string, message: RegExp) => {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TrainerOptionsError);
      expect(err).toBeInstanceOf(VaeLabError);
      expect((err as TrainerOptionsError).path).toBe(path);
      expect((err as Error).message).toMatch(message);
    };
    fails(
      () => checkTrainerAgainstData({ batch_size: 1_000_000_000 }, 60_000),
      'trainer.batch_size',
      /^trainer.batch_size is 1000000000 but the training split has 60000 examples/,
    );
    fails(() => checkTrainerAgainstData({ epochs: 0 }, 100), 'trainer.epochs', /trainer.epochs: /);
    fails(() => checkTrainerAgainstData({ log_every_steps: 0 }, 100), 'trainer.log_every_steps', /trainer.log_every_steps: /);
    fails(() => checkTrainerAgainstData({ lr_schedule: { name: 'step' } as never }, 100), 'trainer.lr_schedule.step_size', /step_size/);
    fails(() => checkTrainerAgainstData({}, 0), 'data', /nothing to train on/);
    fails(
      () => checkTrainerAgainstData({ batch_size: 16, early_stopping: { patience: 2 } }, 100, { validationSize: null }),
      'trainer.early_stopping',
      /no validation split/,
    );
    fails(
      () => checkTrainerAgainstData({ batch_size: 16, checkpoint: { metric: 'validation.loss' } }, 100, { validationSize: 0 }),
      'trainer.checkpoint.metric',
      /no validation split/,
    );
    expect(checkTrainerAgainstData({ batch_size: 100, drop_last: true }, 100).epochs).toBe(10);
    await expect(train({ ...setup(1), options: { batch_size: 101 } })).rejects.toThrow(/trainer.batch_size is 101/);
    await expect(train({ ...setup(1), options: { batch_size: 16, early_stopping: { patience: 1 } } })).rejects.toThrow(/no validation split/);
    const t = setupWithValidation(1);
    await expect(train({ ...t, options: { epochs: 1, batch_size: 16, early_stopping: { patience: 1, metric: 'validation.klx' } } })).rejects.toThrow(
      /trainer.early_stopping.metric: validation.klx is not a validation term; the validation terms are loss, reconstruction, kl/,
    );
  });
});
