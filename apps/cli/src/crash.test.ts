import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMetrics, readSummary } from '@vaelab/runs';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import { capture, repo, runDirs } from './test-helpers.js';

/*
 * Real processes, real signals: the built `vaelab` command (apps/cli/bin -> dist, built by
 * `npm install` / `npm run build`) is killed at chosen moments, and `vaelab resume` must continue
 * each run to the losses of the run that was never interrupted.
 */

const bin = join(repo, 'apps', 'cli', 'bin', 'vaelab.js');
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `vaelab-crash-${name}-`));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Exit> } {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repo, env: { ...process.env, ...env, CI: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const done = new Promise<Exit>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
  return { child, done };
}

function onlyRun(out: string): string {
  const exps = readdirSync(out);
  expect(exps).toHaveLength(1);
  const runs = readdirSync(join(out, exps[0]!));
  expect(runs).toHaveLength(1);
  return join(out, exps[0]!, runs[0]!);
}

/**
 * The run folder once the process has made it, else '' (for polling: the experiment folder
 * appears a moment before the run folder inside it, so an assertion here would race the process).
 */
function runFolderSoFar(out: string): string {
  const dirs = runDirs(out);
  return dirs.length === 1 ? dirs[0]! : '';
}

/** Every record of metrics.jsonl but its wall-clock time: what an exact resume must reproduce. */
const losses = (dir: string) => readMetrics(dir).map(({ time: _time, ...r }) => r);

/** The step of the newest checkpoint the pointer names, or -1. */
function pointerStep(dir: string): number {
  try {
    return (JSON.parse(readFileSync(join(dir, 'checkpoints', 'latest.json'), 'utf8')) as { step: number }).step;
  } catch {
    return -1;
  }
}

async function until(condition: () => boolean, what: string, seconds = 60): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// 48 examples in batches of 16: 3 steps an epoch, 2 epochs; a step checkpoint every 2 steps and
// one at each epoch's end (steps 2, 3, 4, 6), two kept, so saves also remove old checkpoints.
const SHORT = [
  'train',
  'experiment=synthetic_vae',
  'data.n_train=48',
  'data.n_test=16',
  'trainer.epochs=2',
  'trainer.batch_size=16',
  'trainer.checkpoint.every_steps=2',
  'trainer.log_every_steps=1',
  'backend=wasm',
  '--quiet',
];

describe('a kill at any file operation of a checkpoint', () => {
  it('leaves a run that `vaelab resume` continues to the uninterrupted losses', async () => {
    // The uninterrupted run, logging every file operation of its checkpoints.
    const refOut = tmp('ref');
    const log = join(refOut, 'ops.log');
    const ref = await start([...SHORT, '--out', join(refOut, 'runs')], { VAELAB_CHECKPOINT_FAULT_LOG: log }).done;
    expect(ref.code, ref.stderr).toBe(0);
    const expected = losses(onlyRun(join(refOut, 'runs')));
    expect(expected.filter((r) => r.split === 'train_step')).toHaveLength(6);
    const ops = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string, string]);
    // Every boundary where the folder changes: each write, rename, unlink, rmdir and mkdir.
    const points = ops.filter(([, op]) => ['write', 'rename', 'unlink', 'rmdir', 'mkdir'].includes(op)).map(([i]) => Number(i));
    expect(points.length).toBeGreaterThan(20);

    const failures: string[] = [];
    const resumedFrom = new Set<string>();
    const killAt = async (index: number) => {
      const out = tmp(`kill${index}`);
      const killed = await start([...SHORT, '--out', out], { VAELAB_CHECKPOINT_FAULT: String(index) }).done;
      if (killed.signal !== 'SIGKILL') {
        failures.push(`operation ${index}: expected SIGKILL, got code ${killed.code} signal ${killed.signal}`);
        return;
      }
      const dir = onlyRun(out);
      const io = capture();
      const code = await main(['resume', dir, '--quiet'], io);
      const said = [...io.stdout, ...io.stderr].join('\n');
      const from =
        /resuming at epoch \d+, batch \d+, step (\d+)/.exec(said)?.[1] ??
        (/starting from step 0/.test(said) ? '0' : /nothing to resume: .* has finished all 2 epochs/.test(said) ? 'finished' : '?');
      resumedFrom.add(from);
      if (code !== 0) failures.push(`operation ${index} (${ops[index - 1]!.slice(1).join(' ')}): resume exited ${code}: ${said}`);
      else if (JSON.stringify(losses(dir)) !== JSON.stringify(expected)) failures.push(`operation ${index}: resumed losses differ`);
      else if (readSummary(dir).status !== 'completed') failures.push(`operation ${index}: summary.json says ${readSummary(dir).status}`);
    };
    // Two kills at a time (each a separate process); resumes run here, in this process.
    for (let i = 0; i < points.length; i += 2) await Promise.all(points.slice(i, i + 2).map(killAt));
    expect(failures).toEqual([]);
    // Kills before the first checkpoint resume from step 0; later ones from each checkpoint; kills
    // after the last one (removing old checkpoints) leave a finished run whose summary resume writes.
    expect([...resumedFrom].sort()).toEqual(['0', '2', '3', '4', 'finished']);
    expect(JSON.parse(readFileSync(join(onlyRun(join(refOut, 'runs')), 'summary.json'), 'utf8')).status).toBe('completed');
  }, 600_000);
});

