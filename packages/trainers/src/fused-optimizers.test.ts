import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { RandomStreams, selectBackend } from '@vaelab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from './checkpoint-store.js';
import { disposeParts, snapshot, stateAt, tinyParts, trainSteps } from './checkpoint-test-helpers.js';
import { FusedAdamOptimizer } from './fused-adam.js';
import type { FusedOptimizer } from './fused-optimizer.js';
import { FusedRmspropOptimizer } from './fused-rmsprop.js';
import { FusedSgdOptimizer } from './fused-sgd.js';
import { kernelModuleBytes, kernelsValidate } from './wasm-kernels.js';

/*
 * The fused optimizers against tf.train's (Adam in detail, then SGD, momentum, Nesterov, RMSProp): same variables, same random gradients, several steps,
 * compared as float32 bit patterns. On every path (the SIMD kernel on the tfjs-wasm heap, the
 * JavaScript loop on the heap, the JavaScript loop on copies for other backends) each operation is
 * one correctly rounded float32 operation in tf.train.adam's order, so the results are identical,
 * not merely close. Shapes include sizes that are not multiples of 4 (the kernel's scalar tail).
 */

const SHAPES: number[][] = [[37, 11], [11], [4, 4], [3], [1]];
const bits = (t: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer));

function makeVariables(seed: number): tf.Variable[] {
  const rng = new RandomStreams(seed).stream('init');
  return SHAPES.map((shape) => {
    const t = rng.normal(shape);
    const v = tf.variable(t);
    t.dispose();
    return v;
  });
}

/** `steps` updates of `optimizer` on random gradients (seeded, the same for every optimizer). */
function runSteps(optimizer: tf.Optimizer, variables: tf.Variable[], steps: number, seed = 7): void {
  const rng = new RandomStreams(seed).stream('gradients');
  for (let s = 0; s < steps; s++) {
    const grads = Object.fromEntries(variables.map((v) => [v.name, tf.tidy(() => tf.mul(rng.normal(v.shape), 0.1 * (s + 1)))]));
    optimizer.applyGradients(grads);
    tf.dispose(Object.values(grads));
  }
}

/** A tf.train optimizer and the fused one that must match it, under one name. */
const PAIRS: [string, () => tf.Optimizer, () => FusedOptimizer][] = [
  ['adam', () => tf.train.adam(0.01, 0.9, 0.999, 1e-8), () => new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8)],
  ['sgd', () => tf.train.sgd(0.05), () => new FusedSgdOptimizer(0.05)],
  ['momentum', () => tf.train.momentum(0.05, 0.9, false), () => new FusedSgdOptimizer(0.05, 0.9, false)],
  ['nesterov', () => tf.train.momentum(0.05, 0.9, true), () => new FusedSgdOptimizer(0.05, 0.9, true)],
  ['rmsprop', () => tf.train.rmsprop(0.01, 0.9, 0.5, 1e-8), () => new FusedRmspropOptimizer(0.01, 0.9, 0.5, 1e-8)],
];

async function compareWithStock(
  makeStock: () => tf.Optimizer = PAIRS[0]![1],
  makeFused: () => FusedOptimizer = PAIRS[0]![2],
  configure: (o: FusedOptimizer) => void = () => {},
  steps = 6,
) {
  const stockVars = makeVariables(1);
  const fusedVars = makeVariables(1);
  const stock = makeStock();
  const fused = makeFused();
  configure(fused);
  runSteps(stock, stockVars, steps);
  runSteps(fused, fusedVars, steps);
  const [sw, fw] = await Promise.all([stock.getWeights(), fused.getWeights()]);
  // the slots too, in the same order: [iter, slots of kind 0…, slots of kind 1…]
  const result = {
    stock: stockVars.map(bits),
    fused: fusedVars.map(bits),
    path: fused.lastPath,
    slots: { stock: sw.slice(1).map((w) => bits(w.tensor)), fused: fw.slice(1).map((w) => bits(w.tensor)) },
    iters: [sw[0]!.tensor.dataSync()[0], fw[0]!.tensor.dataSync()[0]],
  };
  tf.dispose([sw[0]!.tensor, fw[0]!.tensor]);
  stock.dispose();
  fused.dispose();
  tf.dispose([...stockVars, ...fusedVars]);
  return result;
}

