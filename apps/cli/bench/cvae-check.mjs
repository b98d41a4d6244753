// The conditional VAE check of cvae_mnist: does p(x | z, y) draw the digit y asked for?
// 1. Trains a small MNIST classifier (MLP 784-512-10, ReLU, Adam 1e-3, batch 128, 2 epochs on the
//    60,000 training images; its accuracy on the 10,000 test images is reported).
// 2. Loads a trained cvae_mnist run, draws 100 z ~ N(0, I) for each label 0-9 (1,000 samples),
//    decodes each with its label to the likelihood's mean, and has the classifier label them.
// 3. Writes a 10-row grid (row y: ten samples conditioned on y) to <run>/images/cvae-labels.png,
//    and the figures to bench/results/cvae-check.json.
// Usage: node bench/cvae-check.mjs <run folder of cvae_mnist> [--seed 1] [--classifier-epochs 2] [--classifier-limit N]
// A benchmark, never part of the tests.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const runDir = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
if (!runDir) {
  console.error('usage: node bench/cvae-check.mjs <run folder of cvae_mnist> [--seed 1]');
  process.exit(2);
}
const flag = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const seed = flag('seed', 1);
// a quicker, weaker classifier for a smoke test of this script: --classifier-epochs 1 --classifier-limit 1000
const classifierEpochs = flag('classifier-epochs', 2);
const classifierLimit = flag('classifier-limit', null);

const tf = await import('@tensorflow/tfjs-core');
const core = await import('@vaelab/core');
const { loadMnist, gatherBatch, epochPermutation } = await import('@vaelab/data');
const { imageGrid, encodePng } = await import('@vaelab/eval');
const { CheckpointStore } = await import('@vaelab/trainers');
const { builtinRegistry, checkConfig, buildExperiment } = await import('@vaelab/cli');
const YAML = await import('yaml');

await core.selectBackend('wasm');
const streams = new core.RandomStreams(seed);

// 1. The classifier.
const mnist = loadMnist(classifierLimit ? { trainLimit: classifierLimit } : {});
const rng = streams.stream('init/classifier');
const layer = (n, m) => {
  const bound = 1 / Math.sqrt(n);
  return [tf.variable(rng.uniform([n, m], -bound, bound)), tf.variable(rng.uniform([m], -bound, bound))];
};
const [w1, b1] = layer(784, 512);
const [w2, b2] = layer(512, 10);
const logits = (x) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tf.reshape(x, [-1, 784]), w1), b1)), w2), b2);
const optimizer = tf.train.adam(1e-3);
const t0 = performance.now();
for (let epoch = 0; epoch < classifierEpochs; epoch++) {
  const order = epochPermutation(mnist.train.size, seed, epoch);
  for (let start = 0; start < order.length; start += 128) {
    const { x, labels } = gatherBatch(mnist.train, mnist.shape, order.subarray(start, start + 128));
    const y = tf.cast(tf.oneHot(labels, 10), 'float32');
    optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, logits(x)));
    tf.dispose([x, labels, y]);
  }
}
const predict = (x) => tf.tidy(() => tf.argMax(logits(x), 1).dataSync());
let correct = 0;
for (let start = 0; start < mnist.test.size; start += 1000) {
  const idx = Array.from({ length: Math.min(1000, mnist.test.size - start) }, (_, i) => start + i);
  const { x, labels } = gatherBatch(mnist.test, mnist.shape, idx);
  const p = predict(x);
  const l = labels.dataSync();
  p.forEach((v, i) => (correct += v === l[i] ? 1 : 0));
  tf.dispose([x, labels]);
}
const classifierAccuracy = correct / mnist.test.size;
console.log(`classifier: ${(100 * classifierAccuracy).toFixed(2)}% on the MNIST test set (${((performance.now() - t0) / 1000).toFixed(0)} s to train)`);

// 2. The trained CVAE from its run folder.
const dir = resolve(runDir);
const registry = builtinRegistry();
const file = join(dir, 'config.yaml');
const config = checkConfig(YAML.parse(readFileSync(file, 'utf8')), registry, file);
const exp = await buildExperiment(config, registry, process.cwd(), () => {});
const loaded = await new CheckpointStore(join(dir, 'checkpoints'), config.trainer.checkpoint).load({
  variables: exp.model.checkpointVariables(),
  optimizer: exp.optimizer,
  streams: exp.streams,
});
if (!loaded) throw new Error(`no checkpoint in ${dir}/checkpoints`);
const model = exp.model;
if (!model.conditional) throw new Error(`${dir} is not a conditional model (conditional: true)`);
model.setTraining(false);
const perLabel = 100;
const noise = streams.stream('cvae-check');
const hits = [];
const gridRows = [];
for (let label = 0; label < 10; label++) {
  const { predicted, images } = tf.tidy(() => {
    const z = noise.normal([perLabel, config.latent_dim]);
    const cond = model.condition(new Array(perLabel).fill(label));
    const px = model.parts.likelihood.distribution(model.parts.decoder.apply(z, cond));
    const mean = px.mean();
    return { predicted: predict(mean), images: tf.keep(tf.slice(mean, [0], [10])) };
  });
  hits.push(predicted.filter((p) => p === label).length);
  gridRows.push(images);
}
const accuracy = hits.reduce((a, b) => a + b, 0) / (10 * perLabel);
console.log(`cvae_mnist: ${(100 * accuracy).toFixed(1)}% of ${10 * perLabel} samples classified as the requested digit; per label ${hits.map((h) => `${h}%`).join(' ')}`);

// 3. The grid and the figures.
const grid = tf.tidy(() => imageGrid(tf.concat(gridRows, 0), { columns: 10 }));
tf.dispose(gridRows);
const png = join(dir, 'images', 'cvae-labels.png');
mkdirSync(dirname(png), { recursive: true });
writeFileSync(png, encodePng(grid));
console.log(`grid (row y: ten samples conditioned on label y): ${png}`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'cvae-check.json'),
  `${JSON.stringify({ date: new Date().toISOString(), run: dir, step: loaded.state.step, seed, classifier_test_accuracy: classifierAccuracy, samples: 10 * perLabel, accuracy, per_label_percent: hits, grid: png }, null, 2)}\n`,
);
