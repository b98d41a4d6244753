import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * The native fast path (VAELAB_NATIVE=1: OpenBLAS matMul, Adam and Bernoulli kernels in C, one
 * wasm thread, fused kernels) resumes exactly: a run killed with SIGKILL mid-epoch and resumed
 * writes the metrics of a run that was never interrupted. Real processes of the built CLI.
 */

const bin = fileURLToPath(new URL('../../../apps/cli/bin/vaelab.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'vaelab-native-resume-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const env: NodeJS.ProcessEnv = { ...process.env, VAELAB_NATIVE: '1', CI: '1' };
delete env.VAELAB_WASM_THREADS;
delete env.VAELAB_FUSED_KERNELS;

// 2048 examples in batches of 16: 128 steps an epoch; a checkpoint every 5 steps
const ARGS = [
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

function runDir(folder: string): string {
  const experiment = join(folder, 'synthetic_vae');
  const runs = readdirSync(experiment);
  expect(runs).toHaveLength(1);
  return join(experiment, runs[0]!);
}

/** metrics.jsonl without wall-clock times: what an exact resume reproduces. */
function losses(dir: string): unknown[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const { time: _time, ...record } = JSON.parse(line) as Record<string, unknown>;
      return record;
    });
}

function pointerStep(dir: string): number {
  try {
    return (JSON.parse(readFileSync(join(dir, 'checkpoints', 'latest.json'), 'utf8')) as { step: number }).step;
  } catch {
    return -1;
  }
}

describe('VAELAB_NATIVE=1 and resume', () => {
  it('SIGKILL mid-epoch, then vaelab resume: the metrics of an uninterrupted native run', async () => {
    const straight = join(out, 'straight');
    const r = spawnSync(process.execPath, [bin, ...ARGS, '--out', straight], { encoding: 'utf8', env, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const expected = losses(runDir(straight));
    expect(JSON.parse(readFileSync(join(runDir(straight), 'meta.json'), 'utf8')).backend.package).toMatch(/@vaelab\/native .* \+ fused kernels \(VAELAB_NATIVE=1\)$/);

    const killedOut = join(out, 'killed');
    const child: ChildProcess = spawn(process.execPath, [bin, ...ARGS, '--out', killedOut], { env });
    const closed = new Promise<NodeJS.Signals | null>((res) => child.on('close', (_code, signal) => res(signal)));
    let dir = '';
    const end = Date.now() + 60_000;
    for (;;) {
      try {
        dir = runDir(killedOut);
      } catch {
        dir = '';
      }
      if (dir && pointerStep(dir) >= 10) break;
      if (Date.now() > end) throw new Error('timed out waiting for a checkpoint at step 10');
      await new Promise((res) => setTimeout(res, 20));
    }
    child.kill('SIGKILL');
    expect(await closed).toBe('SIGKILL');
    expect(pointerStep(dir) % 128).not.toBe(0); // in the middle of an epoch
    const resumed = spawnSync(process.execPath, [bin, 'resume', dir, '--quiet'], { encoding: 'utf8', env, timeout: 120_000 });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming at epoch 1, batch \d+, step \d+/);
    expect(resumed.stderr + resumed.stdout).not.toMatch(/will not match/); // the same set-up: no warning
    expect(losses(dir)).toEqual(expected);
  }, 180_000);
});