describe('fused adam on wasm', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('the kernel module is valid WebAssembly (with SIMD)', () => {
    expect(kernelsValidate()).toBe(true);
    expect(kernelModuleBytes().length).toBeLessThan(2048);
  });

  it('equals tf.train.adam bit for bit over several steps (SIMD kernel on the heap)', async () => {
    const r = await compareWithStock();
    expect(r.path).toBe('wasm-simd');
    expect(r.fused).toEqual(r.stock);
    expect(r.slots.fused).toEqual(r.slots.stock);
    expect(r.iters).toEqual([6, 6]);
  });

  it('equals tf.train.adam bit for bit on the JavaScript heap path (no SIMD)', async () => {
    const r = await compareWithStock(undefined, undefined, (o) => (o.simd = false));
    expect(r.path).toBe('wasm-js');
    expect(r.fused).toEqual(r.stock);
    expect(r.slots.fused).toEqual(r.slots.stock);
  });

  it.each(PAIRS)('%s: equals its tf.train optimizer bit for bit, with the SIMD kernel and without', async (_, makeStock, makeFused) => {
    for (const simd of [true, false]) {
      const r = await compareWithStock(makeStock, makeFused, (o) => (o.simd = simd));
      expect(r.path).toBe(simd ? 'wasm-simd' : 'wasm-js');
      expect(r.fused).toEqual(r.stock);
      expect(r.slots.fused).toEqual(r.slots.stock);
      expect(r.iters).toEqual([6, 6]);
    }
  });

  it('a tensor that shares a slot\'s data (a clone, which shares on wasm) keeps its values when the slot is updated in place', async () => {
    const variables = makeVariables(3);
    const optimizer = new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-8);
    runSteps(optimizer, variables, 2);
    const weights = await optimizer.getWeights();
    const clones = weights.map((w) => tf.clone(w.tensor));
    const values = clones.map((c) => Array.from(c.dataSync()));
    runSteps(optimizer, variables, 2, 11);
    expect(optimizer.lastPath).toBe('wasm-simd');
    expect(clones.map((c) => Array.from(c.dataSync()))).toEqual(values);
    // and the slots did move
    const after = await optimizer.getWeights();
    expect(after.slice(1).some((w, i) => Array.from(w.tensor.dataSync()).some((v, k) => v !== values[i + 1]![k]))).toBe(true);
    tf.dispose(clones);
    optimizer.dispose();
    tf.dispose(variables);
  });

  it('leaves no tensors and no bytes behind after the first step', () => {
    const variables = makeVariables(2);
    const optimizer = new FusedAdamOptimizer(1e-3, 0.9, 0.999, 1e-8);
    runSteps(optimizer, variables, 1); // creates the slots
    const before = tf.memory();
    runSteps(optimizer, variables, 5);
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    optimizer.dispose();
    tf.dispose(variables);
  });

  it('getWeights / setWeights continue bit for bit, and never write into the tensors given to setWeights', async () => {
    const straightVars = makeVariables(3);
    const straight = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8);
    runSteps(straight, straightVars, 4);
    const saved = (await straight.getWeights()).map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) }));
    const savedBits = saved.map((w) => bits(w.tensor));
    const resumedVars = straightVars.map((v) => tf.variable(tf.clone(v)));
    const resumed = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8);
    await resumed.setWeights(saved);
    expect(resumed.iterations).toBe(4);
    // the same gradients for the next 3 steps on both
    runSteps(straight, straightVars, 3, 11);
    runSteps(resumed, resumedVars, 3, 11);
    expect(resumedVars.map(bits)).toEqual(straightVars.map(bits));
    expect(saved.map((w) => bits(w.tensor))).toEqual(savedBits);
    tf.dispose(saved.map((w) => w.tensor));
    straight.dispose();
    resumed.dispose();
    tf.dispose([...straightVars, ...resumedVars]);
  });

  it('round-trips through a checkpoint bit-exactly (with the checkpoint store)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'vaelab-fused-ckpt-'));
    try {
      const dir = join(root, 'checkpoints', 'latest');
      const parts = { ...tinyParts(1), optimizer: new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8) };
      trainSteps(parts, 5);
      await saveCheckpoint(dir, parts, stateAt(5));
      const target = { ...tinyParts(9), optimizer: new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8) };
      await loadCheckpoint(dir, target);
      expect(await snapshot(target)).toEqual(await snapshot(parts));
      // and both continue alike (the β powers are rebuilt from the step count)
      trainSteps(parts, 3);
      trainSteps(target, 3);
      expect(await snapshot(target)).toEqual(await snapshot(parts));
      disposeParts(parts);
      disposeParts(target);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('follows a learning rate set between steps (as the trainer schedules it)', async () => {
    const stockVars = makeVariables(4);
    const fusedVars = makeVariables(4);
    const stock = tf.train.adam(0.01, 0.9, 0.999, 1e-8);
    const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8);
    for (const lr of [0.01, 0.005, 0.02]) {
      (stock as unknown as { learningRate: number }).learningRate = lr;
      fused.learningRate = lr;
      runSteps(stock, stockVars, 1, lr * 1000);
      runSteps(fused, fusedVars, 1, lr * 1000);
    }
    expect(fusedVars.map(bits)).toEqual(stockVars.map(bits));
    stock.dispose();
    fused.dispose();
    tf.dispose([...stockVars, ...fusedVars]);
  });
});

