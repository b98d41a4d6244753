import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Io } from './io.js';
import { main } from './main.js';
import { readMetrics as readRecords, readSummary } from '@vaelab/runs';

/** Metrics records without their wall-clock `time`, which differs between runs. */
const readMetrics = (dir: string) => readRecords(dir).map(({ time: _time, ...r }) => r);

/*
 * Every component of the built-in config groups (apps/cli/conf) trains from config with no code change: one override (or
 * the few a component needs to make sense), a short run on tiny data, a finite test loss.
 */

const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const BASE = ['experiment=synthetic_vae', 'trainer.epochs=1', 'trainer.batch_size=16', 'backend=wasm'];
const SYNTH = [...BASE, 'data.n_train=48', 'data.n_test=16'];
// 8-bit likelihoods need data with 256 levels: the first few MNIST digits.
const mnist = (data = 'mnist') => [...BASE, `data=${data}`, 'data.train_limit=48', 'data.test_limit=16', 'encoder.hidden=[16]', 'decoder.hidden=[16]'];
const MNIST = mnist();

function capture(cwd = repo): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { cwd, tty: false, stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

async function trains(args: string[]): Promise<{ out: string[]; metrics: ReturnType<typeof readMetrics>; summary: Record<string, unknown> }> {
  const dir = mkdtempSync(join(tmpdir(), 'vaelab-components-'));
  const io = capture();
  const code = await main(['train', ...args, '--out', dir], io);
  expect(code, io.stderr.join('\n')).toBe(0);
  const [exp] = readdirSync(dir);
  const [run] = readdirSync(join(dir, exp!));
  const metrics = readMetrics(join(dir, exp!, run!));
  const summary = readSummary(join(dir, exp!, run!));
  rmSync(dir, { recursive: true, force: true });
  const test = metrics.find((m) => m.split === 'test')!;
  expect(Number.isFinite(test.loss)).toBe(true);
  return { out: io.stdout, metrics, summary };
}

const cases: [string, string[]][] = [
  ['prior=gaussian', [...SYNTH, 'prior=gaussian']],
  ['prior=mixture_of_gaussians', [...SYNTH, 'prior=mixture_of_gaussians']],
  ['prior=vamp', [...SYNTH, 'prior=vamp', 'prior.pseudo_inputs=10']],
  ['posterior=full_covariance_gaussian', [...SYNTH, 'posterior=full_covariance_gaussian']],
  ['posterior=planar_flow', [...SYNTH, 'posterior=planar_flow']],
  ['posterior=iaf', [...SYNTH, 'posterior=iaf']],
  ['posterior=relaxed_categorical prior=uniform_categorical', [...SYNTH, 'posterior=relaxed_categorical', 'prior=uniform_categorical', 'latent_dim=10']],
  ['posterior=vector_quantizer objective=vq_vae', [...SYNTH, 'posterior=vector_quantizer', 'objective=vq_vae', 'posterior.code_dim=2', 'posterior.codes=8']],
  ['likelihood=continuous_bernoulli', [...SYNTH, 'likelihood=continuous_bernoulli']],
  ['likelihood=gaussian', [...SYNTH, 'likelihood=gaussian']],
  ['likelihood=gaussian_learned', [...SYNTH, 'likelihood=gaussian_learned']],
  ['likelihood=gaussian_per_pixel', [...SYNTH, 'likelihood=gaussian_per_pixel', '+likelihood.min_sigma=0.01']],
  ['likelihood=laplace', [...SYNTH, 'likelihood=laplace']],
  ['likelihood=categorical_256', [...MNIST, 'likelihood=categorical_256']],
  ['likelihood=discretized_logistic', [...MNIST, 'likelihood=discretized_logistic']],
  ['objective=beta_vae', [...SYNTH, 'objective=beta_vae']],
  ['objective=free_bits', [...SYNTH, 'objective=free_bits']],
  ['objective=iwae', [...SYNTH, 'objective=iwae']],
  ['objective=autoencoder', [...SYNTH, 'objective=autoencoder']],
  ['data=binarized_mnist', mnist('binarized_mnist')],
];

describe('every component trains from config', () => {
  it.each(cases)('%s', async (_name, args) => {
    await trains(args);
  });

  it('a Monte Carlo KL is said to be one; bits/dim appear only for a likelihood over the data levels', async () => {
    const mog = await trains([...SYNTH, 'prior=mixture_of_gaussians']);
    expect(mog.out.join('\n')).toMatch(/kl: Monte Carlo estimate with 1 sample/);
    expect(mog.summary.objective_notes).toEqual(['kl: Monte Carlo estimate with 1 sample(s)']);
    expect(mog.metrics[0]).not.toHaveProperty('bits_per_dim');
    const binary = await trains(mnist('binarized_mnist'));
    expect(binary.out.join('\n')).toMatch(/kl: analytic/);
    const test = binary.metrics.find((m) => m.split === 'test')!;
    expect(test.bits_per_dim).toBeCloseTo((test.nelbo as number) / (784 * Math.LN2), 6);
    expect(test.kl_per_dim).toHaveLength(4);
  });
});

describe('exact resume with the new kinds of state', () => {
  // EMA codebook statistics and dead-code resets (non-trainable state and the vq/reset stream),
  // a learned prior and likelihood scale, a flow and an annealed temperature: Ctrl-C after the
  // first step, resume, and the metrics equal an uninterrupted run's.
  it.each([
    ['vector_quantizer (EMA, resets) + vq_vae', ['posterior=vector_quantizer', 'objective=vq_vae', 'posterior.code_dim=2', 'posterior.codes=8', 'posterior.ema=true', 'posterior.dead_code_threshold=1']],
    ['mixture_of_gaussians + iaf + laplace (learned b)', ['prior=mixture_of_gaussians', 'posterior=iaf', 'likelihood=laplace']],
    ['relaxed_categorical annealed + uniform_categorical + beta_vae warm-up', ['posterior=relaxed_categorical', 'prior=uniform_categorical', 'latent_dim=10', 'posterior.anneal_every=1', 'posterior.anneal_rate=0.1', 'objective=beta_vae', 'objective.schedule=linear', 'objective.warmup_steps=5']],
  ])('%s', async (_name, extra) => {
    const args = [...BASE, 'data.n_train=64', 'data.n_test=16', 'trainer.epochs=2', ...extra];
    const straight = mkdtempSync(join(tmpdir(), 'vaelab-straight-'));
    expect(await main(['train', ...args, '--out', straight], capture())).toBe(0);
    const out = mkdtempSync(join(tmpdir(), 'vaelab-int-'));
    const io = capture();
    const interrupting = { ...io, out: (line: string) => (line.startsWith('data:') ? process.kill(process.pid, 'SIGINT') : undefined, io.out(line)) };
    expect(await main(['train', ...args, '--out', out], interrupting)).toBe(130);
    const runOf = (root: string) => {
      const [exp] = readdirSync(root);
      return join(root, exp!, readdirSync(join(root, exp!))[0]!);
    };
    const dir = runOf(out);
    expect(readSummary(dir).status).toBe('interrupted');
    expect(await main(['resume', dir], capture())).toBe(0);
    expect(readMetrics(dir)).toEqual(readMetrics(runOf(straight)));
    rmSync(straight, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });
});

describe('pairings rejected before a run folder exists', () => {
  it('an objective that needs reparameterized samples with a posterior that has none names both', async () => {
    mkdirSync(join(repo, '.tmp-tests'), { recursive: true });
    const project = mkdtempSync(join(repo, '.tmp-tests', 'noreparam-'));
    // No config_dir of its own: the experiment and groups come from the CLI's built-in ones.
    writeFileSync(join(project, 'vaelab.config.yaml'), 'out_dir: out\nplugins: [./score-only.mjs]\n');
    // A diagonal Gaussian family whose distributions only offer sample() (no pathwise gradient).
    writeFileSync(
      join(project, 'score-only.mjs'),
      [
        "import * as tf from '@tensorflow/tfjs-core';",
        "import { z } from 'zod';",
        "import { Normal } from '@vaelab/core';",
        'export const components = [{',
        "  kind: 'posterior', name: 'score_only_gaussian', description: 'no rsample',",
        '  schema: z.object({}),',
        '  create: () => ({ reparameterized: false, variables: [], dispose() {}, paramShape: (l) => [2 * l.dim],',
        '    distribution: (p) => { const [m, s] = tf.split(p, 2, 1); const n = new Normal(m, tf.exp(s));',
        '      return { batchShape: n.batchShape, eventShape: n.eventShape, sample: (r) => n.sample(r), logProb: (x) => n.logProb(x), mean: () => n.mean() }; } }),',
        '}];',
      ].join('\n'),
    );
    const io = capture(project);
    expect(await main(['train', ...SYNTH, 'posterior.name=score_only_gaussian', '~posterior.scale', 'objective=iwae'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/objective 'iwae' needs reparameterized samples, but posterior 'score_only_gaussian' has none/);
    expect(() => readdirSync(join(project, 'out'))).toThrow();
    // The autoencoder does not sample: the same posterior is accepted.
    const ok = capture(project);
    expect(await main(['train', ...SYNTH, 'posterior.name=score_only_gaussian', '~posterior.scale', 'objective=autoencoder'], ok), ok.stderr.join('\n')).toBe(0);
    rmSync(project, { recursive: true, force: true });
  });

  it('iwae with a relaxed posterior and a discrete prior: the preflight says why', async () => {
    const io = capture();
    const args = [...SYNTH, 'posterior=relaxed_categorical', 'prior=uniform_categorical', 'latent_dim=10', 'objective=iwae'];
    expect(await main(['train', ...args, '--out', mkdtempSync(join(tmpdir(), 'vaelab-bad-'))], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/has no probability under a discrete prior[\s\S]*use elbo or beta_vae/);
  });

  it('bad objective options are config errors with the path', async () => {
    for (const [arg, path] of [
      ['objective.k=0', /objective\.k/],
      ['objective.beta=-1', /objective\.beta/],
    ] as const) {
      const objective = arg.startsWith('objective.k') ? 'objective=iwae' : 'objective=beta_vae';
      const io = capture();
      expect(await main(['train', ...SYNTH, objective, arg, '--out', mkdtempSync(join(tmpdir(), 'vaelab-bad-'))], io)).toBe(2);
      expect(io.stderr.join('\n')).toMatch(path);
    }
  });

  it('an 8-bit likelihood on data without 256 levels names the component', async () => {
    const io = capture();
    expect(await main(['train', ...SYNTH, 'likelihood=categorical_256', '--out', mkdtempSync(join(tmpdir(), 'vaelab-bad-'))], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/categorical_256/);
  });
});
