import { beforeAll, describe, expect, it } from 'vitest';
import { loadAddon, type NativeAddon } from './addon.js';

/* The compiled addon on its own: gemm on plain and shared buffers, and its argument checks. */

let addon: NativeAddon;
beforeAll(() => {
  const r = loadAddon();
  if (!r.ok) {
    throw new Error(
      `@vaelab/native's addon is needed for these tests and did not load: ${r.reason}. ` +
        'Install OpenBLAS (apt-get install libopenblas-dev) and run: npm run build:native -w @vaelab/native',
    );
  }
  addon = r.addon;
});

/** C = op(A)·op(B) in float64, row-major. */
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number, ta: boolean, tb: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ta ? p * m + i : i * k + p]! * b[tb ? j * k + p : p * n + j]!;
      c[i * n + j] = s;
    }
  }
  return c;
}

function fill(view: Float32Array, seed: number): void {
  for (let i = 0; i < view.length; i++) view[i] = Math.sin(seed * 7.3 + i * 1.7);
}

describe('addon.gemm', () => {
  it('computes op(A)·op(B) for the four flag combinations, with batch strides and a broadcast (stride 0) operand', () => {
    const [m, n, k, batch] = [5, 7, 3, 3];
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        for (const shared of [false, true]) {
          // A: batch matrices, B: one matrix reused (stride 0), C after them; 16 bytes of padding first.
          const aBytes = m * k * 4;
          const bBytes = k * n * 4;
          const total = 16 + batch * aBytes + bBytes + batch * m * n * 4;
          const buffer = shared ? new SharedArrayBuffer(total) : new ArrayBuffer(total);
          const a = new Float32Array(buffer, 16, batch * m * k);
          const b = new Float32Array(buffer, 16 + batch * aBytes, k * n);
          const cOffset = 16 + batch * aBytes + bBytes;
          fill(a, 1);
          fill(b, 2);
          addon.gemm(new Uint8Array(buffer), ta, tb, m, n, k, 16, 16 + batch * aBytes, cOffset, batch, aBytes, 0);
          const c = new Float32Array(buffer, cOffset, batch * m * n);
          for (let i = 0; i < batch; i++) {
            const want = reference(a.subarray(i * m * k, (i + 1) * m * k), b, m, n, k, ta, tb);
            for (let j = 0; j < m * n; j++) expect(c[i * m * n + j]!).toBeCloseTo(want[j]!, 5);
          }
        }
      }
    }
  });

  it('takes offsets relative to a typed array view, and accepts the ArrayBuffer itself', () => {
    const buffer = new ArrayBuffer(4096);
    const view = new Uint8Array(buffer, 1024, 1024);
    const f = new Float32Array(buffer);
    f.set([1, 2, 3, 4], 256); // A [2,2] at view offset 0
    f.set([5, 6, 7, 8], 260); // B [2,2] at view offset 16
    addon.gemm(view, false, false, 2, 2, 2, 0, 16, 32, 1, 0, 0);
    expect(Array.from(f.subarray(264, 268))).toEqual([19, 22, 43, 50]);
    addon.gemm(buffer, true, false, 2, 2, 2, 1024, 1040, 1056, 1, 0, 0);
    expect(Array.from(f.subarray(264, 268))).toEqual([26, 30, 38, 44]);
  });

  it('writes zeros for k = 0 and nothing for m = 0', () => {
    const buffer = new ArrayBuffer(64);
    const f = new Float32Array(buffer).fill(9);
    addon.gemm(buffer, false, false, 2, 2, 0, 0, 0, 0, 1, 0, 0);
    expect(Array.from(f.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    addon.gemm(buffer, false, false, 0, 2, 2, 0, 0, 16, 1, 0, 0);
    expect(f[4]).toBe(9);
  });

  it('refuses operands outside the heap, misaligned offsets, a detached heap and bad arguments', () => {
    const buffer = new ArrayBuffer(64);
    expect(() => addon.gemm(buffer, false, false, 2, 2, 2, 0, 16, 60, 1, 0, 0)).toThrow(RangeError);
    expect(() => addon.gemm(buffer, false, false, 2, 2, 2, 0, 56, 32, 1, 0, 0)).toThrow(/outside the heap/);
    expect(() => addon.gemm(buffer, false, false, 2, 2, 2, 0, 0, 48, 2, 16, 16)).toThrow(/outside the heap/); // the second C
    expect(() => addon.gemm(buffer, false, false, 2, 2, 2, 2, 16, 32, 1, 0, 0)).toThrow(/multiples of 4/);
    expect(() => addon.gemm(buffer, false, false, 2 ** 40, 2 ** 40, 2, 0, 16, 32, 1, 0, 0)).toThrow(RangeError);
    expect(() => addon.gemm(buffer, false, false, -1, 2, 2, 0, 16, 32, 1, 0, 0)).toThrow(TypeError);
    expect(() => addon.gemm(buffer, false, false, 1.5, 2, 2, 0, 16, 32, 1, 0, 0)).toThrow(TypeError);
    expect(() => addon.gemm({} as ArrayBuffer, false, false, 2, 2, 2, 0, 16, 32, 1, 0, 0)).toThrow(/ArrayBuffer or a typed array/);
    expect(() => (addon.gemm as unknown as (...a: unknown[]) => void)(buffer, false)).toThrow(/12 arguments/);
    const detached = new ArrayBuffer(64);
    structuredClone(detached, { transfer: [detached] });
    expect(() => addon.gemm(detached, false, false, 2, 2, 2, 0, 16, 32, 1, 0, 0)).toThrow(/detached/);
  });
});

describe('addon.info and setThreads', () => {
  it('reports OpenBLAS and sets its thread count', () => {
    const info = addon.info();
    expect(info.config).toMatch(/OpenBLAS/);
    expect(info.corename.length).toBeGreaterThan(0);
    expect([0, 1, 2]).toContain(info.parallel);
    const before = info.threads;
    try {
      expect(addon.setThreads(1)).toBe(1);
      expect(addon.info().threads).toBe(1);
    } finally {
      addon.setThreads(before);
    }
    expect(() => addon.setThreads(0)).toThrow(RangeError);
  });
});
