import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandSweeps, parseOverrides } from '@vaelab/config';
import { type JobStatus, readMetrics, readSweep } from '@vaelab/runs';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { threadsPerJob } from './launcher.js';
import { planSweep } from './sweep.js';
import { capture, repo, runDirs, TINY } from './test-helpers.js';

/*
 * Sweeps run their jobs as child processes of the built `vaelab` (apps/cli/bin -> dist, built by
 * `npm install` / `npm run build`), so these tests exercise the real launcher, real exit codes
 * and real signals. Jobs are tiny synthetic_vae runs.
 */

const bin = join(repo, 'apps', 'cli', 'bin', 'vaelab.js');
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `vaelab-sweep-${name}-`));

/** The only sweep folder under <out>/synthetic_vae. */
function sweepIn(out: string): string {
  const dirs = readdirSync(join(out, 'synthetic_vae'));
  expect(dirs).toHaveLength(1);
  return join(out, 'synthetic_vae', dirs[0]!);
}

/** metrics.jsonl without wall-clock times: what must match between a job alone and in a sweep. */
const losses = (dir: string) => readMetrics(dir).map(({ time: _time, ...r }) => r);

function run(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repo, env: { ...process.env, CI: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return { child, done: new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr }))) };
}

describe('planSweep', () => {
  it('expands the product in order (first key slowest) and names each job by its swept values', () => {
    const overrides = parseOverrides(['trainer.epochs=1', 'objective.beta=0.5,2', 'seed=range(1,3)', 'trainer.optimizer.lr=1e-3'], { multirun: true });
    const plan = planSweep({ experiment: 'exp', overrides, jobs: expandSweeps(overrides), command: ['train'], cwd: '/x' });
    expect(plan.parameters).toEqual([
      { key: 'objective.beta', form: 'list', values: ['0.5', '2'] },
      { key: 'seed', form: 'range', values: ['1', '2'] },
    ]);
    expect(plan.overrides).toEqual(['trainer.epochs=1', 'trainer.optimizer.lr=1e-3']);
    expect(plan.jobs.map((j) => j.name)).toEqual(['000_beta=0.5_seed=1', '001_beta=0.5_seed=2', '002_beta=2_seed=1', '003_beta=2_seed=2']);
    expect(plan.jobs[1]).toEqual({
      index: 1,
      name: '001_beta=0.5_seed=2',
      overrides: ['trainer.epochs=1', 'objective.beta=0.5', 'seed=2', 'trainer.optimizer.lr=1e-3'],
      params: { 'objective.beta': '0.5', seed: '2' },
    });
    // Keys whose last parts collide keep their full names.
    const clash = parseOverrides(['encoder.hidden=[8],[16]', 'decoder.hidden=[8],[16]'], { multirun: true });
    const names = planSweep({ experiment: 'exp', overrides: clash, jobs: expandSweeps(clash), command: [], cwd: '/x' }).jobs.map((j) => j.name);
    expect(names[1]).toBe('001_encoder.hidden=-8-_decoder.hidden=-16-');
  });
});

describe('threadsPerJob', () => {
  it('shares the cores among the jobs running at once, at least one thread each', () => {
    expect(threadsPerJob(1, 2)).toBe(2);
    expect(threadsPerJob(2, 2)).toBe(1);
    expect(threadsPerJob(3, 2)).toBe(1);
    expect(threadsPerJob(2, 8)).toBe(4);
    expect(threadsPerJob(3, 8)).toBe(2);
  });
});

