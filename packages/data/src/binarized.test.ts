import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, type Dataset, RandomStream, RandomStreams, VaeLabError } from '@vaelab/core';
import { afterAll, describe, expect, it } from 'vitest';
import { epochPermutation, gatherBatch } from './batches.js';
import { bernoulliBinarize, binarizeDataset, binarizeSplit } from './binarized.js';
import { writeFakeMnist } from './test-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'vaelab-binarized-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const isBinary = (x: ArrayLike<number>) => Array.from(x).every((v) => v === 0 || v === 1);
const mean = (x: ArrayLike<number>) => Array.from(x).reduce((a, b) => a + b, 0) / x.length;

/** A dataset of grey levels: `n` examples of shape [4] with values `levels` each. */
function greyDataset(n: number, levels = [0, 0.1, 0.5, 0.9]): Dataset {
  const x = new Float32Array(n * levels.length);
  for (let i = 0; i < x.length; i++) x[i] = levels[i % levels.length]!;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  return { name: 'grey', shape: [levels.length], levels: null, train: { size: n, x, labels }, test: { size: n, x: x.slice(), labels } };
}

/** Per-position mean over examples of a split of shape [d]. */
function columnMeans(x: Float32Array, d: number): number[] {
  const out = new Array<number>(d).fill(0);
  for (let i = 0; i < x.length; i++) out[i % d]! += x[i]!;
  return out.map((s) => s / (x.length / d));
}

describe('binarizeSplit', () => {
  it('gives 0/1 values whose mean matches the grey levels, keeps labels, and is a prefix for fewer examples', () => {
    const ds = greyDataset(4000);
    const b = binarizeSplit(ds.train, new RandomStream('binarize/train', 3));
    expect(b.size).toBe(4000);
    expect(b.labels).toBe(ds.train.labels);
    expect(isBinary(b.x)).toBe(true);
    const n = 4000;
    columnMeans(b.x, 4).forEach((m, j) => {
      const p = [0, 0.1, 0.5, 0.9][j]!;
      // 4 standard errors of a Bernoulli(p) mean over n draws (exact 0 for p = 0)
      expect(Math.abs(m - p)).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / n) + 1e-12);
    });
    const first = binarizeSplit({ size: 10, x: ds.train.x.subarray(0, 40) }, new RandomStream('binarize/train', 3));
    expect(Array.from(first.x)).toEqual(Array.from(b.x.subarray(0, 40)));
  });
});

