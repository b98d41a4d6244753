#!/usr/bin/env node
// Benchmark (not a test): does `vaelab edit` move MNIST digits to the target class?
//
//   node apps/cli/bench/edit-classifier.mjs <run> [--pairs all | 3-to-8,1-to-7,...] [--per-pair 100] [--amount 2] [--classifier mlp|cnn]
//
// Trains a small classifier here (`--classifier mlp`, the default: MLP 784-256-10, Adam, 2 epochs
// on the 60,000 training images; `--classifier cnn`: two 4x4 stride-2 convolutions with 16 and 32
// channels, a 128-unit layer, 3 epochs on the training images shifted by up to 2 pixels, a
// stronger judge to cross-check the first), then for each pair FROM-to-TO (`--pairs all`, the default:
// every ordered pair of distinct classes, 90 for MNIST, so no pair is chosen by hand) edits
// `--per-pair` test images of class FROM (the first ones in the test set) with the attribute
// vector (mean code of TO minus mean code of FROM, over 5000 training images: what `vaelab edit`
// does) at amounts 0 .. A, and reports how often the classifier labels the edit TO at the largest
// amount (with what the other edits were labelled), and how often the source class survives at
// amount 0 (the reconstruction). Writes bench/results/edit-classifier[-cnn].json. Needs the built CLI (npm run build), or VAELAB_CLI_MODULE=<file>.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = await import(process.env.VAELAB_CLI_MODULE ? pathToFileURL(resolve(process.env.VAELAB_CLI_MODULE)).href : join(here, '..', 'dist', 'index.js'));
const tf = await import('@tensorflow/tfjs-core');
const { conv2d } = await import('@vaelab/networks');

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const runDir = args.find((a) => !a.startsWith('--') && !args[args.indexOf(a) - 1]?.startsWith('--'));
if (!runDir) {
  console.error('usage: edit-classifier.mjs <run> [--pairs all | 3-to-8,...] [--per-pair 100] [--amount 2] [--classifier mlp|cnn]');
  process.exit(2);
}
const pairsFlag = flag('--pairs', 'all');
const perPair = Number(flag('--per-pair', '100'));
const amount = Number(flag('--amount', '2'));
const kind = flag('--classifier', 'mlp');
if (kind !== 'mlp' && kind !== 'cnn') {
  console.error(`--classifier ${kind}: allowed values are mlp, cnn`);
  process.exit(2);
}
const steps = 5;
const amounts = Array.from({ length: steps }, (_, i) => (amount * i) / (steps - 1));

const io = { cwd: process.cwd(), tty: false, quiet: true, out: () => {}, err: (l) => console.error(l) };
const run = await cli.loadTrainedRun(runDir, io, 'bench');
const classes = run.classNames.length;
const pairs =
  pairsFlag === 'all'
    ? Array.from({ length: classes * classes }, (_, k) => [Math.floor(k / classes), k % classes]).filter(([a, b]) => a !== b).map(([a, b]) => `${a}-to-${b}`)
    : pairsFlag.split(',');
for (const pair of pairs) {
  const m = /^(\d+)-to-(\d+)$/.exec(pair);
  if (!m || Number(m[1]) >= classes || Number(m[2]) >= classes || m[1] === m[2]) {
    console.error(`--pairs ${pair}: allowed values are all, or FROM-to-TO with two different classes in 0..${classes - 1}`);
    process.exit(2);
  }
}
const started = Date.now();
const { dataset } = run.exp;
const dims = dataset.shape.reduce((a, b) => a * b, 1);

// --- the classifier, seeded: MLP 784-256-10 (ReLU), or a small CNN; Adam 1e-3, batch 128
const rng = { s: 12345, next() { this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0; return this.s / 2 ** 32; } };
const init = (shape, fanIn, fanOut) =>
  tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() * 2 - 1) * Math.sqrt(6 / (fanIn + fanOut))), shape));
