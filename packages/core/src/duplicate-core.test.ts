import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Categorical } from './categorical.js';
import { NonFiniteLossError, ShapeError, VaeLabError, isVaeLabError } from './errors.js';
import { coreCopies } from './brand.js';
import { kl } from './kl.js';
import { Normal, isNormal } from './normal.js';
import { RandomStream } from './random.js';
import { bundleCore } from './test-bundle.js';

/*
 * Two installed copies of @vaelab/core, as npm nests them: core is bundled from src the way tsup
 * builds dist/index.js (esbuild, ESM, dependencies external), into two node_modules folders of a
 * scratch directory inside the repo (so that both resolve the one @tensorflow/tfjs). Each is
 * imported natively; this file's own imports are a third copy (src, through vitest's alias).
 */

type Core = typeof import('./index.js');

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = join(repo, '.tmp-tests', `duplicate-core-${process.pid}`);

async function installCopy(name: string): Promise<{ core: Core; url: string }> {
  const pkgDir = join(scratch, name, 'node_modules', '@vaelab', 'core');
  await mkdir(join(pkgDir, 'dist'), { recursive: true });
  await bundleCore(join(pkgDir, 'dist/index.js'));
  await copyFile(join(repo, 'packages/core/package.json'), join(pkgDir, 'package.json'));
  const url = pathToFileURL(join(pkgDir, 'dist/index.js')).href;
  return { core: (await import(/* @vite-ignore */ url)) as Core, url };
}

/** Σ_d log(σp/σq) + (σq² + (μq − μp)²)/(2σp²) − ½, float64. */
const closedForm = (mq: number[], sq: number[], mp: number[], sp: number[]) =>
  mq.reduce((s, _, d) => s + Math.log(sp[d]! / sq[d]!) + (sq[d]! ** 2 + (mq[d]! - mp[d]!) ** 2) / (2 * sp[d]! ** 2) - 0.5, 0);

describe('two copies of @vaelab/core', () => {
  let a: Core;
  let b: Core;
  let urls: string[];

  beforeAll(async () => {
    const copyA = await installCopy('a');
    const copyB = await installCopy('b');
    a = copyA.core;
    b = copyB.core;
    urls = [copyA.url, copyB.url];
  }, 30_000);

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('are distinct modules with distinct classes, recorded on globalThis', () => {
    expect(a.Normal).not.toBe(b.Normal);
    expect(a.Normal).not.toBe(Normal);
    const recorded = coreCopies().map((c) => c.url);
    for (const url of urls) expect(recorded).toContain(url);
  });

  it('kl(diagonal Gaussian, standard normal) is analytic and exact whichever copy made each side', () => {
    const mq = [0.7, -1.2];
    const sq = [0.4, 1.3];
    const expected = closedForm(mq, sq, [0, 0], [1, 1]);
    const makers = { src: { Normal }, a, b };
    const klOf = { src: kl, a: a.kl, b: b.kl };
    for (const [qName, qCore] of Object.entries(makers)) {
      for (const [pName, pCore] of Object.entries(makers)) {
        for (const [klName, klFn] of Object.entries(klOf)) {
          const q = new qCore.Normal(tf.tensor2d([mq]), tf.tensor2d([sq]));
          const p = new pCore.Normal(tf.zeros([1, 2]), tf.ones([1, 2]));
          const r = klFn(q, p, { rng: new RandomStream('dup', 1) });
          expect(r.analytic, `q from ${qName}, p from ${pName}, kl from ${klName}`).toBe(true);
          expect(r.value.dataSync()[0]).toBeCloseTo(expected, 5);
        }
      }
    }
  });

  it('share one KL registry: a rule registered by one copy applies to the other copy\'s classes', () => {
    const q = new b.Categorical(tf.tensor2d([[0.2, -1, 0.5]]));
    const p = new Categorical(tf.tensor2d([[0, 0, 0]]));
    expect(a.hasAnalyticKL(q, p)).toBe(true);
    expect(a.kl(q, p, { rng: new RandomStream('dup', 2) }).analytic).toBe(true);
  });

  it('instanceof and the brand checks recognize the other copy\'s distributions and errors', () => {
    const fromB = new b.Normal(tf.zeros([1, 2]), tf.ones([1, 2]));
    expect(fromB instanceof Normal).toBe(true);
    expect(fromB instanceof a.Normal).toBe(true);
    expect(isNormal(fromB)).toBe(true);
    expect(a.isNormal(new Normal(tf.zeros([1]), tf.ones([1])))).toBe(true);
    expect(fromB instanceof a.Categorical).toBe(false);

    const shapeError = new b.ShapeError('bad shape');
    expect(shapeError instanceof ShapeError).toBe(true);
    expect(shapeError instanceof VaeLabError).toBe(true);
    expect(shapeError instanceof a.VaeLabError).toBe(true);
    expect(shapeError instanceof NonFiniteLossError).toBe(false);
    expect(isVaeLabError(shapeError)).toBe(true);
    expect(a.isVaeLabError(new NonFiniteLossError(3, ['kl'], 'kl is NaN'))).toBe(true);
    expect(isVaeLabError(new Error('plain'))).toBe(false);
    expect(new a.NonFiniteLossError(3, ['kl'], 'x') instanceof NonFiniteLossError).toBe(true);
  });

  it('a copy of another version says so loudly, naming both copies', async () => {
    const slot = Symbol.for('vaelab.core.copies.v1');
    const copies = (globalThis as unknown as Record<symbol, Array<{ version: string; url: string }>>)[slot]!;
    const other = { version: '0.0.0-other', url: 'file:///elsewhere/node_modules/@vaelab/core/dist/index.js' };
    copies.push(other);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const c = await installCopy('c');
      const messages = warn.mock.calls.map((call) => String(call[0]));
      const message = messages.find((m) => m.includes(other.url));
      expect(message).toBeDefined();
      expect(message).toContain(c.url);
      expect(message).toContain('0.0.0-other');
      // The estimator does not change: the analytic rule still applies across all copies.
      const r = c.core.kl(new a.Normal(tf.zeros([1, 1]), tf.ones([1, 1])), new Normal(tf.zeros([1, 1]), tf.ones([1, 1])), { rng: new RandomStream('dup', 3) });
      expect(r.analytic).toBe(true);
    } finally {
      warn.mockRestore();
      copies.splice(copies.indexOf(other), 1);
    }
  });
});
