import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type Forward, NonFiniteLossError, type Objective, RandomStreams, selectBackend } from '@vaelab/core';
import { makeSynthetic } from '@vaelab/data';
import { BernoulliLikelihood } from '@vaelab/likelihoods';
import { Mlp } from '@vaelab/networks';
import { Elbo, VaeModel } from '@vaelab/objectives';
import { DiagonalGaussianPosterior } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';
import { beforeAll, describe, expect, it } from 'vitest';
import { type MetricsRecord, type TrainerOptions, hasCheckpoint, loadCheckpoint, saveCheckpoint, train, trainStep } from './index.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const options: TrainerOptions = { epochs: 2, batch_size: 16, eval_batch_size: 64, drop_last: false, clip_norm: null, optimizer: { name: 'adam' } };

function setup(seed = 1) {
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
  const optimizer = tf.train.adam(1e-2, 0.9, 0.999, 1e-8);
  return { streams, dataset, model, optimizer, objective: new Elbo({ samples: 1, klSamples: 1 }) };
}

async function run(seed: number, stopAfterStep?: number, resumeFrom?: string) {
  const s = setup(seed);
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

  it('resumes exactly from a checkpoint taken after any step of an epoch', async () => {
    const straight = await run(1);
    // Every stop point of the first epoch: Adam's bias-correction state must round-trip for each t.
    for (let k = 1; k <= 6; k++) {
      const first = await run(1, k);
      expect(first.result.interrupted).toBe(true);
      expect(first.result.state).toMatchObject({ epoch: 0, batch: k, step: k });
      expect(hasCheckpoint(first.dir)).toBe(true);
      const resumed = await run(1, undefined, first.dir);
      expect(resumed.result.interrupted).toBe(false);
      expect(resumed.records).toEqual(straight.records);
      expect(resumed.weights).toEqual(straight.weights);
    }
  });

  it('resumes exactly from an end-of-epoch checkpoint', async () => {
    const straight = await run(1);
    const first = await run(1, 7); // 100 / 16 → 7 batches: stops at the end of epoch 1
    expect(first.result.state).toMatchObject({ epoch: 1, batch: 0 });
    const resumed = await run(1, undefined, first.dir);
    expect([...first.records, ...resumed.records]).toEqual(straight.records);
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
