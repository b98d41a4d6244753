// Training throughput (samples/s) of the conv_vae_mnist model on wasm: conv encoder 28 -> 14 -> 7
// (32, 64 channels, 4×4 stride 2) + dense 256 -> 2·20, decoder dense 256 -> 7×7×64 then two ×2
// upsampling stages (64 -> 32 -> 1), diagonal Gaussian posterior, Bernoulli likelihood, Adam 1e-3,
// batch 128. Variants: `transposed` (the experiment's decoder) and `subpixel`
// (subpixel_vae_mnist), each on `wasm`; `cpu` for scale. Convolution gradients go through
// @vaelab/networks' conv ops (tfjs-wasm 4.22 has no Conv2DBackpropFilter kernel).
// Side by side: bench/pytorch_conv_vae.py, the same architecture in PyTorch (run it yourself;
// its JSON, bench/results/pytorch-conv-vae.json, is read here when present).
// Usage: node bench/conv-throughput.mjs [--variants wasm-transposed,wasm-subpixel,cpu-transposed] [--steps N] [--repeats R]
// Each measurement runs in its own process, R times in rotated order; median and range reported.
// Results go to bench/results/conv-throughput.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchModel } from './model.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};

if (args[0] === '--child') {
  const [backend, upsample] = args[1].split('-');
  const steps = Number(args[2]);
  const tf = await import('@tensorflow/tfjs-core');
  const core = await import('@vaelab/core');
  const { ConvEncoder, ConvDecoder } = await import('@vaelab/networks');
  const { trainStep } = await import('@vaelab/trainers');
  await core.selectBackend(backend);
  const streams = new core.RandomStreams(1);
  const shared = { hidden: [256], activation: 'relu', norm: 'none', norm_groups: 8, init: 'uniform_fan_in', condition: 'dense' };
  const { model, objective, x, noise } = await benchModel(streams, {
    encoder: (input, output, rng) => new ConvEncoder(input, output, { ...shared, channels: [32, 64], kernel: 4, stride: 2 }, rng),
    decoder: (latent, output, rng) => new ConvDecoder(latent, output, { ...shared, channels: [64, 32], upsample, kernel: upsample === 'transposed' ? 4 : 3 }, rng),
  });
  const batch = x.shape[0];
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const parts = { model, objective, optimizer, options: { clip_norm: null } };
  for (let i = 0; i < 3; i++) trainStep(parts, x, noise, { step: i, epoch: 0 });
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) trainStep(parts, x, noise, { step: i, epoch: 0 });
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(
    JSON.stringify({
      variant: args[1],
      batch,
      steps,
      seconds,
      samples_per_second: (steps * batch) / seconds,
      ms_per_step: (1000 * seconds) / steps,
      tensors_leaked: tf.memory().numTensors - before,
      parameters: model.variables.reduce((n, v) => n + v.size, 0),
    }),
  );
  process.exit(0);
}

const variants = opt('variants', 'wasm-transposed,wasm-subpixel,cpu-transposed').split(',');
const repeats = Number(opt('repeats', '3'));
const stepsFor = (v) => Number(opt('steps', v.startsWith('cpu') ? '3' : '15'));
const runs = Object.fromEntries(variants.map((v) => [v, []]));
for (let r = 0; r < repeats; r++) {
  for (const v of [...variants.slice(r % variants.length), ...variants.slice(0, r % variants.length)]) {
    if (v.startsWith('cpu') && r > 0) continue;
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', v, String(stepsFor(v))], { encoding: 'utf8' });
    if (child.status !== 0) {
      console.error(`${v}: failed\n${child.stderr}`);
      process.exit(1);
    }
    runs[v].push(JSON.parse(child.stdout.trim().split('\n').pop()));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = variants.map((v) => {
  const s = runs[v].map((r) => r.samples_per_second);
  return { variant: v, samples_per_second: median(s), min: Math.min(...s), max: Math.max(...s), ms_per_step: median(runs[v].map((r) => r.ms_per_step)), runs: runs[v] };
});
const torchFile = join(here, 'results', 'pytorch-conv-vae.json');
const torch = existsSync(torchFile) ? JSON.parse(readFileSync(torchFile, 'utf8')) : null;
console.log('conv_vae_mnist training throughput (batch 128, Adam)');
for (const r of results) {
  console.log(`  ${r.variant.padEnd(16)} ${r.samples_per_second.toFixed(0).padStart(6)} samples/s (${r.min.toFixed(0)}-${r.max.toFixed(0)}), ${r.ms_per_step.toFixed(1)} ms/step, ${r.runs[0].parameters} parameters, leaked ${r.runs[0].tensors_leaked}`);
}
if (torch) {
  for (const t of torch.results ?? []) console.log(`  pytorch-${t.upsample.padEnd(8)} ${t.samples_per_second.toFixed(0).padStart(6)} samples/s (${t.threads} thread${t.threads > 1 ? 's' : ''}, torch ${torch.torch})`);
} else {
  console.log('  pytorch: no bench/results/pytorch-conv-vae.json; run /usr/bin/python3 bench/pytorch_conv_vae.py to compare');
}
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'conv-throughput.json'), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results, pytorch: torch }, null, 2)}\n`);
