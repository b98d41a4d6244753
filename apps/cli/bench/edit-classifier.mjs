#!/usr/bin/env node
// Benchmark (not a test): does `vaelab edit` move MNIST digits to the target class?
//
//   node apps/cli/bench/edit-classifier.mjs <run> [--pairs 3-to-8,1-to-7,4-to-9,2-to-6] [--per-pair 100] [--amount 2]
//
// Trains a small classifier here (MLP 784-256-10, Adam, 2 epochs on the 60,000 training images),
// then for each pair FROM-to-TO edits `--per-pair` test images of class FROM with the attribute
// vector (mean code of TO minus mean code of FROM, over 5000 training images: what `vaelab edit`
// does) at amounts 0 .. A, and reports how often the classifier labels the edit TO at the largest
// amount, and how often the source class survives at amount 0 (the reconstruction). Writes
// bench/results/edit-classifier.json. Needs the built CLI (npm run build), or VAELAB_CLI_MODULE=<file>.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = await import(process.env.VAELAB_CLI_MODULE ? pathToFileURL(resolve(process.env.VAELAB_CLI_MODULE)).href : join(here, '..', 'dist', 'index.js'));
const tf = await import('@tensorflow/tfjs-core');

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const runDir = args.find((a) => !a.startsWith('--') && !args[args.indexOf(a) - 1]?.startsWith('--'));
if (!runDir) {
  console.error('usage: edit-classifier.mjs <run> [--pairs 3-to-8,...] [--per-pair 100] [--amount 2]');
  process.exit(2);
}
const pairs = flag('--pairs', '3-to-8,1-to-7,4-to-9,2-to-6,0-to-5').split(',');
const perPair = Number(flag('--per-pair', '100'));
const amount = Number(flag('--amount', '2'));
const steps = 5;
const amounts = Array.from({ length: steps }, (_, i) => (amount * i) / (steps - 1));

const io = { cwd: process.cwd(), tty: false, quiet: true, out: () => {}, err: (l) => console.error(l) };
const run = await cli.loadTrainedRun(runDir, io, 'bench');
const started = Date.now();
const { dataset } = run.exp;
const dims = dataset.shape.reduce((a, b) => a * b, 1);

// --- the classifier: MLP 784-256-10 (ReLU), Adam 1e-3, batch 128, 2 epochs, seeded init
const rng = { s: 12345, next() { this.s = (Math.imul(this.s, 1664525) + 1013904223) >>> 0; return this.s / 2 ** 32; } };
const init = (rows, cols) => tf.variable(tf.tensor2d(Float32Array.from({ length: rows * cols }, () => (rng.next() * 2 - 1) * Math.sqrt(6 / (rows + cols))), [rows, cols]));
const W1 = init(dims, 256), b1 = tf.variable(tf.zeros([256])), W2 = init(256, 10), b2 = tf.variable(tf.zeros([10]));
const logits = (x) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, W1), b1)), W2), b2);
const optimizer = tf.train.adam(1e-3);
const train = dataset.train;
const batch = 128;
for (let epoch = 0; epoch < 2; epoch++) {
  const order = Array.from({ length: train.size }, (_, i) => i).sort(() => rng.next() - 0.5);
  for (let start = 0; start + batch <= train.size; start += batch) {
    const idx = order.slice(start, start + batch);
    tf.tidy(() => {
      const x = tf.tensor2d(Float32Array.from(idx.flatMap((i) => Array.from(train.x.subarray(i * dims, (i + 1) * dims)))), [batch, dims]);
      const y = tf.oneHot(tf.tensor1d(idx.map((i) => train.labels[i]), 'int32'), 10);
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, logits(x)));
    });
  }
}
const classify = (images) => tf.tidy(() => Array.from(tf.argMax(logits(tf.reshape(images, [images.shape[0], dims])), 1).dataSync()));
const test = dataset.test;
const testPred = classify(tf.tensor2d(test.x, [test.size, dims]));
const accuracy = testPred.filter((p, i) => p === test.labels[i]).length / test.size;
console.log(`classifier: test accuracy ${(100 * accuracy).toFixed(2)}% (MLP 784-256-10, 2 epochs, ${((Date.now() - started) / 1000).toFixed(0)} s)`);

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
  };
  results.push(row);
  console.log(`${pair}: source kept at amount 0: ${(100 * row.source_kept_at_0).toFixed(1)}%; labelled ${to} at amount ${amount}: ${(100 * row.target_at_max).toFixed(1)}%  (by amount: ${row.target_by_amount.map((r) => `${r.amount}: ${(100 * r.target).toFixed(0)}%`).join(', ')})`);
}
const mean = (k) => results.reduce((s, r) => s + r[k], 0) / results.length;
console.log(`overall: source kept at 0: ${(100 * mean('source_kept_at_0')).toFixed(1)}%; target at amount ${amount}: ${(100 * mean('target_at_max')).toFixed(1)}%`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'edit-classifier.json'), `${JSON.stringify({ run: resolve(runDir), step: run.step, classifier_accuracy: accuracy, amount, results, seconds: (Date.now() - started) / 1000 }, null, 2)}\n`);
run.dispose();
