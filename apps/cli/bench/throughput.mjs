// Training throughput (samples/s) of the mnist_vae model: MLP 784-400-20-400-784, diagonal
// Gaussian posterior, standard normal prior, Bernoulli likelihood, Adam, batch 128.
// Usage: node bench/throughput.mjs [--backends wasm,wasm-stock,cpu] [--steps N] [--out FILE]
// `wasm-stock` is wasm with tfjs's own matMul gradient (transposed matMuls, DESIGN §7) instead of
// the one @vaelab/core installs, to show what that buys. Each backend runs in its own process (a
// tfjs process has one active backend at a time); results go to bench/results/throughput.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};

if (args[0] === '--child') {
  const variant = args[1];
  const backend = variant === 'wasm-stock' ? 'wasm' : variant;
  const steps = Number(args[2]);
  const tf = await import('@tensorflow/tfjs-core');
  const core = await import('@vaelab/core');
  const { Mlp } = await import('@vaelab/networks');
  const { DiagonalGaussianPosterior } = await import('@vaelab/posteriors');
  const { BernoulliLikelihood } = await import('@vaelab/likelihoods');
  const { StandardNormalPrior } = await import('@vaelab/priors');
  const { VaeModel, Elbo } = await import('@vaelab/objectives');
  const { trainStep } = await import('@vaelab/trainers');
  const stockGradient = tf.getGradient('BatchMatMul');
  await core.selectBackend(backend);
  if (variant === 'wasm-stock') tf.registerGradient(stockGradient);
  const streams = new core.RandomStreams(1);
  const latentDim = 20;
  const dataShape = [28, 28, 1];
  const posterior = new DiagonalGaussianPosterior('log_var');
  const likelihood = new BernoulliLikelihood(dataShape);
  const mlp = { hidden: [400], activation: 'relu', init: 'uniform_fan_in' };
  const model = new VaeModel({
    encoder: new Mlp(dataShape, posterior.paramShape({ dim: latentDim }), mlp, streams.stream('init/encoder')),
    posterior,
    decoder: new Mlp([latentDim], likelihood.paramShape(dataShape), mlp, streams.stream('init/decoder')),
    likelihood,
    prior: new StandardNormalPrior(latentDim),
    latentDim,
    dataShape,
  });
  const objective = new Elbo({ samples: 1, klSamples: 1 });
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const batch = 128;
  // Grey-level images in [0, 1] (the values do not change the cost of a step).
  const x = tf.tidy(() => streams.stream('bench').uniform([batch, ...dataShape]));
  const noise = streams.stream('noise');
  const parts = { model, objective, optimizer, options: { clip_norm: null } };
  const warmup = 5;
  for (let i = 0; i < warmup; i++) trainStep(parts, x, noise, { step: i, epoch: 0 });
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) trainStep(parts, x, noise, { step: i, epoch: 0 });
  const seconds = (performance.now() - t0) / 1000;
  const leaked = tf.memory().numTensors - before;
  process.stdout.write(
    JSON.stringify({ backend: variant, batch, steps, seconds, samples_per_second: (steps * batch) / seconds, ms_per_step: (1000 * seconds) / steps, tensors_leaked: leaked }) + '\n',
  );
  process.exit(0);
}

const backends = opt('backends', 'wasm,wasm-stock,cpu').split(',');
const results = [];
for (const backend of backends) {
  const steps = Number(opt('steps', backend === 'wasm' ? '200' : '30'));
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', backend, String(steps)], {
    encoding: 'utf8',
  });
  if (child.status !== 0) {
    console.error(child.stderr);
    process.exit(child.status ?? 1);
  }
  const r = JSON.parse(child.stdout.trim().split('\n').pop());
  results.push(r);
  console.log(
    `${r.backend.padEnd(10)} ${r.samples_per_second.toFixed(0).padStart(7)} samples/s  (${r.ms_per_step.toFixed(1)} ms/step, batch ${r.batch}, ${r.steps} steps, ${r.tensors_leaked} tensors leaked)`,
  );
}
const out = opt('out', join(here, 'results', 'throughput.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify({ benchmark: 'mnist_vae training throughput', model: '784-400-20-400-784 MLP VAE, Adam, batch 128', node: process.version, date: new Date().toISOString(), results }, null, 2) + '\n',
);
console.log(`wrote ${out}`);
