import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WASM_THREADS, WASM_THREADS_ENV, resolveWasmThreads } from './wasm-threads.js';
import { bundleCore } from './test-bundle.js';

/*
 * The threaded wasm build (wasm-threads.ts) in real Node processes: a process starts the wasm
 * backend once, so each thread count gets its own. The children import this package's src, bundled
 * by esbuild as tsup bundles it, from a scratch folder inside the repository (so that they resolve
 * the repository's @tensorflow packages), and must exit on their own: a pool thread that kept
 * the process alive would show here as a timeout.
 */

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = join(repo, '.tmp-tests', `wasm-threads-${process.pid}`);

/**
 * The child: selects wasm (thread count from VAELAB_WASM_THREADS), then trains a 784-400-20-400-784
 * MLP autoencoder (mnist_vae's sizes; sigmoid cross-entropy, tf.train.adam, batch 128) for STEPS
 * steps and prints one JSON line with the thread count, any fallback, the losses and the weights
 * (their bytes in hex). SABOTAGE makes the threaded start fail: a worker that throws, or one that
 * never answers. WAIT_FOR_SIGNAL trains until a SIGINT or SIGTERM, which it handles by finishing
 * the step and returning, as the CLI does; then the process must still exit.
 */
const CHILD = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const threads = require('node:worker_threads');
const sabotage = process.env.SABOTAGE;
if (sabotage) {
  const Real = threads.Worker;
  const body = sabotage === 'throw' ? 'throw new Error("sabotaged pthread worker")' : 'setInterval(() => {}, 1000)';
  threads.Worker = class extends Real { constructor(_code, options) { super(body, { ...options, eval: true }); } };
}
const tf = await import('@tensorflow/tfjs');
const { selectBackend, wasmMatMulThreads } = await import(process.env.CORE_URL);
const lines = [];
const sel = await selectBackend('wasm', (l) => lines.push(l));
const steps = Number(process.env.STEPS ?? 20);
let stop = false;
if (process.env.WAIT_FOR_SIGNAL) for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { stop = true; });
const sizes = [784, 400, 20, 400, 784];
let seed = 7;
const weights = [];
for (let i = 0; i + 1 < sizes.length; i++) {
  const bound = Math.sqrt(6 / sizes[i]);
  weights.push(tf.variable(tf.randomUniform([sizes[i], sizes[i + 1]], -bound, bound, 'float32', seed++)));
  weights.push(tf.variable(tf.zeros([sizes[i + 1]])));
}
const x = tf.randomUniform([128, 784], 0, 1, 'float32', seed++).round();
const optimizer = tf.train.adam(1e-3);
const loss = () => tf.tidy(() => {
  let h = x;
  for (let i = 0; i < weights.length; i += 2) {
    h = tf.add(tf.matMul(h, weights[i]), weights[i + 1]);
    if (i + 2 < weights.length) h = tf.relu(h);
  }
  return tf.losses.sigmoidCrossEntropy(x, h);
});
const losses = [];
const step = () => { const l = optimizer.minimize(loss, true); losses.push(l.dataSync()[0]); l.dispose(); };
if (process.env.WAIT_FOR_SIGNAL) {
  step();
  console.log('ready');
  while (!stop) { step(); await new Promise((r) => setImmediate(r)); }
} else for (let i = 0; i < steps; i++) step();
const hex = weights.map((w) => Buffer.from(w.dataSync().buffer).toString('hex')).join('');
console.log(JSON.stringify({ threads: sel.threads, fallback: sel.threadsFallback ?? null, log: lines.join('\\n'), losses, weights: hex, workers: typeof globalThis.Worker, matMulThreads: wasmMatMulThreads() }));
`;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let coreUrl = '';
let childPath = '';

function runChild(env: Record<string, string>, onLine?: (line: string, child: ChildProcess) => void, timeoutMs = 150_000): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const clean = { ...process.env };
    delete clean[WASM_THREADS_ENV];
    const child = spawn(process.execPath, [childPath], { cwd: repo, env: { ...clean, CORE_URL: coreUrl, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const before = stdout.length;
      stdout += chunk.toString();
      if (onLine) for (const line of stdout.slice(before).split('\n')) if (line.trim()) onLine(line.trim(), child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child did not exit within ${timeoutMs / 1000} s (env ${JSON.stringify(env)}); stderr: ${stderr.slice(-500)}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

interface ChildReport {
  threads: number;
  fallback: string | null;
  log: string;
  losses: number[];
  weights: string;
  workers: string;
  matMulThreads: number;
}

function report(r: ChildResult): ChildReport {
  expect(r.stderr, 'stderr').not.toMatch(/Error/);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildReport;
}

beforeAll(async () => {
  await mkdir(scratch, { recursive: true });
  const out = join(scratch, 'core.mjs');
  await bundleCore(out);
  coreUrl = pathToFileURL(out).href;
  childPath = join(scratch, 'child.mjs');
  await writeFile(childPath, CHILD);
}, 60_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('resolveWasmThreads', () => {
  it('takes the option first, then VAELAB_WASM_THREADS, then the number of cores (at most the cap)', () => {
    expect(resolveWasmThreads(3, { [WASM_THREADS_ENV]: '1' })).toEqual({ threads: 3, source: 'option' });
    expect(resolveWasmThreads(undefined, { [WASM_THREADS_ENV]: '2' })).toEqual({ threads: 2, source: 'env' });
    expect(resolveWasmThreads(undefined, { [WASM_THREADS_ENV]: ' 1 ' })).toEqual({ threads: 1, source: 'env' });
    const auto = resolveWasmThreads(undefined, {});
    expect(auto.source).toBe('default');
    expect(auto.threads).toBeGreaterThanOrEqual(1);
    expect(auto.threads).toBeLessThanOrEqual(MAX_WASM_THREADS);
    expect(resolveWasmThreads('auto', {}).threads).toBe(auto.threads);
    expect(resolveWasmThreads(undefined, { [WASM_THREADS_ENV]: 'auto' })).toEqual({ threads: auto.threads, source: 'env' });
    expect(resolveWasmThreads(undefined, { [WASM_THREADS_ENV]: '' }).source).toBe('default');
  });

  it('clamps to MAX_WASM_THREADS and says so; rejects what is not a positive integer', () => {
    expect(resolveWasmThreads(64, {})).toEqual({ threads: MAX_WASM_THREADS, source: 'option', note: `64 threads asked for, at most ${MAX_WASM_THREADS} are used` });
    for (const bad of ['0', '-1', '1.5', 'two']) {
      expect(() => resolveWasmThreads(undefined, { [WASM_THREADS_ENV]: bad })).toThrow(new RegExp(`${WASM_THREADS_ENV} must be a positive integer or 'auto', got '${bad}'`));
    }
    expect(() => resolveWasmThreads(0)).toThrow(/wasmThreads must be a positive integer or 'auto', got 0/);
    expect(() => resolveWasmThreads(2.5)).toThrow(/wasmThreads must be a positive integer/);
  });
});

describe('the threaded wasm build, one process per thread count', () => {
  it('gives bitwise the same losses and weights with 1, 2 and 3 threads (Adam on mnist_vae-sized layers), and each process exits on its own', async () => {
    const runs: ChildReport[] = [];
    for (const n of [1, 2, 3]) runs.push(report(await runChild({ [WASM_THREADS_ENV]: String(n), STEPS: '20' })));
    expect(runs.map((r) => r.threads)).toEqual([1, 2, 3]);
    expect(runs.map((r) => r.fallback)).toEqual([null, null, null]);
    expect(runs[0]!.log).toMatch(/^backend: wasm \(@tensorflow\/tfjs-backend-wasm\), 1 thread$/);
    expect(runs[1]!.log).toMatch(/^backend: wasm \(@tensorflow\/tfjs-backend-wasm\), 2 threads$/);
    // The global Worker Emscripten sets while it starts is gone again.
    expect(runs[1]!.workers).toBe('undefined');
    expect(runs[0]!.losses).toHaveLength(20);
    expect(runs[0]!.losses[19]!).toBeLessThan(runs[0]!.losses[0]!);
    for (const r of runs.slice(1)) {
      expect(r.losses).toEqual(runs[0]!.losses);
      expect(r.weights === runs[0]!.weights, 'weights bitwise equal').toBe(true);
    }
  }, 300_000);

  it("gives the same bits with VAE Lab's matMul kernel (VAELAB_WASM_MATMUL=vaelab) on 2 and 3 threads, which it really computes on", async () => {
    const stock = report(await runChild({ [WASM_THREADS_ENV]: '1', STEPS: '20' }));
    for (const n of [2, 3]) {
      const own = report(await runChild({ [WASM_THREADS_ENV]: String(n), VAELAB_WASM_MATMUL: 'vaelab', STEPS: '20' }));
      expect(own.threads).toBe(n);
      expect(own.log).toMatch(new RegExp(`^backend: wasm \\(@tensorflow/tfjs-backend-wasm \\+ VAE Lab matMul\\), ${n} threads$`));
      expect(own.matMulThreads).toBe(n); // the calling thread and n − 1 workers, all up
      expect(own.losses).toEqual(stock.losses);
      expect(own.weights === stock.weights, 'weights bitwise equal').toBe(true);
    }
    const bad = await runChild({ [WASM_THREADS_ENV]: '2', VAELAB_WASM_MATMUL: 'fast', STEPS: '1' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/VAELAB_WASM_MATMUL: expected xnnpack or vaelab, got 'fast'/);
  }, 300_000);

  it('falls back to the single-threaded build, saying why, when a pthread worker fails to start or never answers', async () => {
    const failing = report(await runChild({ [WASM_THREADS_ENV]: '2', SABOTAGE: 'throw', STEPS: '2' }));
    expect(failing.threads).toBe(1);
    expect(failing.fallback).toMatch(/a pthread worker failed while starting: sabotaged pthread worker/);
    expect(failing.log).toMatch(/^backend: wasm \(@tensorflow\/tfjs-backend-wasm\), 1 thread \(threaded build not used: a pthread worker failed while starting/);
    expect(failing.losses).toHaveLength(2);
    const hanging = report(await runChild({ [WASM_THREADS_ENV]: '2', SABOTAGE: 'hang', [`${WASM_THREADS_ENV}_TIMEOUT_MS`]: '2000', STEPS: '2' }));
    expect(hanging.threads).toBe(1);
    expect(hanging.fallback).toBe('the threaded build did not start within 2 s');
    // The fallback computes what the threaded build computes.
    expect(hanging.losses).toEqual(failing.losses);
  }, 300_000);

  it.each(['SIGINT', 'SIGTERM'] as const)('exits after %s is handled (the pool threads do not keep the process alive)', async (signal) => {
    let sent = false;
    const r = await runChild({ [WASM_THREADS_ENV]: '2', WAIT_FOR_SIGNAL: '1' }, (line, child) => {
      if (line === 'ready' && !sent) {
        sent = true;
        child.kill(signal);
      }
    });
    expect(sent).toBe(true);
    const out = report(r);
    expect(out.threads).toBe(2);
    expect(out.losses.length).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
