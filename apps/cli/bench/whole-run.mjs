// Whole-run time of the mnist_vae experiment, process start to end, against PyTorch on the same
// machine in the same run: what a researcher waits for. Each repeat runs every variant once, in
// rotated order, and the median and range over repeats are reported (the machine is shared and
// noisy).
//   vaelab          node bin/vaelab.js train experiment=mnist_vae trainer.epochs=E   (the default
//                   install: wasm, one thread per core, fused Adam; VAELAB_NATIVE and
//                   VAELAB_WASM_THREADS removed from its environment)
//                   For this dense network `vaelab train` computes matMuls with VAE Lab's kernel.
//   vaelab-xnnpack-matmul  the same with VAELAB_WASM_MATMUL=xnnpack (tfjs-wasm's own matMul)
//   vaelab-fused    the same with VAELAB_FUSED_KERNELS=1 (fused Bernoulli term kernels)
//   vaelab-1thread  the same with VAELAB_WASM_THREADS=1 (the single-threaded wasm build)
//   vaelab-native   the same with VAELAB_NATIVE=1 (@vaelab/native's OpenBLAS matMul and Adam, one
//                   wasm thread, the fused Bernoulli kernels; needs `npm run build:native -w
//                   @vaelab/native`), with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed as for
//                   PyTorch, so that both use the same OpenBLAS kernels
//   vaelab-native-no-fused  the same with VAELAB_FUSED_KERNELS=0 (tfjs's Bernoulli kernels)
//   pytorch       /usr/bin/python3 bench/pytorch_mnist_vae.py --epochs E --threads 1 (Debian's
//                 python3-torch; skipped, and said so, when it is not installed). OPENBLAS_CORETYPE
//                 and OPENBLAS_L2_SIZE are removed from its environment: this machine's environment
//                 pins OpenBLAS to Haswell kernels, which costs PyTorch ~12% (notes/performance.md).
// Usage: node bench/whole-run.mjs [--epochs 2] [--repeats 3] [--variants vaelab,vaelab-xnnpack-matmul,vaelab-fused,vaelab-1thread,vaelab-native,vaelab-native-no-fused,pytorch] [--out FILE]
// Results go to bench/results/whole-run.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const epochs = Number(opt('epochs', '2'));
const repeats = Number(opt('repeats', '3'));
const python = '/usr/bin/python3';

const torchCheck = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
const torchVersion = torchCheck.status === 0 ? torchCheck.stdout.trim() : null;
let variants = opt('variants', 'vaelab,vaelab-xnnpack-matmul,vaelab-fused,vaelab-1thread,vaelab-native,vaelab-native-no-fused,pytorch').split(',');
if (!torchVersion && variants.includes('pytorch')) {
  console.log('pytorch: skipped (python3-torch is not installed: apt-get install -y python3-torch libopenblas0-pthread)');
  variants = variants.filter((v) => v !== 'pytorch');
}
const nativeCheck = await import('@vaelab/native').then((m) => m.nativeAvailable(), (e) => ({ ok: false, reason: `not installed (${e.message.split('\n')[0]})` }));
if (!nativeCheck.ok && variants.some((v) => v.startsWith('vaelab-native'))) {
  console.log(`vaelab-native*: skipped (@vaelab/native: ${nativeCheck.reason})`);
  variants = variants.filter((v) => !v.startsWith('vaelab-native'));
}

const loadBefore = loadavg();
const work = mkdtempSync(join(tmpdir(), 'vaelab-whole-run-'));
const pytorchEnv = { ...process.env };
delete pytorchEnv.OPENBLAS_CORETYPE;
delete pytorchEnv.OPENBLAS_L2_SIZE;

function command(variant, i) {
  const out = join(work, `${variant}-${i}`);
  if (variant === 'pytorch') {
    return { file: python, argv: [join(here, 'pytorch_mnist_vae.py'), '--epochs', String(epochs), '--threads', '1', '--out', join(work, `pytorch-${i}.json`)], env: pytorchEnv };
  }
  const overrides = [`experiment=mnist_vae`, `trainer.epochs=${epochs}`];
  const env = { ...process.env };
  delete env.VAELAB_NATIVE;
  delete env.VAELAB_WASM_THREADS;
  delete env.VAELAB_FUSED_KERNELS;
  delete env.VAELAB_WASM_MATMUL;
  if (variant === 'vaelab-fused') env.VAELAB_FUSED_KERNELS = '1';
  else if (variant === 'vaelab-xnnpack-matmul') env.VAELAB_WASM_MATMUL = 'xnnpack';
  else if (variant === 'vaelab-1thread') env.VAELAB_WASM_THREADS = '1';
  else if (variant === 'vaelab-native' || variant === 'vaelab-native-no-fused') {
    env.VAELAB_NATIVE = '1';
    if (variant === 'vaelab-native-no-fused') env.VAELAB_FUSED_KERNELS = '0';
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
  } else if (variant !== 'vaelab') throw new Error(`unknown variant ${variant}; allowed: vaelab, vaelab-xnnpack-matmul, vaelab-fused, vaelab-1thread, vaelab-native, vaelab-native-no-fused, pytorch`);
  return { file: process.execPath, argv: [join(here, '..', 'bin', 'vaelab.js'), 'train', ...overrides, '--out', out, '--quiet'], env };
}

