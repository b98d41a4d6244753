import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, RandomStreams } from '@vaelab/core';
import { CheckpointStore, evaluate } from '@vaelab/trainers';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildExperiment, checkConfig } from './build.js';
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
