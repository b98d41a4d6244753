// What trusting a long run costs: the time of a checkpoint (crash-safe: fsync, sha256) and of the
// per-step metrics records, against the mnist_vae training step (MLP 784-400-20-400-784, Adam,
// batch 128, wasm). Medians and spread over repeated measurements; results go to
// bench/results/checkpoint-cost.json.
// Usage: node bench/checkpoint-cost.mjs [--steps N] [--saves N] [--out FILE]
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchModel } from './model.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const steps = Number(opt('steps', '150'));
const saves = Number(opt('saves', '15'));

const tf = await import('@tensorflow/tfjs-core');
const core = await import('@vaelab/core');
const { trainStep, CheckpointStore, initialState } = await import('@vaelab/trainers');
const { appendMetrics, TensorBoardWriter } = await import('@vaelab/runs');
await core.selectBackend('wasm');

const streams = new core.RandomStreams(1);
const { model, objective, x, noise } = await benchModel(streams);
const batch = x.shape[0];
const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
const parts = { model, objective, optimizer, options: { clip_norm: null } };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs) => ({ min: Math.min(...xs), max: Math.max(...xs), median: median(xs), n: xs.length });

// The training step.
for (let i = 0; i < 10; i++) trainStep(parts, x, noise, { step: i, epoch: 0 });
const stepMs = [];
let last;
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  last = trainStep(parts, x, noise, { step: i, epoch: 0 });
  stepMs.push(performance.now() - t0);
}

// A checkpoint: weights, Adam slots, streams and state, written crash-safely into a real folder.
const dir = mkdtempSync(join(tmpdir(), 'vaelab-bench-ckpt-'));
const store = new CheckpointStore(join(dir, 'checkpoints'), { keep_last: 2 });
const ckptParts = { variables: model.checkpointVariables(), optimizer, streams };
const saveMs = [];
for (let i = 0; i < saves; i++) {
  const state = { ...initialState(), step: i + 1 };
  const t0 = performance.now();
  await store.save(ckptParts, state, { reason: 'steps' });
  saveMs.push(performance.now() - t0);
}

const checkpointBytes = statSync(join(store.latest().path, 'weights.bin')).size;

// A per-step record: one line of metrics.jsonl and one TensorBoard event.
const tb = new TensorBoardWriter(join(dir, 'tb'));
const record = { step: 1, epoch: 0.5, split: 'train_step', lr: 1e-3, time: Date.now() / 1000 };
last.names.forEach((n, i) => (record[n] = last.values[i]));
const logMs = [];
for (let i = 0; i < 200; i++) {
  const t0 = performance.now();
  appendMetrics(dir, { ...record, step: i });
  const { step, epoch, split, time, ...terms } = record;
  tb.scalars(terms, i, split, time);
  logMs.push(performance.now() - t0);
}
tb.close();
rmSync(dir, { recursive: true, force: true });

// An MNIST epoch: 469 steps of batch 128 (60,000 examples).
const stepsPerEpoch = Math.ceil(60000 / batch);
const epochMs = median(stepMs) * stepsPerEpoch;
const pct = (ms) => (100 * ms) / epochMs;
const logEvery = 50;
const result = {
  benchmark: 'cost of checkpoints and per-step logs against the mnist_vae step (wasm, 1 thread)',
  node: process.version,
  date: new Date().toISOString(),
  step_ms: spread(stepMs),
  checkpoint_ms: spread(saveMs),
  checkpoint_bytes: checkpointBytes,
  log_record_ms: spread(logMs),
  epoch_ms_estimate: epochMs,
  // Defaults: a checkpoint at each epoch's end and every 10 minutes (an MNIST epoch here is well under 10 minutes).
  default_checkpoints_percent_of_epoch: pct(median(saveMs)),
  checkpoint_every_50_steps_percent_of_epoch: pct((median(saveMs) * stepsPerEpoch) / 50),
  per_step_logging_percent_of_epoch: pct((median(logMs) * stepsPerEpoch) / logEvery),
};
console.log(
  `mnist_vae step: median ${median(stepMs).toFixed(1)} ms (${Math.min(...stepMs).toFixed(1)}–${Math.max(...stepMs).toFixed(1)}, ${steps} steps); ` +
    `epoch of ${stepsPerEpoch} steps ≈ ${(epochMs / 1000).toFixed(1)} s`,
);
console.log(
  `checkpoint: median ${median(saveMs).toFixed(1)} ms (${Math.min(...saveMs).toFixed(1)}–${Math.max(...saveMs).toFixed(1)}, ${saves} saves) = ` +
    `${result.default_checkpoints_percent_of_epoch.toFixed(2)}% of an epoch at the default interval (one per epoch); ` +
    `${result.checkpoint_every_50_steps_percent_of_epoch.toFixed(1)}% with every_steps=50; ${(checkpointBytes / 1e6).toFixed(1)} MB of weights and Adam slots`,
);
console.log(
  `per-step record (metrics.jsonl + TensorBoard): median ${median(logMs).toFixed(3)} ms = ${result.per_step_logging_percent_of_epoch.toFixed(3)}% of an epoch at log_every_steps=${logEvery}`,
);
const out = opt('out', join(here, 'results', 'checkpoint-cost.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${out}`);
process.exit(0);