/** backend.package from the run's meta.json: what the run really used (native, fused kernels). */
function backendOf(out) {
  const experiment = join(out, 'mnist_vae');
  const [stamp] = readdirSync(experiment);
  return JSON.parse(readFileSync(join(experiment, stamp, 'meta.json'), 'utf8')).backend.package;
}

/** The last test loss the run printed (nats per example). */
function testLoss(variant, stdout) {
  const matches = variant === 'pytorch' ? [...stdout.matchAll(/test loss ([\d.]+)/g)] : [...stdout.matchAll(/test loss ([\d.]+) nats per example/g)];
  const last = matches.at(-1);
  return last ? Number(last[1]) : null;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const runsOf = Object.fromEntries(variants.map((v) => [v, []]));
try {
  for (let round = 0; round < repeats; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]);
    for (const variant of order) {
      const { file, argv, env } = command(variant, round);
      const t0 = performance.now();
      const child = spawnSync(file, argv, { encoding: 'utf8', env, cwd: join(here, '..') });
      const seconds = (performance.now() - t0) / 1000;
      if (child.status !== 0) {
        console.error(`${variant} failed (exit ${child.status}):\n${child.stdout}\n${child.stderr}`);
        process.exit(1);
      }
      const loss = testLoss(variant, child.stdout);
      const backend = variant === 'pytorch' ? undefined : backendOf(join(work, `${variant}-${round}`));
      const fusedExpected = variant === 'vaelab-fused' || variant === 'vaelab-native';
      if (backend !== undefined && backend.includes('fused kernels') !== fusedExpected) {
        console.error(`${variant}: fused kernels ${fusedExpected ? 'expected but off' : 'on but not expected'} (meta.json backend.package: ${backend})`);
        process.exit(1);
      }
      if (variant.startsWith('vaelab-native') && !backend?.includes('@vaelab/native')) {
        console.error(`${variant} ran without @vaelab/native (meta.json backend.package: ${backend}); build it with npm run build:native -w @vaelab/native`);
        process.exit(1);
      }
      runsOf[variant].push({ seconds, test_loss: loss, ...(backend ? { backend } : {}) });
      console.log(`${variant.padEnd(13)} ${seconds.toFixed(1).padStart(6)} s  (${epochs} epochs, whole process; test loss ${loss ?? '?'})`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const summary = variants.map((variant) => {
  const seconds = runsOf[variant].map((r) => r.seconds);
  return { variant, median_seconds: median(seconds), min_seconds: Math.min(...seconds), max_seconds: Math.max(...seconds), runs: runsOf[variant] };
});
const reference = summary.find((s) => s.variant === 'pytorch');
for (const s of summary) {
  // speed relative to PyTorch: its time over ours (1 = as fast; the target is ≥ 0.5)
  if (reference) s.ratio_vs_pytorch = reference.median_seconds / s.median_seconds;
}
console.log(`\n| variant | seconds, median (min–max) | speed vs PyTorch (its time / ours) | test loss after ${epochs} epochs |`);
console.log('| --- | ---: | ---: | ---: |');
for (const s of summary) {
  const losses = [...new Set(s.runs.map((r) => r.test_loss))].join(', ');
  console.log(`| ${s.variant} | ${s.median_seconds.toFixed(1)} (${s.min_seconds.toFixed(1)}–${s.max_seconds.toFixed(1)}) | ${s.ratio_vs_pytorch?.toFixed(2) ?? '–'} | ${losses} |`);
}
const out = opt('out', join(here, 'results', 'whole-run.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      benchmark: `mnist_vae whole run: ${epochs} full MNIST epochs with test evaluations, process start to end`,
      node: process.version,
      torch: torchVersion,
      pytorch_env: 'OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; --threads 1',
      native_env: 'OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (the same OpenBLAS kernels as PyTorch)',
      date: new Date().toISOString(),
      repeats,
      // 1-, 5- and 15-minute load averages before and after: how busy the machine was
      load_average: { before: loadBefore, after: loadavg() },
      results: summary,
    },
    null,
    2,
  ) + '\n',
);
console.log(`wrote ${out}`);
