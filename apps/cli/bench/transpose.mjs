// The wasm Transpose kernel, stock against @vaelab/core's 3-D route (installWasmTranspose):
// 1. for the matrices a training step transposes and a few more: median of 5 rounds of 300 calls,
//    in microseconds per call;
// 2. the default mnist_vae training step (bench/model.mjs, fused Adam) with each kernel, paired in
//    one process: 12 rounds alternating which goes first, 40 timed steps each after 3 untimed;
//    medians and the paired differences (separate processes differ by more than this saves).
// Not part of npm run bench (it explains one kernel, it is not a record). The thread count comes
// from VAELAB_WASM_THREADS, else the cores.
//   node bench/transpose.mjs
import * as tf from '@tensorflow/tfjs-core';
import * as core from '@vaelab/core';
import { FusedAdamOptimizer, trainStep } from '@vaelab/trainers';
import { benchModel } from './model.mjs';
await core.selectBackend('wasm');
const time = (f, n = 300) => {
  for (let i = 0; i < 30; i++) tf.dispose(f());
  const ts = [];
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) tf.dispose(f());
    ts.push(((performance.now() - t) / n) * 1000);
  }
  return ts.sort((a, b) => a - b)[2];
};
console.log(`wasm threads: ${core.wasmThreadsState?.().threads ?? '?'}`);
console.log('shape        stock us   ours us   route');
for (const [r, c] of [[128, 784], [256, 784], [128, 400], [512, 512], [784, 128], [400, 784], [784, 400], [128, 40], [1000, 784]]) {
  const a = tf.randomUniform([r, c]);
  core.uninstallWasmTranspose();
  const stock = time(() => tf.transpose(a));
  core.installWasmTranspose();
  const ours = time(() => tf.transpose(a));
  const k = core.transposeSplit(r, c);
  console.log(`${`${r}x${c}`.padEnd(12)} ${stock.toFixed(1).padStart(8)} ${ours.toFixed(1).padStart(9)}   ${k ? `[${r}, ${k}, ${c / k}] perm [1, 2, 0]` : 'stock'}`);
  a.dispose();
}

const streams = new core.RandomStreams(1);
const { model, objective, x, noise } = await benchModel(streams);
const parts = { model, objective, optimizer: new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-8), options: { clip_norm: null } };
let step = 0;
for (let i = 0; i < 20; i++) trainStep(parts, x, noise, { step: step++, epoch: 0 });
const ms = { ours: [], stock: [] };
for (let round = 0; round < 12; round++) {
  for (const v of round % 2 ? ['stock', 'ours'] : ['ours', 'stock']) {
    if (v === 'stock') core.uninstallWasmTranspose();
    else core.installWasmTranspose();
    for (let i = 0; i < 3; i++) trainStep(parts, x, noise, { step: step++, epoch: 0 });
    const t = performance.now();
    for (let i = 0; i < 40; i++) trainStep(parts, x, noise, { step: step++, epoch: 0 });
    ms[v].push((performance.now() - t) / 40);
  }
}
core.installWasmTranspose();
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
const diffs = ms.stock.map((s, i) => s - ms.ours[i]);
console.log(`\nmnist_vae training step, ms (median of 12 paired rounds): stock ${median(ms.stock).toFixed(2)}, ours ${median(ms.ours).toFixed(2)}; stock − ours per round: median ${median(diffs).toFixed(2)} (${Math.min(...diffs).toFixed(2)} to ${Math.max(...diffs).toFixed(2)})`);
process.exit(0);