describe('real signals to a training process', () => {
  // 2048 examples in batches of 16: 128 steps an epoch (a few seconds); a checkpoint every 5 steps.
  const LONG = [
    'train',
    'experiment=synthetic_vae',
    'data.n_train=2048',
    'data.n_test=64',
    'trainer.epochs=2',
    'trainer.batch_size=16',
    'trainer.checkpoint.every_steps=5',
    'trainer.log_every_steps=4',
    'backend=wasm',
    '--quiet',
  ];

  it('SIGKILL in the middle of an epoch, then resume: the losses of an uninterrupted run', async () => {
    const straight = tmp('straight');
    expect(await main([...LONG, '--out', straight], capture())).toBe(0);
    const expected = losses(onlyRun(straight));

    const out = tmp('sigkill');
    const run = start([...LONG, '--out', out]);
    let dir = '';
    await until(() => (dir = runFolderSoFar(out)) !== '' && pointerStep(dir) >= 10, 'a checkpoint at step 10');
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    const step = pointerStep(dir);
    expect(step % 128).not.toBe(0); // in the middle of an epoch
    const io = capture();
    expect(await main(['resume', dir, '--quiet'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/resuming at epoch 1, batch \d+, step \d+/);
    expect(losses(dir)).toEqual(expected);
  }, 180_000);

  it('SIGTERM: finishes the step, checkpoints, exits 143 with the resume command; a second resume is locked out meanwhile', async () => {
    const straight = tmp('straight-term');
    expect(await main([...LONG, '--out', straight], capture())).toBe(0);
    const expected = losses(onlyRun(straight));

    const out = tmp('sigterm');
    const run = start([...LONG, '--out', out]);
    let dir = '';
    await until(() => (dir = runFolderSoFar(out)) !== '' && pointerStep(dir) >= 5, 'a checkpoint at step 5');
    // One writer per run: while the training holds the folder, `vaelab resume` refuses, naming it.
    const locked = capture();
    expect(await main(['resume', dir], locked)).toBe(2);
    expect(locked.stderr.join('\n')).toMatch(new RegExp(`in use by pid ${run.child.pid}`));
    run.child.kill('SIGTERM');
    const stopped = await run.done;
    expect(stopped.code, stopped.stderr).toBe(143);
    expect(stopped.stderr).toMatch(/interrupted \(SIGTERM\) at step \d+; checkpoint written\. Continue with: vaelab resume /);
    expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).status).toBe('interrupted');
    expect(await main(['resume', dir, '--quiet'], capture())).toBe(0);
    expect(losses(dir)).toEqual(expected);
  }, 180_000);
});
