import * as tf from '@tensorflow/tfjs-core';
import * as core from '@vaelab/core';
import { trainStep, FusedAdamOptimizer } from '@vaelab/trainers';
import { benchModel } from './model.mjs';
await core.selectBackend('wasm');
const streams = new core.RandomStreams(1);
const { model, objective, x, noise } = await benchModel(streams);
const optimizer = new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-8);
const parts = { model, objective, optimizer, options: { clip_norm: null } };
trainStep(parts, x, noise, { step: 0, epoch: 0 });
const log = [];
for (const name of (process.argv[2] ?? 'Transpose').split(',')) {
  const k = tf.getKernel(name, 'wasm');
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...k, kernelFunc: (a) => { const t = performance.now(); const o = k.kernelFunc(a); const dt = performance.now() - t; log.push([name, JSON.stringify(Object.values(a.inputs).map((i) => i.shape)), JSON.stringify(a.attrs?.perm ?? a.attrs?.axis ?? ''), dt]); return o; } });
}
for (let i = 0; i < 50; i++) { log.length = 0; trainStep(parts, x, noise, { step: i, epoch: 0 }); }
for (const [n, s, p, dt] of log) console.log(n, s, p, (dt * 1000).toFixed(0) + ' µs');
process.exit(0);
