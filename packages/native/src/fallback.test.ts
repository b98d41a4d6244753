import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { installNative, nativeAvailable, nativeCounters, nativeStatus, setNativeThreads, uninstallNative } from './index.js';

/* Without the addon: installNative says why, throws nothing and leaves tfjs's kernels in place. */

const dir = mkdtempSync(join(tmpdir(), 'vaelab-native-'));
afterAll(() => {
  uninstallNative();
  rmSync(dir, { recursive: true, force: true });
});

describe('fallback when the addon is missing', () => {
  it('returns ok: false with a reason that says how to build it, and keeps the stock kernel', () => {
    const stock = tf.getKernel('BatchMatMul', 'wasm');
    expect(stock).toBeDefined();
    const r = installNative({ addonPath: join(dir, 'missing.node') });
    expect(r.ok).toBe(false);
    expect(nativeAvailable({ addonPath: join(dir, 'missing.node') })).toEqual(r);
    if (r.ok) return;
    expect(r.reason).toMatch(/not built/);
    expect(r.reason).toMatch(/npx vaelab-native-build/);
    expect(r.reason).toMatch(/libopenblas-dev/);
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(stock);
    expect(nativeStatus().ok).toBe(false);
    expect(() => setNativeThreads(1)).toThrow(/not installed/);
    // tfjs's kernel still computes
    const before = nativeCounters();
    const c = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2]));
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3, 4]);
    expect(nativeCounters()).toEqual(before);
  });

  it('returns ok: false for a file that is not a loadable addon', () => {
    const bogus = join(dir, 'bogus.node');
    writeFileSync(bogus, 'not a shared library');
    const r = installNative({ addonPath: bogus });
    expect(r).toMatchObject({ ok: false });
    if (!r.ok) expect(r.reason).toMatch(/does not load/);
  });

  it('uninstallNative without an install is a no-op', () => {
    const stock = tf.getKernel('BatchMatMul', 'wasm');
    uninstallNative();
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(stock);
  });
});
