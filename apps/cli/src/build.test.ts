import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, defineComponent } from '@vaelab/core';
import { Mlp } from '@vaelab/networks';
import { FusedAdamOptimizer } from '@vaelab/trainers';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildExperiment, checkConfig } from './build.js';
import { BUILTIN_CONF_DIR } from './conf-path.js';
import { builtinRegistry } from './registry.js';

const config = {
  name: 't',
  seed: 1,
  backend: 'wasm',
  latent_dim: 2,
  data: { name: 'synthetic', n_train: 8, n_test: 4, size: 4 },
  encoder: { name: 'mlp', hidden: [4] },
  decoder: { name: 'mlp', hidden: [4] },
  prior: { name: 'standard_normal' },
  posterior: { name: 'diagonal_gaussian' },
  likelihood: { name: 'bernoulli' },
  objective: { name: 'elbo' },
  trainer: { epochs: 1, batch_size: 4 },
};

describe('buildExperiment', () => {
  it('sizes the encoder from the posterior and the decoder from the likelihood', async () => {
    const registry = builtinRegistry();
    const exp = await buildExperiment(checkConfig(config, registry), registry, '.', () => {});
    expect(exp.model.parts.encoder.apply(tf.zeros([3, 4, 4, 1])).shape).toEqual([3, 4]); // 2 × latent_dim
    expect(exp.model.parts.decoder.apply(tf.zeros([3, 2])).shape).toEqual([3, 4, 4, 1]);
    exp.dispose();
  });

  it('a decoder whose output does not fit the data fails before training, naming the shapes', async () => {
    const registry = builtinRegistry().register(
      defineComponent({
        kind: 'decoder',
        name: 'too_small',
        description: 'ignores the shape the likelihood asks for',
        schema: z.object({}),
        create: (_o, ctx) => new Mlp([ctx.latentDim], [3], { hidden: [], activation: 'relu', init: 'uniform_fan_in' }, ctx.streams.stream('d')),
      }),
    );
    const bad = checkConfig({ ...config, decoder: { name: 'too_small' } }, registry);
    const err = await buildExperiment(bad, registry, '.', () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShapeError);
    expect((err as Error).message).toBe('decoder: output has shape [3], expected [4, 4, 1]');
  });

  it("the shipped trainer group's Adam is the fused update on wasm (optimizer.fused: auto), tfjs's own elsewhere", async () => {
    // The group once said fused: false, so every run from the command line paid for ~12 tfjs kernels
    // per variable while the benchmarks timed the fused update.
    const trainer = { ...parse(readFileSync(join(BUILTIN_CONF_DIR, 'trainer', 'adam.yaml'), 'utf8')), epochs: 1, batch_size: 4 };
    const registry = builtinRegistry();
    const wasm = await buildExperiment(checkConfig({ ...config, trainer }, registry), registry, '.', () => {});
    expect(wasm.optimizer.constructor).toBe(FusedAdamOptimizer);
    wasm.dispose();
    const cpu = await buildExperiment(checkConfig({ ...config, backend: 'cpu', trainer }, registry), registry, '.', () => {});
    expect(cpu.optimizer.constructor).toBe(tf.AdamOptimizer);
    cpu.dispose();
    await buildExperiment(checkConfig(config, registry), registry, '.', () => {}).then((e) => e.dispose()); // back to wasm for the rest
  });
});