describe('vaelab train -m', () => {
  it('runs a 2×2×2 sweep with --jobs 2: diverging jobs fail and are marked, the others complete; results table and plots', async () => {
    const out = tmp('grid');
    const io = capture();
    const code = await main(['train', '-m', ...TINY, 'trainer.optimizer.lr=1e-3,1e6', 'seed=1,2', 'latent_dim=2,3', '--jobs', '2', '--out', out], io);
    // The exit code is the number of failed jobs: the four with lr = 1e6 diverge at their first step.
    expect(code).toBe(4);
    const dir = sweepIn(out);
    const sweep = readSweep(dir);
    expect(sweep.manifest.parameters.map((p) => [p.key, p.values])).toEqual([
      ['trainer.optimizer.lr', ['1e-3', '1e6']],
      ['seed', ['1', '2']],
      ['latent_dim', ['2', '3']],
    ]);
    expect(sweep.jobs.map((j) => j.job.name)).toEqual([
      '000_lr=1e-3_seed=1_latent_dim=2',
      '001_lr=1e-3_seed=1_latent_dim=3',
      '002_lr=1e-3_seed=2_latent_dim=2',
      '003_lr=1e-3_seed=2_latent_dim=3',
      '004_lr=1e6_seed=1_latent_dim=2',
      '005_lr=1e6_seed=1_latent_dim=3',
      '006_lr=1e6_seed=2_latent_dim=2',
      '007_lr=1e6_seed=2_latent_dim=3',
    ]);
    for (const j of sweep.jobs) {
      const diverging = j.job.params['trainer.optimizer.lr'] === '1e6';
      expect(j.status).toMatchObject<Partial<JobStatus>>({ state: diverging ? 'failed' : 'completed', exit_code: diverging ? 1 : 0, attempts: 1 });
      if (diverging) expect(j.status.error).toMatch(/non-finite loss/);
      expect(j.run?.summary.status).toBe(diverging ? 'non-finite' : 'completed');
      expect(j.run?.config).toMatchObject({ seed: Number(j.job.params.seed), latent_dim: Number(j.job.params.latent_dim) });
    }
    expect(io.stdout.join('\n')).toMatch(/sweep: 4 completed, 4 failed/);
    expect(io.stdout.some((l) => /^\[4\] failed 004_lr=1e6_seed=1_latent_dim=2 .*non-finite loss/.test(l))).toBe(true);

    // The table groups over seeds; failed jobs are counted and listed.
    const res = capture();
    const plots = join(out, 'plots');
    expect(
      await main(['results', dir, '--metrics', 'test_loss,test.kl', '--plot', 'test_loss', '--x', 'latent_dim', '--color', 'trainer.optimizer.lr', '--curves', 'loss', '--plot-dir', plots], res),
    ).toBe(0);
    const table = res.stdout.join('\n').split('\n');
    expect(table[0]).toBe('| `trainer.optimizer.lr` | `latent_dim` | test_loss | test.kl | n | failed |');
    const mean = (i: number, m: string) =>
      (sweep.jobs.filter((j) => j.job.params['trainer.optimizer.lr'] === '1e-3' && j.job.params.latent_dim === String(i)).map((j) => j.run!.summary[m]) as number[]).reduce(
        (a, b) => a + b,
      ) / 2;
    expect(table[2]).toMatch(new RegExp(`^\\| 1e-3 \\| 2 \\| ${mean(2, 'test_loss').toFixed(2)} ± [\\d.]+ \\| [\\d.e+-]+ ± [\\d.e+-]+ \\| 2 \\| 0 \\|$`));
    expect(table[4]).toBe('| 1e6 | 2 | — | — | 0 | **2** |');
    expect(table.filter((l) => l.startsWith('- 00'))).toHaveLength(4);
    // The plots decode as PNG and are not blank: many distinct colours, most of the image white.
    for (const name of ['test_loss_vs_latent_dim', 'curves_test_loss']) {
      expect(existsSync(join(plots, `${name}.vl.json`))).toBe(true);
      expect(readFileSync(join(plots, `${name}.svg`), 'utf8')).toMatch(/^<svg/);
      const png = decode(readFileSync(join(plots, `${name}.png`)));
      expect(png.width).toBeGreaterThan(400);
      expect(png.height).toBeGreaterThan(300);
      const pixels = new Set<number>();
      const channels = png.channels;
      for (let i = 0; i < png.data.length; i += channels) pixels.add((png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!);
      expect(pixels.size).toBeGreaterThan(20);
    }
  });

  it("gives a job the same metrics alone, in a sequential sweep and in a parallel one", async () => {
    const out = tmp('same');
    const alone = run(['train', ...TINY, 'seed=2', 'latent_dim=3', '--out', join(out, 'alone'), '--quiet']);
    expect((await alone.done).code).toBe(0);
    const aloneDir = readdirSync(join(out, 'alone', 'synthetic_vae')).map((d) => join(out, 'alone', 'synthetic_vae', d))[0]!;
    for (const jobs of ['1', '2']) {
      expect(await main(['train', '-m', ...TINY, 'seed=1,2', 'latent_dim=3', '--jobs', jobs, '--out', join(out, `jobs${jobs}`)], capture())).toBe(0);
    }
    const inSweep = (jobs: string) => join(sweepIn(join(out, `jobs${jobs}`)), '001_seed=2');
    expect(losses(aloneDir).length).toBe(4);
    expect(losses(inSweep('1'))).toEqual(losses(aloneDir));
    expect(losses(inSweep('2'))).toEqual(losses(aloneDir));
    // The other seed differs, so the comparison can fail.
    expect(losses(join(sweepIn(join(out, 'jobs2')), '000_seed=1'))).not.toEqual(losses(aloneDir));
  });

  it('stops every job with a checkpoint on SIGTERM (exit 143), and vaelab resume <sweep> finishes what is unfinished', async () => {
    const out = tmp('resume');
    // Long enough (640 steps) that two jobs are mid-training when the signal comes; a train_step record every 5 steps.
    const args = ['train', '-m', ...TINY, 'data.n_train=256', 'trainer.batch_size=8', 'trainer.epochs=20', 'trainer.log_every_steps=5', 'seed=1,2,3', '--jobs', '2', '--out', out];
    const launcher = run(args);
    // Wait until both running jobs have logged training steps (a checkpoint-able state).
    const deadline = Date.now() + 45_000;
    let dir: string | undefined;
    for (;;) {
      if (Date.now() > deadline) throw new Error('the jobs did not start training');
      await new Promise((r) => setTimeout(r, 200));
      // the experiment folder appears a moment before the sweep folder inside it
      if (runDirs(out).length !== 1) continue;
      dir = sweepIn(out);
      if (!existsSync(join(dir, 'sweep.yaml'))) continue;
      const started = readSweep(dir).jobs.filter((j) => j.status.state === 'running' && readMetrics(j.dir).length > 0);
      if (started.length === 2) break;
    }
    launcher.child.kill('SIGTERM');
    const stopped = await launcher.done;
    expect(stopped.code).toBe(143);
    expect(stopped.stderr).toMatch(/SIGTERM: stopping every running job/);
    expect(stopped.stderr).toContain(`continue with: vaelab resume ${dir}`);
    const before = readSweep(dir!);
    expect(before.jobs.map((j) => j.status.state)).toEqual(['interrupted', 'interrupted', 'pending']);
    for (const j of before.jobs.slice(0, 2)) {
      expect(j.status.exit_code).toBe(143);
      expect(j.run?.summary.status).toBe('interrupted');
      expect(existsSync(join(j.dir, 'checkpoints', 'latest.json'))).toBe(true);
    }

    const io = capture();
    expect(await main(['resume', dir!, '--jobs', '2'], io)).toBe(0);
    const after = readSweep(dir!);
    expect(after.jobs.map((j) => [j.status.state, j.status.attempts])).toEqual([
      ['completed', 2],
      ['completed', 2],
      ['completed', 1],
    ]);
    expect(io.stdout.join('\n')).toMatch(/\[0\] start 0+_seed=1 \(resume\)/);
    for (const j of after.jobs) {
      const records = losses(j.dir).filter((r) => r.split === 'test');
      expect(records.map((r) => r.epoch)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }
    // Nothing left: a second resume says so.
    const again = capture();
    expect(await main(['resume', dir!], again)).toBe(0);
    expect(again.stdout.join('\n')).toMatch(/nothing to resume/);
  }, 180_000);
});
