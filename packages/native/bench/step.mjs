// The mnist_vae training step (MLP 784-400-20-400-784, batch 128, Adam) with and without the
// native matMul, in one process, in alternating blocks of steps (so that both see the same load on
// a shared machine), plus the step's matMul shapes on their own. Run from the repository after
// `npm run build` (it uses the built @vaelab packages and the CLI's benchmark model):
//
//   node packages/native/bench/step.mjs [--steps 50] [--rounds 5] [--threads N]
//
// --threads sets OpenBLAS's thread count (default: OPENBLAS_NUM_THREADS, else 1, as installNative).
// Prints medians and ranges of samples/s, and the loss after the same steps on each path.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const steps = opt('steps', 50);
const rounds = opt('rounds', 5);
const threads = opt('threads', undefined);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const tf = await import('@tensorflow/tfjs-core');
const core = await import('@vaelab/core');
const { trainStep } = await import('@vaelab/trainers');
const native = await import('@vaelab/native');
const { benchModel } = await import(pathToFileURL(join(root, 'apps', 'cli', 'bench', 'model.mjs')).href);

const selection = await core.selectBackend('wasm');
const install = native.installNative(threads ? { threads } : {});
if (!install.ok) {
  console.error(`native not available: ${install.reason}`);
  process.exit(1);
}
console.log(`wasm ${selection.threads ?? 1} thread(s); native: ${install.blas}, ${install.threads} thread(s) (${install.threadsFrom})`);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (xs) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;

// 1. Training steps: two models from the same seed, one trained on each path.
const setups = {};
for (const variant of ['stock', 'native']) {
  const streams = new core.RandomStreams(1);
  const { model, objective, x, noise } = await benchModel(streams);
  setups[variant] = { parts: { model, objective, optimizer: tf.train.adam(1e-3), options: { clip_norm: null } }, x, noise, step: 0, rates: [] };
}
const use = (variant) => {
  if (variant === 'native') native.installNative(threads ? { threads } : {});
  else native.uninstallNative();
};
const run = (variant, n) => {
  const s = setups[variant];
  use(variant);
  let last;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    last = trainStep(s.parts, s.x, s.noise, { step: s.step, epoch: 0 });
    s.step++;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { rate: (n * 128) / seconds, loss: last.values[last.names.indexOf('loss')] ?? last.values[0] };
};
for (const variant of ['stock', 'native']) run(variant, 5); // warm-up
const tensors = tf.memory().numTensors;
for (let r = 0; r < rounds; r++) {
  for (const variant of r % 2 ? ['native', 'stock'] : ['stock', 'native']) {
    const before = native.nativeCounters().native;
    setups[variant].rates.push(run(variant, steps).rate);
    setups[variant].nativeCalls = (setups[variant].nativeCalls ?? 0) + native.nativeCounters().native - before;
  }
}
console.log(`tensors leaked over ${rounds * steps * 2} steps: ${tf.memory().numTensors - tensors}`);
console.log(`training step, samples/s, median (min-max) of ${rounds} blocks of ${steps} steps:`);
for (const variant of ['stock', 'native']) {
  console.log(`  ${variant.padEnd(7)} ${fmt(setups[variant].rates)}  (native matMuls per step: ${setups[variant].nativeCalls / (rounds * steps)})`);
}
console.log(`  speed-up ${(median(setups.native.rates) / median(setups.stock.rates)).toFixed(2)}x`);
// The same seed and steps on both paths: how far apart the arithmetic has drifted.
const final = {};
for (const variant of ['stock', 'native']) final[variant] = run(variant, 1).loss;
console.log(`loss after ${setups.stock.step} steps: stock ${final.stock}, native ${final.native} (relative difference ${Math.abs(final.native - final.stock) / Math.abs(final.stock)})`);

// 2. The products of one step, each alone (forward; backward through the gradient each path uses).
const shapes = [
  ['[128,784]x[784,400]', [128, 784], [784, 400], false, false],
  ['[400,784]x[784,128]', [400, 784], [784, 128], false, false],
  ['[128,400]x[400,784]', [128, 400], [400, 784], false, false],
  ['[128,400]^T x[128,784]', [128, 400], [128, 784], true, false],
  ['[128,784]x[400,784]^T', [128, 784], [400, 784], false, true],
];
console.log('matMul GFLOP/s, median of 5 blocks (stock wasm with transpose flags uses its slow path):');
for (const [name, sa, sb, ta, tb] of shapes) {
  const a = tf.randomNormal(sa);
  const b = tf.randomNormal(sb);
  const m = ta ? sa[1] : sa[0];
  const k = ta ? sa[0] : sa[1];
  const n = tb ? sb[0] : sb[1];
  const out = {};
  for (const variant of ['stock', 'native']) out[variant] = [];
  for (let r = 0; r < 5; r++) {
    for (const variant of ['stock', 'native']) {
      use(variant);
      const reps = 20;
      tf.matMul(a, b, ta, tb).dispose();
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) tf.matMul(a, b, ta, tb).dispose();
      out[variant].push((2 * m * n * k * reps) / ((performance.now() - t0) / 1000) / 1e9);
    }
  }
  console.log(`  ${name.padEnd(24)} stock ${median(out.stock).toFixed(1).padStart(6)}  native ${median(out.native).toFixed(1).padStart(6)}`);
  tf.dispose([a, b]);
}
native.uninstallNative();
