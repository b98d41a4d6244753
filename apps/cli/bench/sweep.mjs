#!/usr/bin/env node
// Sweep benchmark: the same 6-job sweep of synthetic_vae (3 seeds x 2 latent sizes) run with
// --jobs 1 and with --jobs 2, whole command each time (process starts, training, run folders).
// Target on a 2-core machine: --jobs 2 takes at most 0.6 of the time of --jobs 1.
//
//   node bench/sweep.mjs [--repeats 1] [--epochs 4] [--n-train 8192] [--out bench/results/sweep.json]
//
// Uses the built CLI (bin/vaelab.js -> dist); run `npm run build` first.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
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
const nTrain = Number(opt('n-train', '8192'));

// Enough work per job (about 5 s of training) that process start-up does not dominate: a job's
// start (Node, the CLI's modules, compiling tfjs's wasm binary) takes ~1.2 s and keeps more than
// one core busy (V8 compiles and collects garbage on background threads), so with 2048 training
// examples (1.1 s of training) two jobs side by side could not take half the time.
const sweep = ['experiment=synthetic_vae', 'backend=wasm', `data.n_train=${nTrain}`, 'data.n_test=256', `trainer.epochs=${epochs}`, 'seed=1,2,3', 'latent_dim=2,8'];

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
const times = (jobs) => results.filter((r) => r.jobs === jobs).map((r) => r.seconds);
const median = (xs) => {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spread = (jobs) => `median ${median(times(jobs)).toFixed(1)} s (${Math.min(...times(jobs)).toFixed(1)}–${Math.max(...times(jobs)).toFixed(1)})`;
const ratio = median(times(2)) / median(times(1));
console.log(`--jobs 1: ${spread(1)}; --jobs 2: ${spread(2)}`);
console.log(`--jobs 2 / --jobs 1 = ${ratio.toFixed(2)} (medians; target <= 0.60 on 2 cores; this machine has ${availableParallelism()} cores; load average now ${loadavg()[0].toFixed(2)})`);

const out = opt('out', join(here, 'results', 'sweep.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    { benchmark: 'sweep: 6 synthetic_vae jobs, --jobs 2 against --jobs 1', command: ['train', '-m', ...sweep], cores: availableParallelism(), load_average_at_end: loadavg(), node: process.version, date: new Date().toISOString(), results, ratio },
    null,
    2,
  ) + '\n',
);
