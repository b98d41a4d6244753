import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, type DataSplit, RandomStream, RandomStreams, kl } from '@vaelab/core';
import { gatherBatch } from '@vaelab/data';
import { importanceSample } from '@vaelab/eval';
import { readMetrics, readSummary } from '@vaelab/runs';
import { CheckpointStore, evaluate } from '@vaelab/trainers';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Experiment, buildExperiment, checkConfig } from './build.js';
import type { Io } from './io.js';
import { main } from './main.js';
import { builtinRegistry } from './registry.js';

/* Convolutional networks with batch norm and label conditioning, end to end through the CLI. */

const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const quiet = (): Io => ({ cwd: repo, tty: false, out: () => {}, err: () => {} });
// 48 generated 8×8 images with their pattern as label, conv networks with batch / layer norm, a CVAE.
const CVAE = [
  'experiment=synthetic_vae',
  'data.n_train=48',
  'data.n_test=16',
  'trainer.epochs=1',
  'trainer.batch_size=16',
  'backend=wasm',
  'encoder=conv',
  'decoder=conv',
  'encoder.channels=[4,8]',
  'decoder.channels=[8,4]',
  'encoder.hidden=[16]',
  'decoder.hidden=[16]',
  'encoder.norm=batch',
  'decoder.norm=layer',
  '+conditional=true',
];

describe('conv networks and the conditional VAE from config', () => {
  it('trains a conv CVAE with batch norm; the checkpoint restores weights and running statistics exactly', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vaelab-conv-cvae-'));
    expect(await main(['train', ...CVAE, '--out', out], quiet())).toBe(0);
    const [exp] = readdirSync(out);
    const [stamp] = readdirSync(join(out, exp!));
    const dir = join(out, exp!, stamp!);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));

    const registry = builtinRegistry();
    const config = checkConfig(parse(readFileSync(join(dir, 'config.yaml'), 'utf8')), registry);
    expect(config.conditional).toBe(true);
    const restored = await buildExperiment(config, registry, repo, () => {});
    const { model } = restored;
    expect(model.conditional).toBe(true);
    expect(model.parts.numClasses).toBe(4); // synthetic: two bars, blob, square
    const state = model.namedState();
    expect(state.map(([name]) => name)).toContain('encoder/state/0');
    // mean and variance of the encoder's two batch norms (layer norm keeps no running statistics)
    expect(state.length).toBe(2 * 2);
    const loaded = await new CheckpointStore(join(dir, 'checkpoints'), config.trainer.checkpoint).load({
      variables: model.checkpointVariables(),
      optimizer: restored.optimizer,
      streams: restored.streams,
    });
    expect(loaded).not.toBeNull();
    // the running means moved off their initial zeros during training, and were restored
    expect(Array.from(state[0]![1].dataSync()).some((v) => v !== 0)).toBe(true);
    // The epoch's test loss is the first use of the 'eval' stream: the restored model, in
    // evaluation mode (running statistics), with labels as condition, gives it again exactly.
    const test = evaluate(model, restored.objective, restored.dataset, restored.dataset.test, config.trainer.eval_batch_size, new RandomStreams(config.seed).stream('eval'), {
      step: loaded!.state.step,
      epoch: 1,
    });
    expect(test.loss).toBe(summary.test_loss);
    // the decoder's output depends on the label
    const [a, b] = tf.tidy(() => {
      const z = tf.randomNormal([4, config.latent_dim], 0, 1, 'float32', 1);
      return [model.parts.decoder.apply(z, model.condition([0, 0, 0, 0])).dataSync(), model.parts.decoder.apply(z, model.condition([2, 2, 2, 2])).dataSync()];
    });
    expect(Array.from(a!)).not.toEqual(Array.from(b!));
    restored.dispose();
  });

  it('impossible shapes are config errors naming the option', async () => {
    const registry = builtinRegistry();
    const raw = parse(readFileSync(join(repo, 'apps/cli/conf/experiment/synthetic_vae.yaml'), 'utf8'));
    const base = {
      ...raw,
      defaults: undefined,
      data: { name: 'synthetic', n_train: 8, n_test: 4, size: 8 },
      prior: { name: 'standard_normal' },
      posterior: { name: 'diagonal_gaussian' },
      likelihood: { name: 'bernoulli' },
      objective: { name: 'elbo' },
      decoder: { name: 'conv', channels: [4] },
      trainer: { epochs: 1, batch_size: 4 },
    };
    delete base.defaults;
    const err = await buildExperiment(checkConfig({ ...base, encoder: { name: 'conv', channels: [4, 4, 4, 4] } }, registry), registry, repo, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ComponentConfigError);
    expect((err as Error).message).toMatch(/encoder\.channels: 4 stages with stride 2 do not fit a 8×8 image .* at most 3/);
  });
});

