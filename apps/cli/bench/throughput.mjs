// Training throughput (samples/s) of the mnist_vae model: MLP 784-400-20-400-784, diagonal
// Gaussian posterior, standard normal prior, Bernoulli likelihood, Adam, batch 128.
// Usage: node bench/throughput.mjs [--backends wasm,wasm-xnnpack-matmul,wasm-fused,wasm-1thread,wasm-tf-adam,wasm-native,wasm-native-no-fused,wasm-stock-transpose,wasm-stock,cpu] [--steps N] [--repeats R] [--out FILE]
// `wasm` is the default path: feature-major MLP, the fused Adam (`optimizer.fused: auto`: one
// WebAssembly SIMD pass per variable), one wasm thread per core, VAE Lab's matMul kernel (as `vaelab
// train` runs dense networks; `wasm-xnnpack-matmul`: tfjs-wasm's XNNPACK matMul on the threads). `wasm-1thread` the same on the
// single-threaded build (VAELAB_WASM_THREADS=1); `wasm-tf-adam` with tf.train.adam instead of the
// fused update; `wasm-fused` the default with VAE Lab's fused Bernoulli term kernels
// (VAELAB_FUSED_KERNELS=1: other arithmetic, so another hash); `wasm-native` with @vaelab/native's OpenBLAS matMul (needs `npm run build:native
// -w @vaelab/native`), its Adam update and the fused Bernoulli kernels, on one wasm thread with
// OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, as `VAELAB_NATIVE=1 vaelab train` runs it;
// `wasm-native-no-fused` the same with tfjs's Bernoulli kernels; `wasm-stock-transpose` the default with tfjs-wasm's own Transpose kernel
// (uninstallWasmTranspose: what the 3-D route buys, same weights); `wasm-stock` tfjs's own matMul gradient (transposed matMuls, DESIGN §7) and
// tf.train.adam, to show what our gradient buys. Each measurement runs in its own process (a tfjs process has
// one active backend at a time), R times per variant in rotated order (default 3 for the wasm
// variants, 1 for the slow ones); the median and the range are reported, because this 2-core
// machine is shared and noisy. `weights_sha256` hashes the model after the timed steps: variants
// that promise the same arithmetic (wasm, wasm-xnnpack-matmul, wasm-1thread, wasm-tf-adam, wasm-stock-transpose) must print the same hash.
// Results go to bench/results/throughput.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchModel } from './model.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};

const VARIANTS = ['wasm', 'wasm-xnnpack-matmul', 'wasm-fused', 'wasm-1thread', 'wasm-tf-adam', 'wasm-native', 'wasm-native-no-fused', 'wasm-stock-transpose', 'wasm-stock', 'cpu'];
if (args.includes('--help')) {
  console.log(`usage: node bench/throughput.mjs [--backends ${VARIANTS.join(',')}] [--steps N] [--repeats R] [--out FILE]`);
  process.exit(0);
}

