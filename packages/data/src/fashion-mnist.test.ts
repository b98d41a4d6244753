import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ComponentRegistry, RandomStreams } from '@vaelab/core';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetNotFoundError, components, loadFashionMnist } from './index.js';
import { writeFakeMnist } from './test-helpers.js';

// Generated IDX files in a temporary folder: the tests never need the Debian package.
const tmp = mkdtempSync(join(tmpdir(), 'vaelab-fashion-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('fashion_mnist', () => {
  it('loads the four (gzipped) IDX files with labels and ten classes', () => {
    const dir = join(tmp, 'gz');
    mkdirSync(dir);
    writeFakeMnist(dir, 12, 5, (f, b) => writeFileSync(`${f}.gz`, gzipSync(b)));
    const ds = loadFashionMnist({ path: dir });
    expect(ds.name).toBe('fashion_mnist');
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(ds.levels).toBe(256);
    expect(ds.numClasses).toBe(10);
    expect(ds.train.size).toBe(12);
    expect(Array.from(ds.train.labels!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(ds.test.labels!.length).toBe(5);
    expect(ds.train.x[1]).toBeCloseTo(1 / 255, 7);
  });

  it('is a registered component whose path resolves against the project and whose limits apply', () => {
    const dir = join(tmp, 'plain');
    mkdirSync(dir);
    writeFakeMnist(dir, 6, 4, (f, b) => writeFileSync(f, b));
    const registry = new ComponentRegistry().use({ components: [...components] });
    const ds = registry.build('data', { name: 'fashion_mnist', path: 'plain', train_limit: 3 }, { streams: new RandomStreams(1), cwd: tmp }) as ReturnType<typeof loadFashionMnist>;
    expect(ds.train.size).toBe(3);
    expect(ds.test.size).toBe(4);
  });

  it('says how to get the files when they are missing', () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    expect(() => loadFashionMnist({ path: empty })).toThrow(DatasetNotFoundError);
    expect(() => loadFashionMnist({ path: empty })).toThrow(/apt-get install dataset-fashion-mnist.*data\.path/);
    expect(() => loadFashionMnist({ path: empty })).toThrow(/train-images-idx3-ubyte/);
  });
});