/*
 * Evaluation of a conditional VAE conditions on each example's own label: the trainer's per-epoch
 * test loss and `vaelab eval`'s report equal direct computations that build the one-hot condition
 * from the split's labels by hand, and differ from the same computations with wrong labels.
 * The evaluation batches (6 and 5 examples of 16) do not divide the split, so a label taken from the
 * wrong position in a later batch shows too.
 */

const EVAL_CVAE = [...CVAE, 'trainer.eval_batch_size=6'];

const EVAL_BATCH = 5;
const K = 8;

/**
 * Expects `value` to equal `reference` up to float rounding (relative 1e-6), and `wrong` (the same
 * computation with wrong labels) to differ from it by more than that tolerance, tenfold. Labels
 * taken from the wrong positions (batch-relative indices, say) shift these values by 1e-4 or more
 * relative to them.
 */
function expectConditioned(what: string, value: number, wrong: number, reference: number): void {
  const tolerance = 1e-6 * Math.abs(reference);
  expect(Math.abs(value - reference), `${what} with the true labels`).toBeLessThanOrEqual(tolerance);
  expect(Math.abs(wrong - reference), `${what} with wrong labels`).toBeGreaterThan(10 * tolerance);
}

/** Example indices 0..size-1 in consecutive batches of `batch`. */
function batches(size: number, batch: number): number[][] {
  const out: number[][] = [];
  for (let start = 0; start < size; start += batch) out.push(Array.from({ length: Math.min(batch, size - start) }, (_, i) => start + i));
  return out;
}

/** One-hot [n, classes] float32 built here, not by the model (int32 one-hot, then a cast, as on wasm). */
function oneHot(labels: ArrayLike<number>, indices: number[], classes: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(tf.tensor1d(indices.map((i) => labels[i]!), 'int32'), classes), 'float32') as tf.Tensor2D;
}

/** The model's input for examples of a split, as evaluation sees them (transform with training = false). */
function inputs(exp: Experiment, split: DataSplit, indices: number[], rng: RandomStream): tf.Tensor {
  const { x } = gatherBatch(split, exp.dataset.shape, indices);
  return exp.dataset.transform ? exp.dataset.transform(x, rng, false) : x;
}

let dir: string;
let exp: Experiment;
let classes: number;
let truth: Int32Array;
let wrong: Int32Array;
let step: number;
/** The 'eval' stream as the checkpoint saved it (what `vaelab eval` draws from). */
let savedEvalStream: () => RandomStream;