if (args[0] === '--child') {
  const variant = args[1];
  const backend = variant === 'cpu' ? 'cpu' : 'wasm';
  const steps = Number(args[2]);
  const tf = await import('@tensorflow/tfjs-core');
  const core = await import('@vaelab/core');
  const { trainStep, FusedAdamOptimizer } = await import('@vaelab/trainers');
  const { createHash } = await import('node:crypto');
  // tfjs's own gradients are registered by @tensorflow/tfjs (ensureGradients); take the stock
  // matMul gradient before selectBackend installs the fast one over it
  await core.ensureGradients();
  const stockGradient = tf.getGradient('BatchMatMul');
  const ownMatMul = backend === 'wasm' && !['wasm-xnnpack-matmul', 'wasm-stock'].includes(variant) && !variant.startsWith('wasm-native');
  const selection = await core.selectBackend(backend, undefined, ownMatMul ? { wasmMatMul: 'vaelab' } : {});
  core.setFusedKernels(variant === 'wasm-fused' || variant === 'wasm-native');
  if (variant === 'wasm-stock') tf.registerGradient(stockGradient);
  if (variant === 'wasm-stock-transpose') core.uninstallWasmTranspose();
  if (variant.startsWith('wasm-native')) {
    const nativePkg = await import('@vaelab/native');
    const native = nativePkg.installNative();
    if (!native.ok) throw new Error(`${variant}: ${native.reason}`);
    const kernels = nativePkg.nativeHeapKernels();
    if (!kernels.adam || !kernels.bernoulliTerm) throw new Error(`${variant}: the addon lacks its Adam or Bernoulli kernels; rebuild it (npm run build:native -w @vaelab/native)`);
    for (const [name, kernel] of Object.entries(kernels)) core.setHeapKernel(name, kernel);
  }
  const streams = new core.RandomStreams(1);
  const { model, objective, x, noise } = await benchModel(streams);
  const batch = x.shape[0];
  const tfAdam = variant === 'wasm-tf-adam' || variant === 'wasm-stock' || variant === 'cpu';
  const optimizer = tfAdam ? tf.train.adam(1e-3, 0.9, 0.999, 1e-8) : new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-8);
  const parts = { model, objective, optimizer, options: { clip_norm: null } };
  const warmup = 5;
  for (let i = 0; i < warmup; i++) trainStep(parts, x, noise, { step: i, epoch: 0 });
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) trainStep(parts, x, noise, { step: i, epoch: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const leaked = tf.memory().numTensors - before;
  const hash = createHash('sha256');
  for (const v of model.variables) hash.update(new Uint8Array(Float32Array.from(v.dataSync()).buffer));
  process.stdout.write(
    JSON.stringify({
      backend: variant,
      batch,
      steps,
      seconds,
      samples_per_second: (steps * batch) / seconds,
      ms_per_step: (1000 * seconds) / steps,
      tensors_leaked: leaked,
      threads: selection.threads ?? null,
      weights_sha256: hash.digest('hex').slice(0, 16),
      // which of the fused optimizer's paths ran ('wasm-simd' expected on wasm); null for tf.train.adam
      optimizer_path: optimizer.lastPath ?? null,
    }) + '\n',
  );
  process.exit(0);
}

const backends = opt('backends', 'wasm,wasm-xnnpack-matmul,wasm-fused,wasm-1thread,wasm-tf-adam,wasm-native,wasm-native-no-fused,wasm-stock-transpose,wasm-stock,cpu').split(',');
for (const b of backends) if (!VARIANTS.includes(b)) throw new Error(`unknown variant ${b}; allowed: ${VARIANTS.join(', ')}`);
const fast = (b) => b.startsWith('wasm') && b !== 'wasm-stock';
delete process.env.VAELAB_WASM_MATMUL; // each variant says who computes its matMuls
const repeats = (b) => Number(opt('repeats', fast(b) ? '3' : '1'));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const runsOf = Object.fromEntries(backends.map((b) => [b, []]));
const rounds = Math.max(...backends.map(repeats));
for (let round = 0; round < rounds; round++) {
  // rotate the order each round, so that no variant always runs first (or after the slow one)
  const order = backends.map((_, i) => backends[(i + round) % backends.length]).filter((b) => runsOf[b].length < repeats(b));
  for (const backend of order) {
    const steps = Number(opt('steps', fast(backend) ? '200' : '30'));
    const env = { ...process.env };
    if (backend === 'wasm-1thread') env.VAELAB_WASM_THREADS = '1';
    if (backend.startsWith('wasm-native')) {
      env.VAELAB_WASM_THREADS = '1';
      delete env.OPENBLAS_CORETYPE;
      delete env.OPENBLAS_L2_SIZE;
    }
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', backend, String(steps)], { encoding: 'utf8', env });
    if (child.status !== 0) {
      console.error(child.stderr);
      process.exit(child.status ?? 1);
    }
    const r = JSON.parse(child.stdout.trim().split('\n').pop());
    runsOf[backend].push(r);
    console.log(`${r.backend.padEnd(12)} ${r.samples_per_second.toFixed(0).padStart(7)} samples/s  (${r.ms_per_step.toFixed(1)} ms/step, ${r.threads} thread(s), batch ${r.batch}, ${r.steps} steps, ${r.tensors_leaked} tensors leaked, weights ${r.weights_sha256})`);
  }
}
const results = backends.map((backend) => {
  const runs = runsOf[backend];
  const rates = runs.map((r) => r.samples_per_second);
  const med = median(rates);
  return {
    backend,
    batch: runs[0].batch,
    steps: runs[0].steps,
    repeats: runs.length,
    samples_per_second: med,
    samples_per_second_min: Math.min(...rates),
    samples_per_second_max: Math.max(...rates),
    ms_per_step: (1000 * runs[0].batch) / med,
    tensors_leaked: Math.max(...runs.map((r) => r.tensors_leaked)),
    weights_sha256: [...new Set(runs.map((r) => r.weights_sha256))].join(','),
    runs,
  };
});
console.log('\n| variant | samples/s, median (min–max) | ms/step | runs | weights after the timed steps |');
console.log('| --- | ---: | ---: | ---: | --- |');
for (const r of results) {
  console.log(`| ${r.backend} | ${r.samples_per_second.toFixed(0)} (${r.samples_per_second_min.toFixed(0)}–${r.samples_per_second_max.toFixed(0)}) | ${r.ms_per_step.toFixed(1)} | ${r.repeats} | ${r.weights_sha256} |`);
}
const out = opt('out', join(here, 'results', 'throughput.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify({ benchmark: 'mnist_vae training throughput', model: '784-400-20-400-784 MLP VAE, Adam, batch 128', node: process.version, date: new Date().toISOString(), results }, null, 2) + '\n',
);
console.log(`wrote ${out}`);
