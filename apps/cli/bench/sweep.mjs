#!/usr/bin/env node
// Sweep benchmark: the same 6-job sweep of synthetic_vae (3 seeds x 2 latent sizes) run with
// --jobs 1 and with --jobs 2, whole command each time (process starts, training, run folders).
// Target on a 2-core machine: --jobs 2 takes at most 0.6 of the time of --jobs 1.
//
//   node bench/sweep.mjs [--repeats 1] [--epochs 4] [--out bench/results/sweep.json]
//
// Uses the built CLI (bin/vaelab.js -> dist); run `npm run build` first.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', 'bin', 'vaelab.js');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const repeats = Number(opt('repeats', '1'));
const epochs = Number(opt('epochs', '4'));

// Enough work per job (a few seconds) that process start-up does not dominate.
const sweep = ['experiment=synthetic_vae', 'backend=wasm', 'data.n_train=2048', 'data.n_test=256', `trainer.epochs=${epochs}`, 'seed=1,2,3', 'latent_dim=2,8'];

function runSweep(jobs) {
  const out = mkdtempSync(join(tmpdir(), 'vaelab-bench-sweep-'));
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'train', '-m', ...sweep, '--jobs', String(jobs), '--out', out], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`the sweep with --jobs ${jobs} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return seconds;
}

const results = [];
for (let i = 0; i < repeats; i++) {
  for (const jobs of [1, 2]) {
    const seconds = runSweep(jobs);
    results.push({ jobs, seconds });
    console.log(`sweep of 6 jobs, --jobs ${jobs}: ${seconds.toFixed(1)} s`);
  }
}
const best = (jobs) => Math.min(...results.filter((r) => r.jobs === jobs).map((r) => r.seconds));
const ratio = best(2) / best(1);
console.log(`--jobs 2 / --jobs 1 = ${ratio.toFixed(2)} (target <= 0.60 on 2 cores; this machine has ${availableParallelism()} cores)`);

const out = opt('out', join(here, 'results', 'sweep.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    { benchmark: 'sweep: 6 synthetic_vae jobs, --jobs 2 against --jobs 1', command: ['train', '-m', ...sweep], cores: availableParallelism(), node: process.version, date: new Date().toISOString(), results, ratio },
    null,
    2,
  ) + '\n',
);
