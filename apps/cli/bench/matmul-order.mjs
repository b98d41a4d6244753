// Does tfjs-wasm's matMul (XNNPACK's fully-connected operator) equal a plain float32 dot product
// that adds the products in k order, c = ((0 + a₀b₀) + a₁b₁) + …, bit for bit? If so, another
// matMul kernel with that order (and no fused multiply-add) would change no result in this
// repository, whatever its blocking over rows and columns. Checks the step's product shapes on
// the current thread count (run with VAELAB_WASM_THREADS=1 and =2). A diagnosis, not part of npm
// run bench.
//   node bench/matmul-order.mjs
import * as tf from '@tensorflow/tfjs-core';
import * as core from '@vaelab/core';

const selection = await core.selectBackend('wasm');
const shapes = [
  [400, 784, 128], // W1·x (feature-major forward)
  [784, 400, 128], // W4·h
  [40, 400, 128], // the posterior's parameters
  [400, 20, 128], // the decoder's first layer
  [784, 128, 400], // dW4 = dOut·hᵀ
];
const f = Math.fround;
let allSame = true;
for (const [M, K, N] of shapes) {
  const [c, A, B] = tf.tidy(() => {
    const a = tf.randomNormal([M, K], 0, 1, 'float32', M + K);
    const b = tf.randomNormal([K, N], 0, 1, 'float32', K + N);
    return [tf.matMul(a, b).dataSync(), a.dataSync(), b.dataSync()];
  });
  let same = 0, total = 0;
  for (let i = 0; i < M; i += 3) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc = f(acc + f(A[i * K + k] * B[k * N + j]));
      total++;
      if (Object.is(acc, c[i * N + j])) same++;
    }
  }
  allSame &&= same === total;
  console.log(`[${M},${K}]·[${K},${N}]: ${same} of ${total} sampled entries equal the k-ordered float32 sum`);
}
console.log(`${selection.threads} wasm thread(s): ${allSame ? 'bit-identical' : 'NOT bit-identical'}`);