describe('bernoulliBinarize (the dynamic transform)', () => {
  it('has per-element means matching the grey levels and leaves no tensors behind', () => {
    const levels = [0, 0.05, 0.3, 0.5, 0.8, 1];
    const rng = new RandomStream('data/transform', 11);
    const x = tf.tensor2d([levels]);
    const draws = 2000;
    const sums = new Array<number>(levels.length).fill(0);
    const before = tf.memory().numTensors;
    for (let i = 0; i < draws; i++) {
      const b = bernoulliBinarize(x, rng);
      const v = b.dataSync();
      expect(b.dtype).toBe('float32');
      expect(isBinary(v)).toBe(true);
      v.forEach((bit, j) => (sums[j]! += bit));
      b.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    sums.forEach((s, j) => {
      const p = levels[j]!;
      expect(Math.abs(s / draws - p)).toBeLessThanOrEqual(4 * Math.sqrt((p * (1 - p)) / draws) + 1e-12);
    });
    x.dispose();
  });
});

describe('binarizeDataset', () => {
  it('dynamic: training batches differ between epochs, are deterministic for a seed; the test split is fixed binary', () => {
    const ds = binarizeDataset(greyDataset(32), { binarization: 'dynamic', seed: 0 });
    expect(ds.levels).toBe(2);
    expect(ds.name).toBe('binarized_grey');
    expect(ds.transform).toBeDefined();
    expect(Array.from(ds.train.x)).toEqual(Array.from(greyDataset(32).train.x)); // grey levels kept
    expect(isBinary(ds.test.x)).toBe(true);

    // What the trainer does: each epoch, gather a batch of the epoch's order and transform it with
    // the run's data/transform stream.
    const epochs = (runSeed: number) => {
      const rng = new RandomStreams(runSeed).stream('data/transform');
      return [0, 1].map((epoch) =>
        tf.tidy(() => {
          const order = Array.from(epochPermutation(32, runSeed, epoch)).sort((a, b) => a - b); // same examples each epoch
          const { x } = gatherBatch(ds.train, ds.shape, order);
          return Array.from(ds.transform!(x, rng, true).dataSync());
        }),
      );
    };
    const [e0, e1] = epochs(5);
    expect(isBinary(e0!)).toBe(true);
    expect(e1).not.toEqual(e0);
    expect(epochs(5)).toEqual([e0, e1]);
    expect(epochs(6)[0]).not.toEqual(e0);

    // On the binary test split the transform changes nothing, whatever the stream.
    tf.tidy(() => {
      const { x } = gatherBatch(ds.test, ds.shape, Array.from({ length: 32 }, (_, i) => i));
      const y = ds.transform!(x, new RandomStream('eval', 9), false);
      expect(Array.from(y.dataSync())).toEqual(Array.from(ds.test.x));
    });
  });

  it('static: both splits binary and fixed by the binarize seed alone; no transform', () => {
    const a = binarizeDataset(greyDataset(16), { binarization: 'static', seed: 4 });
    const b = binarizeDataset(greyDataset(16), { binarization: 'static', seed: 4 });
    const c = binarizeDataset(greyDataset(16), { binarization: 'static', seed: 5 });
    expect(a.transform).toBeUndefined();
    expect(a.levels).toBe(2);
    expect(isBinary(a.train.x) && isBinary(a.test.x)).toBe(true);
    expect(Array.from(a.train.x)).toEqual(Array.from(b.train.x));
    expect(Array.from(a.test.x)).toEqual(Array.from(b.test.x));
    expect(Array.from(c.train.x)).not.toEqual(Array.from(a.train.x));
    // The train and test splits hold the same grey levels here, yet get different draws.
    expect(Array.from(a.train.x)).not.toEqual(Array.from(a.test.x));
    // The static and dynamic test sets coincide for the same seed.
    expect(Array.from(binarizeDataset(greyDataset(16), { binarization: 'dynamic', seed: 4 }).test.x)).toEqual(Array.from(a.test.x));
  });

  it('rejects values outside [0, 1], a bad mode and a bad seed', () => {
    const bad = greyDataset(2);
    bad.test.x[5] = 1.5;
    expect(() => binarizeDataset(bad, { binarization: 'static', seed: 0 })).toThrowError(/test split value 1.5 at index 5 is outside \[0, 1\]/);
    expect(() => binarizeDataset(greyDataset(2), { binarization: 'half' as 'static', seed: 0 })).toThrowError(VaeLabError);
    expect(() => binarizeDataset(greyDataset(2), { binarization: 'static', seed: -1 })).toThrowError(/seed must be a non-negative integer/);
  });
});

describe('binarized_mnist through the registry', () => {
  const registry = async () => new ComponentRegistry().use(await import('./index.js'));
  const ctx = (seed = 1) => ({ streams: new RandomStreams(seed), cwd: tmp });

  it('builds from a config block on MNIST files: 0/1 test values with the grey levels as mean', async () => {
    mkdirSync(join(tmp, 'mn'));
    writeFakeMnist(join(tmp, 'mn'), 5, 40, (f, b) => writeFileSync(f, b));
    const r = await registry();
    const ds = (await r.build('data', { name: 'binarized_mnist', path: 'mn', binarization: 'static', binarize_seed: 2 }, ctx())) as Dataset;
    expect(ds).toMatchObject({ name: 'binarized_mnist', shape: [28, 28, 1], levels: 2 });
    expect(ds.train.size).toBe(5);
    expect(ds.test.size).toBe(40);
    expect(isBinary(ds.train.x) && isBinary(ds.test.x)).toBe(true);
    // Pixel k of fake image i is ((i + k) % 256) / 255: the grey mean over the test split is known.
    let grey = 0;
    for (let i = 0; i < 40; i++) for (let k = 0; k < 784; k++) grey += ((i + k) % 256) / 255;
    grey /= 40 * 784;
    expect(Math.abs(mean(ds.test.x) - grey)).toBeLessThan(4 * Math.sqrt(0.25 / (40 * 784)));
    expect(Array.from(ds.test.labels!.subarray(0, 3))).toEqual([0, 1, 2]);
  });

  it('defaults to dynamic with binarize_seed 0, independent of the run seed, and applies limits', async () => {
    const r = await registry();
    const def = r.get('data', 'binarized_mnist');
    const opts = ComponentRegistry.options(def);
    expect(opts.find((o) => o.name === 'binarization')).toMatchObject({ default: 'dynamic' });
    expect(opts.find((o) => o.name === 'binarize_seed')).toMatchObject({ default: 0 });
    expect(opts.map((o) => o.name)).toEqual(expect.arrayContaining(['path', 'train_limit', 'test_limit']));
    const a = (await r.build('data', { name: 'binarized_mnist', train_limit: 20, test_limit: 30 }, ctx(1))) as Dataset;
    const b = (await r.build('data', { name: 'binarized_mnist', train_limit: 20, test_limit: 30 }, ctx(2))) as Dataset;
    expect(a.transform).toBeDefined();
    expect(a.train.size).toBe(20);
    expect(a.test.size).toBe(30);
    expect(isBinary(a.test.x)).toBe(true);
    expect(isBinary(a.train.x)).toBe(false); // grey levels, binarized per batch
    expect(Array.from(a.test.x)).toEqual(Array.from(b.test.x));
  });

  it('rejects bad options with the config path', async () => {
    const r = await registry();
    expect(() => r.build('data', { name: 'binarized_mnist', binarization: 'sometimes' }, ctx(), 'data')).toThrowError(/data\.binarization:/);
    expect(() => r.build('data', { name: 'binarized_mnist', binarize_seed: 1.5 }, ctx(), 'data')).toThrowError(/data\.binarize_seed:/);
  });
});