describe('evaluation of a conditional model conditions on the labels', () => {
  beforeAll(async () => {
    const out = mkdtempSync(join(tmpdir(), 'vaelab-cvae-eval-'));
    expect(await main(['train', ...EVAL_CVAE, '--out', out], quiet())).toBe(0);
    const name = readdirSync(out)[0]!;
    dir = join(out, name, readdirSync(join(out, name))[0]!);
    const registry = builtinRegistry();
    const config = checkConfig(parse(readFileSync(join(dir, 'config.yaml'), 'utf8')), registry);
    exp = await buildExperiment(config, registry, repo, () => {});
    const parts = { variables: exp.model.checkpointVariables(), optimizer: exp.optimizer, streams: exp.streams };
    const loaded = await new CheckpointStore(join(dir, 'checkpoints'), config.trainer.checkpoint).load(parts);
    step = loaded!.state.step;
    const saved = exp.streams.stream('eval').state;
    savedEvalStream = () => {
      const rng = new RandomStream('eval', config.seed);
      rng.restore(saved);
      return rng;
    };
    classes = exp.model.parts.numClasses!;
    truth = exp.dataset.test.labels!;
    // every label replaced by another class
    wrong = truth.map((y) => (y + 1) % classes);
    return () => exp.dispose();
  });

  it('sets the test up as meant: a conditional model, several classes in the test split, several eval batches', () => {
    expect(exp.model.conditional).toBe(true);
    expect(classes).toBeGreaterThan(1);
    expect(new Set(truth).size).toBeGreaterThan(1);
    expect(exp.dataset.test.size).toBe(16);
    expect(exp.config.trainer.eval_batch_size).toBe(6);
  });

  it("the trainer's per-epoch test loss is the loss conditioned on each example's own label", () => {
    const { model, objective, dataset } = exp;
    const test = dataset.test;
    // The evaluation as the trainer runs it after epoch 1, with the condition built here.
    const direct = (labels: Int32Array): number => {
      const noise = new RandomStreams(exp.config.seed).stream('eval');
      model.setStep(step);
      model.setTraining(false);
      let sum = 0;
      for (const idx of batches(test.size, exp.config.trainer.eval_batch_size)) {
        sum += tf.tidy(() => {
          const x = inputs(exp, test, idx, noise);
          const r = objective.loss(model.forward(x, noise, oneHot(labels, idx, classes)), { step, epoch: 1, training: false, noise });
          return r.loss.dataSync()[0]! * idx.length;
        });
      }
      return sum / test.size;
    };
    const logged = readMetrics(dir).filter((r) => r.split === 'test');
    expect(logged.length).toBe(1);
    expect(readSummary(dir).test_loss).toBe(logged[0]!.loss);
    expectConditioned('test loss', direct(truth), direct(wrong), logged[0]!.loss);
  });

  it("`vaelab eval` reports the log-likelihood, KL and reconstruction error conditioned on each example's own label", async () => {
    expect(await main(['eval', dir, '--iw-samples', String(K), '--batch-size', String(EVAL_BATCH)], quiet())).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8')) as Record<string, number>;
    expect(report).toMatchObject({ examples: 16, iw_samples: K, batch_size: EVAL_BATCH, kl_analytic: true, reconstruction_at: 'posterior_mean' });
    const { model, dataset } = exp;
    const { encoder, decoder, posterior, likelihood, prior } = model.parts;
    const test = dataset.test;
    // Each example's log p(x | y) with K importance samples, its KL(q(z | x, y) ‖ p(z)) and the
    // squared error of the likelihood's mean at the posterior mean, summed per batch in order.
    const direct = (labels: Int32Array) => {
      const rng = savedEvalStream();
      model.setStep(step);
      model.setTraining(false);
      const sums = { log_likelihood: 0, kl: 0, reconstruction_mse: 0 };
      for (const idx of batches(test.size, EVAL_BATCH)) {
        tf.tidy(() => {
          const x = inputs(exp, test, idx, rng);
          const cond = oneHot(labels, idx, classes);
          const q = posterior.distribution(encoder.apply(x, cond));
          const divergence = kl(q, prior.distribution(idx.length), { rng }).value;
          const mean = likelihood.distribution(decoder.apply(q.mean!(), cond)).mean!();
          const mse = tf.mean(tf.reshape(tf.squaredDifference(x, mean), [idx.length, -1]), 1);
          const ll = importanceSample(model, x, { samples: K, rng, cond }).logLikelihood;
          sums.log_likelihood += tf.sum(ll).dataSync()[0]!;
          sums.kl += tf.sum(divergence).dataSync()[0]!;
          sums.reconstruction_mse += tf.sum(mse).dataSync()[0]!;
        });
      }
      return { log_likelihood: sums.log_likelihood / test.size, kl: sums.kl / test.size, reconstruction_mse: sums.reconstruction_mse / test.size };
    };
    const withTruth = direct(truth);
    const withWrong = direct(wrong);
    for (const key of ['log_likelihood', 'kl', 'reconstruction_mse'] as const) expectConditioned(key, withTruth[key], withWrong[key], report[key]!);
  });
});
