import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  type Forward,
  type LossResult,
  type Objective,
  type PriorModelAccess,
  RandomStreams,
  type StepContext,
  selectBackend,
} from '@vaelab/core';
import { makeSynthetic } from '@vaelab/data';
import { BernoulliLikelihood } from '@vaelab/likelihoods';
import { Mlp } from '@vaelab/networks';
import { Elbo, VaeModel } from '@vaelab/objectives';
import { DiagonalGaussianPosterior } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';
import { beforeAll, describe, expect, it } from 'vitest';
import { type MetricsRecord, type TrainerOptionsInput, averagesToRecord, loadCheckpoint, saveCheckpoint, train } from './index.js';

/* The hooks the distributions and objectives issues added: setStep, non-trainable state, Prior.bind,
   Objective.corrupt and per-dimension vectors in the metrics. */

beforeAll(async () => {
  await selectBackend('wasm');
});

const options: TrainerOptionsInput = { epochs: 2, batch_size: 25, eval_batch_size: 40, drop_last: false, clip_norm: null, optimizer: { name: 'adam' } };

/** A standard normal prior that records its hooks and keeps a counter as non-trainable state. */
class RecordingPrior extends StandardNormalPrior {
  readonly steps: number[] = [];
  readonly state = [tf.variable(tf.scalar(0), false)];
  bound?: PriorModelAccess;
  setStep(step: number): void {
    this.steps.push(step);
    this.state[0]!.assign(tf.scalar(step + 1));
  }
  bind(model: PriorModelAccess): void {
    this.bound = model;
  }
  override dispose(): void {
    tf.dispose(this.state);
  }
}

/** The ELBO plus a per-dimension vector and an input corruption that records what the encoder saw. */
class VectorElbo implements Objective {
  readonly name = 'vector_elbo';
  readonly needsReparameterization = true;
  readonly elbo = new Elbo({ samples: 1, klSamples: 1 });
  corrupted = 0;
  corrupt(x: tf.Tensor): tf.Tensor {
    this.corrupted += 1;
    return tf.zerosLike(x);
  }
  loss(fwd: Forward, ctx: StepContext): LossResult {
    const r = this.elbo.loss(fwd, ctx);
    return { ...r, vectors: { ones: tf.ones([3]) as tf.Tensor1D, index: tf.add(tf.tensor1d([0, 1, 2]), ctx.training ? 0 : 10) as tf.Tensor1D } };
  }
}

function setup() {
  const streams = new RandomStreams(3);
  const dataset = makeSynthetic({ nTrain: 50, nTest: 40, size: 4 }, streams.stream('synthetic'));
  const opts = { hidden: [8], activation: 'relu' as const, init: 'uniform_fan_in' as const };
  const prior = new RecordingPrior(2);
  const model = new VaeModel(
    {
      encoder: new Mlp([4, 4, 1], [4], opts, streams.stream('init/encoder')),
      posterior: new DiagonalGaussianPosterior(),
      decoder: new Mlp([2], [4, 4, 1], opts, streams.stream('init/decoder')),
      likelihood: new BernoulliLikelihood([4, 4, 1]),
      prior,
      latentDim: 2,
      dataShape: [4, 4, 1],
    },
    'diagonal_gaussian',
  );
  return { streams, dataset, model, prior, optimizer: tf.train.adam(1e-2), objective: new VectorElbo() };
}

describe('trainer hooks', () => {
  it('binds the prior to the encoder path, tells parts the step, corrupts only training inputs', async () => {
    const s = setup();
    expect(s.prior.bound?.posteriorName).toBe('diagonal_gaussian');
    expect(s.prior.bound?.dataShape).toEqual([4, 4, 1]);
    const q = tf.tidy(() => s.prior.bound!.encode(tf.zeros([3, 4, 4, 1])).batchShape);
    expect(q).toEqual([3]);
    const records: MetricsRecord[] = [];
    await train({ ...s, options, onMetrics: (r) => records.push(r) });
    // two steps per epoch; each evaluation is told the number of steps taken so far
    expect(s.prior.steps).toEqual([0, 1, 2, 2, 3, 4]);
    expect(s.objective.corrupted).toBe(4);
    const [trainRec, testRec] = records;
    expect(trainRec!.ones).toEqual([1, 1, 1]);
    expect(trainRec!.index).toEqual([0, 1, 2]);
    expect(testRec!.index).toEqual([10, 11, 12]);
    expect(typeof trainRec!.loss).toBe('number');
    s.model.dispose();
  });

  it('corrupt(x) reaches the encoder while the likelihood scores the clean x', () => {
    const s = setup();
    tf.tidy(() => {
      const x = tf.onesLike(tf.zeros([2, 4, 4, 1]));
      const noise = s.streams.stream('n');
      const clean = s.model.forward(x, noise);
      const corrupted = s.model.forward(x, noise, undefined, tf.zerosLike(x));
      expect(corrupted.x).toBe(x);
      expect(Array.from(corrupted.qParams.dataSync())).not.toEqual(Array.from(clean.qParams.dataSync()));
      const zeros = s.model.forward(tf.zerosLike(x), noise);
      expect(Array.from(corrupted.qParams.dataSync())).toEqual(Array.from(zeros.qParams.dataSync()));
    });
    s.model.dispose();
  });

  it('checkpoints non-trainable state beside the variables and restores it', async () => {
    const a = setup();
    a.model.setStep(41);
    expect(a.model.namedState().map(([n]) => n)).toEqual(['prior/state/0']);
    expect(a.model.variables).not.toContain(a.prior.state[0]);
    const dir = join(mkdtempSync(join(tmpdir(), 'vaelab-state-')), 'latest');
    await saveCheckpoint(dir, { variables: a.model.checkpointVariables(), optimizer: a.optimizer, streams: a.streams }, {
      epoch: 0,
      batch: 0,
      step: 0,
      epochSums: {},
      epochCount: 0,
    });
    const b = setup();
    expect(b.prior.state[0]!.dataSync()[0]).toBe(0);
    await loadCheckpoint(dir, { variables: b.model.checkpointVariables(), optimizer: b.optimizer, streams: b.streams });
    expect(b.prior.state[0]!.dataSync()[0]).toBe(42);
    a.model.dispose();
    b.model.dispose();
  });

  it('regroups vector elements into arrays when averaging', () => {
    expect(averagesToRecord({ loss: 4, 'kl[1]': 4, 'kl[0]': 2 }, 2)).toEqual({ loss: 2, kl: [1, 2] });
  });
});
