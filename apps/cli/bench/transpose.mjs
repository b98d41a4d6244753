// The wasm Transpose kernel, stock against @vaelab/core's 3-D route (installWasmTranspose), for the
// matrices a training step transposes and a few more: median of 5 rounds of 300 calls, in
// microseconds per call. Not part of npm run bench (it explains one kernel, it is not a record).
//   node bench/transpose.mjs
import * as tf from '@tensorflow/tfjs-core';
import * as core from '@vaelab/core';
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
process.exit(0);