describe('fused adam on cpu', () => {
  let previous = '';
  beforeAll(async () => {
    previous = tf.getBackend();
    await selectBackend('cpu');
  });
  afterAll(async () => {
    await tf.setBackend(previous);
  });

  it.each(PAIRS)('%s: equals its tf.train optimizer bit for bit (JavaScript loop on copies)', async (_, makeStock, makeFused) => {
    const r = await compareWithStock(makeStock, makeFused);
    expect(r.path).toBe('js');
    expect(r.fused).toEqual(r.stock);
    expect(r.slots.fused).toEqual(r.slots.stock);
  });
});

describe("fused: 'auto' (the default)", () => {
  it('builds the fused optimizer on wasm and the tf.train one on cpu', async () => {
    const { ComponentRegistry } = await import('@vaelab/core');
    const { components } = await import('./index.js');
    const registry = new ComponentRegistry().use({ components });
    const ctx = { streams: new RandomStreams(1), cwd: '.' };
    const previous = tf.getBackend();
    try {
      for (const [backend, fused] of [['wasm', true], ['cpu', false]] as const) {
        await selectBackend(backend);
        for (const name of ['adam', 'sgd', 'rmsprop']) {
          expect(tf.getBackend()).toBe(backend);
          const optimizer = registry.build('optimizer', { name }, ctx, 'trainer.optimizer');
          // not instanceof: tf.Optimizer's Symbol.hasInstance accepts any object with the optimizer methods
          const isFused = [FusedAdamOptimizer, FusedSgdOptimizer, FusedRmspropOptimizer].some((c) => Object.getPrototypeOf(optimizer) === c.prototype);
          expect(isFused, `${name} on ${backend}`).toBe(fused);
          optimizer.dispose();
        }
      }
    } finally {
      await tf.setBackend(previous);
    }
  });
});

describe('fused adam on the threaded wasm build', () => {
  // The threaded build's heap is a shared memory that the module imports (no asm.memory export):
  // the SIMD kernel must bind to it too. A separate process, since a backend starts once per process;
  // a \`node --input-type=module -e\` script, which also checks that the pthread workers start there.
  it('takes the SIMD path and equals tf.train.adam bit for bit with 2 threads', () => {
    const script = `
      import * as tf from '@tensorflow/tfjs-core';
      import { selectBackend } from '@vaelab/core';
      import { FusedAdamOptimizer } from '@vaelab/trainers';
      const sel = await selectBackend('wasm', (line) => console.error(line));
      const w = tf.variable(tf.randomNormal([1000, 37], 0, 1, 'float32', 3));
      const w2 = tf.variable(w.clone());
      const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8);
      const stock = tf.train.adam(0.01, 0.9, 0.999, 1e-8);
      for (let i = 0; i < 5; i++) {
        fused.minimize(() => tf.sum(tf.square(tf.sub(w, 1))), false, [w]);
        stock.minimize(() => tf.sum(tf.square(tf.sub(w2, 1))), false, [w2]);
      }
      const a = w.dataSync(), b = w2.dataSync();
      console.log(JSON.stringify({ threads: sel.threads, path: fused.lastPath, same: a.every((x, i) => Object.is(x, b[i])) }));
      process.exit(0);`;
    // run from the CLI's folder so that @vaelab/* resolve to the built workspace packages
    const cwd = fileURLToPath(new URL('../../../apps/cli/', import.meta.url));
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8', env: { ...process.env, VAELAB_WASM_THREADS: '2' } });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ threads: 2, path: 'wasm-simd', same: true });
  });
});
