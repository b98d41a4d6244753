import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { VaeLabError } from '@vaelab/core';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFormatError } from './errors.js';
import { parseIdx, readIdxFile } from './idx.js';
import { idxBytes } from './test-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'vaelab-idx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parseIdx', () => {
  it('round-trips dims and data', () => {
    const data = Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) % 256);
    const arr = parseIdx(idxBytes([2, 3, 4], data), 'x.idx');
    expect(arr.dims).toEqual([2, 3, 4]);
    expect(Array.from(arr.data)).toEqual(data);
  });

  it('reads dimensions above 255 as big-endian uint32', () => {
    const arr = parseIdx(idxBytes([300, 1], new Uint8Array(300).fill(9)));
    expect(arr.dims).toEqual([300, 1]);
    expect(arr.data.length).toBe(300);
    expect(arr.data[299]).toBe(9);
  });

  it('rejects a bad magic number, naming the file and the bytes found', () => {
    const b = idxBytes([2], [1, 2]);
    b[0] = 0x12;
    b[1] = 0x34;
    expect(() => parseIdx(b, 'labels.idx')).toThrowError(DataFormatError);
    expect(() => parseIdx(b, 'labels.idx')).toThrowError(/labels\.idx.*bad magic.*0x12 0x34/);
  });

  it('rejects a type other than unsigned byte', () => {
    expect(() => parseIdx(idxBytes([1], [0, 0, 0, 0], 0x0d), 'f.idx')).toThrowError(/f\.idx.*0x0d \(float32\)/);
  });

  it('rejects a truncated file and trailing bytes, saying what it needed and found', () => {
    const full = idxBytes([2, 3], [1, 2, 3, 4, 5, 6]);
    const cut = full.subarray(0, full.length - 2);
    expect(() => parseIdx(cut, 'cut.idx')).toThrowError(/cut\.idx: truncated.*\[2, 3\] need 18 bytes.*found 16/);
    const long = new Uint8Array(full.length + 1);
    long.set(full);
    expect(() => parseIdx(long, 'long.idx')).toThrowError(/long\.idx: has trailing bytes.*found 19/);
    expect(() => parseIdx(new Uint8Array([0, 0]), 'tiny')).toThrowError(/tiny: too short/);
    expect(() => parseIdx(full.subarray(0, 9), 'hdr')).toThrowError(/hdr: truncated header/);
  });

  it('errors are VaeLabErrors carrying the file', () => {
    try {
      parseIdx(new Uint8Array([1, 0, 8, 1]), 'z');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(VaeLabError);
      expect((e as DataFormatError).file).toBe('z');
    }
  });
});

describe('readIdxFile', () => {
  const data = Array.from({ length: 5 * 4 }, (_, i) => i);
  const bytes = idxBytes([5, 4], data);

  it('reads plain and gzipped files alike', () => {
    writeFileSync(join(tmp, 'a-idx2-ubyte'), bytes);
    writeFileSync(join(tmp, 'a-idx2-ubyte.gz'), gzipSync(bytes));
    for (const f of ['a-idx2-ubyte', 'a-idx2-ubyte.gz']) {
      const arr = readIdxFile(join(tmp, f));
      expect(arr.dims).toEqual([5, 4]);
      expect(arr.total).toBe(5);
      expect(Array.from(arr.data)).toEqual(data);
    }
  });

  it('keeps only the first items with a limit', () => {
    for (const f of ['a-idx2-ubyte', 'a-idx2-ubyte.gz']) {
      const arr = readIdxFile(join(tmp, f), 2);
      expect(arr.dims).toEqual([2, 4]);
      expect(arr.total).toBe(5);
      expect(Array.from(arr.data)).toEqual(data.slice(0, 8));
    }
    expect(readIdxFile(join(tmp, 'a-idx2-ubyte'), 99).dims).toEqual([5, 4]);
  });

  it('checks the file size against the header even with a limit', () => {
    writeFileSync(join(tmp, 'cut-idx2-ubyte'), bytes.subarray(0, bytes.length - 1));
    expect(() => readIdxFile(join(tmp, 'cut-idx2-ubyte'), 1)).toThrowError(/cut-idx2-ubyte: truncated/);
  });

  it('says when a .gz file is not gzip data', () => {
    writeFileSync(join(tmp, 'bad.gz'), bytes);
    expect(() => readIdxFile(join(tmp, 'bad.gz'))).toThrowError(/bad\.gz: cannot gunzip/);
  });
});
