// Where a training step's time goes: tf.profile of the default mnist_vae step (wasm, fused Adam,
// the thread count from VAELAB_WASM_THREADS or the cores), kernels summed by name per step.
// Not part of npm run bench (a diagnosis, not a record).
//   node bench/profile-step.mjs
import * as tf from '@tensorflow/tfjs-core';
import * as core from '@vaelab/core';
import { trainStep, FusedAdamOptimizer } from '@vaelab/trainers';
import { benchModel } from './model.mjs';
await core.selectBackend('wasm');
const streams = new core.RandomStreams(1);
const { model, objective, x, noise } = await benchModel(streams);
const optimizer = new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-8);
const parts = { model, objective, optimizer, options: { clip_norm: null } };
for (let i = 0; i < 10; i++) trainStep(parts, x, noise, { step: i, epoch: 0 });
const N = 30;
const t0 = performance.now();
for (let i = 0; i < N; i++) trainStep(parts, x, noise, { step: i, epoch: 0 });
const ms = (performance.now() - t0) / N;
const agg = {};
const prof = await tf.profile(() => { for (let i = 0; i < N; i++) trainStep(parts, x, noise, { step: i, epoch: 0 }); });
let total = 0, calls = 0;
for (const k of prof.kernels) { const a = (agg[k.name] ??= { ms: 0, n: 0 }); a.ms += k.kernelTimeMs; a.n++; total += k.kernelTimeMs; calls++; }
console.log(`step ${ms.toFixed(2)} ms; kernels ${(total / N).toFixed(2)} ms in ${calls / N} calls per step`);
for (const [k, a] of Object.entries(agg).sort((p, q) => q[1].ms - p[1].ms).slice(0, 25)) console.log(k.padEnd(22), (a.ms / N).toFixed(3), 'ms', (a.n / N).toFixed(1), 'calls');
process.exit(0);
