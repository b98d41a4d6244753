// Where a training step's time goes, without tf.profile (which adds its own cost to every kernel
// and showed the matMuls at ~10 ms of a 14 ms step): every wasm kernel is wrapped with a timer,
// 300 default mnist_vae steps run, and the time per kernel name, the calls per step and the time
// outside kernels (engine bookkeeping, JavaScript, the fused Adam update) are printed.
// Not part of npm run bench (a diagnosis, not a record).
//   node bench/kernel-times.mjs [fused] [native] [xnnpack]   (fused: VAE Lab's opt-in fused Bernoulli
//   kernels; native: @vaelab/native's OpenBLAS matMul, when built; xnnpack: tfjs-wasm's own matMul
//   instead of VAE Lab's, which `vaelab train` uses for dense networks)
import * as tf from '@tensorflow/tfjs-core';
import * as core from '@vaelab/core';
import { trainStep, FusedAdamOptimizer } from '@vaelab/trainers';
import { benchModel } from './model.mjs';
await core.selectBackend('wasm', undefined, process.argv.includes('xnnpack') ? {} : { wasmMatMul: 'vaelab' });
core.setFusedKernels(process.argv.includes('fused'));
if (process.argv.includes('native')) {
  const nativePkg = await import('@vaelab/native');
  const r = nativePkg.installNative();
  if (!r.ok) throw new Error(`native: ${r.reason}`);
  for (const [name, kernel] of Object.entries(nativePkg.nativeHeapKernels())) core.setHeapKernel(name, kernel);
  console.log(`native: ${r.blas}, ${r.threads} thread(s)`);
}
const streams = new core.RandomStreams(1);
const { model, objective, x, noise } = await benchModel(streams);
const optimizer = new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-8);
const parts = { model, objective, optimizer, options: { clip_norm: null } };
trainStep(parts, x, noise, { step: 0, epoch: 0 });
const timers = {}, counts = {};
for (const k of tf.getKernelsForBackend('wasm')) {
  const name = k.kernelName;
  tf.unregisterKernel(name, 'wasm');
  timers[name] = 0; counts[name] = 0;
  tf.registerKernel({ ...k, kernelFunc: (args) => { const t = performance.now(); const out = k.kernelFunc(args); timers[name] += performance.now() - t; counts[name]++; return out; } });
}
for (let i = 0; i < 30; i++) trainStep(parts, x, noise, { step: i, epoch: 0 });
for (const k in timers) { timers[k] = 0; counts[k] = 0; }
const N = 300, t0 = performance.now();
for (let i = 0; i < N; i++) trainStep(parts, x, noise, { step: i, epoch: 0 });
const step = (performance.now() - t0) / N;
const tot = Object.values(timers).reduce((a, b) => a + b, 0) / N, calls = Object.values(counts).reduce((a, b) => a + b, 0) / N;
console.log(`step ${step.toFixed(2)} ms; kernels ${tot.toFixed(2)} ms in ${calls} calls; outside kernels ${(step - tot).toFixed(2)} ms`);
for (const [k, v] of Object.entries(timers).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, 22)) console.log(k.padEnd(26), (v / N).toFixed(3), 'ms', (counts[k] / N).toFixed(0), 'calls');
process.exit(0);