let logits, epochs, shift, description;
if (kind === 'mlp') {
  const W1 = init([dims, 256], dims, 256), b1 = tf.variable(tf.zeros([256])), W2 = init([256, 10], 256, 10), b2 = tf.variable(tf.zeros([10]));
  logits = (x) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, W1), b1)), W2), b2);
  [epochs, shift, description] = [2, 0, 'MLP 784-256-10, 2 epochs'];
} else {
  // 28x28 -> 14x14x16 -> 7x7x32 -> 128 -> 10; @vaelab/networks' conv2d trains on every backend
  const [h, w, c] = dataset.shape;
  const K1 = init([4, 4, c, 16], 16 * c, 256), c1 = tf.variable(tf.zeros([16]));
  const K2 = init([4, 4, 16, 32], 256, 512), c2 = tf.variable(tf.zeros([32]));
  const flat = Math.ceil(h / 4) * Math.ceil(w / 4) * 32;
  const W = init([flat, 128], flat, 128), b = tf.variable(tf.zeros([128])), W2 = init([128, 10], 128, 10), b2 = tf.variable(tf.zeros([10]));
  logits = (x) => {
    let y = tf.relu(tf.add(conv2d(tf.reshape(x, [-1, h, w, c]), K1, 2, false), c1));
    y = tf.relu(tf.add(conv2d(y, K2, 2), c2));
    return tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tf.reshape(y, [-1, flat]), W), b)), W2), b2);
  };
  [epochs, shift, description] = [3, 2, 'CNN conv16-conv32-128-10, 3 epochs, shifts of up to 2 pixels'];
}
const optimizer = tf.train.adam(1e-3);
const train = dataset.train;
const batch = 128;
const [rows, cols] = dataset.shape;
/** Training image i, moved by (dy, dx) pixels (zeros shifted in), written at `out`. */
function shifted(i, dy, dx, xb, out) {
  const src = train.x.subarray(i * dims, (i + 1) * dims);
  if (dy === 0 && dx === 0) return xb.set(src, out);
  const c = dims / (rows * cols);
  for (let r = 0; r < rows; r++)
    for (let q = 0; q < cols; q++)
      for (let k = 0; k < c; k++) {
        const [rr, qq] = [r - dy, q - dx];
        xb[out + (r * cols + q) * c + k] = rr >= 0 && rr < rows && qq >= 0 && qq < cols ? src[(rr * cols + qq) * c + k] : 0;
      }
}
for (let epoch = 0; epoch < epochs; epoch++) {
  const order = Array.from({ length: train.size }, (_, i) => i).sort(() => rng.next() - 0.5);
  for (let start = 0; start + batch <= train.size; start += batch) {
    const idx = order.slice(start, start + batch);
    const xb = new Float32Array(batch * dims);
    idx.forEach((i, k) => {
      const [dy, dx] = shift > 0 ? [Math.floor(rng.next() * (2 * shift + 1)) - shift, Math.floor(rng.next() * (2 * shift + 1)) - shift] : [0, 0];
      shifted(i, dy, dx, xb, k * dims);
    });
    tf.tidy(() => {
      const x = tf.tensor2d(xb, [batch, dims]);
      const y = tf.oneHot(tf.tensor1d(idx.map((i) => train.labels[i]), 'int32'), 10);
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, logits(x)));
    });
  }
}
/** Predicted classes of [n, ...shape] images, 500 at a time. */
function classify(images) {
  const flat = tf.reshape(images, [images.shape[0], dims]);
  const out = [];
  for (let s = 0; s < flat.shape[0]; s += 500) {
    out.push(...tf.tidy(() => tf.argMax(logits(tf.slice(flat, [s, 0], [Math.min(500, flat.shape[0] - s), dims])), 1).dataSync()));
  }
  flat.dispose();
  return out;
}
const test = dataset.test;
const testImages = tf.tensor2d(test.x, [test.size, dims]);
const testPred = classify(testImages);
testImages.dispose();
const accuracy = testPred.filter((p, i) => p === test.labels[i]).length / test.size;
console.log(`classifier: test accuracy ${(100 * accuracy).toFixed(2)}% (${description}, ${((Date.now() - started) / 1000).toFixed(0)} s)`);

// --- the edits
const results = [];
for (const pair of pairs) {
  const [from, to] = pair.split('-to-').map(Number);
  const { vector } = cli.attributeVectorOf(run, pair, 5000);
  const indices = [];
  for (let i = 0; i < test.size && indices.length < perPair; i++) if (test.labels[i] === from) indices.push(i);
  const images = cli.editExamples(run, vector, 'test', indices, amounts);
  const pred = classify(images);
  images.dispose();
  const at = (k) => indices.map((_, i) => pred[i * steps + k]);
  const row = {
    pair,
    examples: indices.length,
    source_kept_at_0: at(0).filter((p) => p === from).length / indices.length,
    target_at_max: at(steps - 1).filter((p) => p === to).length / indices.length,
    target_by_amount: amounts.map((a, k) => ({ amount: a, target: at(k).filter((p) => p === to).length / indices.length })),
    labels_at_max: Object.fromEntries(Array.from({ length: 10 }, (_, c) => [c, at(steps - 1).filter((p) => p === c).length]).filter(([, n]) => n > 0)),
  };
  results.push(row);
  console.log(`${pair}: source kept at amount 0: ${(100 * row.source_kept_at_0).toFixed(1)}%; labelled ${to} at amount ${amount}: ${(100 * row.target_at_max).toFixed(1)}%  (by amount: ${row.target_by_amount.map((r) => `${r.amount}: ${(100 * r.target).toFixed(0)}%`).join(', ')}; labels at ${amount}: ${JSON.stringify(row.labels_at_max)})`);
}
const mean = (k) => results.reduce((s, r) => s + r[k], 0) / results.length;
const byAmount = amounts.map((a, k) => ({ amount: a, target: results.reduce((s, r) => s + r.target_by_amount[k].target, 0) / results.length }));
const ranked = [...results].sort((p, q) => p.target_at_max - q.target_at_max);
const pct = (v) => `${(100 * v).toFixed(1)}%`;
console.log(`over ${results.length} pairs, labelled as the target by amount: ${byAmount.map((r) => `${r.amount}: ${pct(r.target)}`).join(', ')}`);
console.log(`pairs at >= 90% at amount ${amount}: ${results.filter((r) => r.target_at_max >= 0.9).length} of ${results.length}; median pair ${pct(ranked[Math.floor(ranked.length / 2)].target_at_max)}; worst: ${ranked.slice(0, 5).map((r) => `${r.pair} ${pct(r.target_at_max)}`).join(', ')}`);
console.log(`overall: source kept at 0: ${pct(mean('source_kept_at_0'))}; target at amount ${amount}: ${pct(mean('target_at_max'))}`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', kind === 'mlp' ? 'edit-classifier.json' : `edit-classifier-${kind}.json`), `${JSON.stringify({ run: resolve(runDir), step: run.step, classifier: description, classifier_accuracy: accuracy, amount, pairs: pairsFlag, per_pair: perPair, source_kept_at_0: mean('source_kept_at_0'), target_at_max: mean('target_at_max'), target_by_amount: byAmount, results, seconds: (Date.now() - started) / 1000 }, null, 2)}\n`);
run.dispose();
