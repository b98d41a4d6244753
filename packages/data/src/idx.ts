import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataFormatError } from './errors.js';

/*
 * The IDX format (LeCun's MNIST files): a 4-byte magic number [0, 0, type, ndims], then ndims
 * dimension sizes as big-endian uint32, then the data in row-major order. Only type 0x08
 * (unsigned byte) is supported, which is what every MNIST-family file uses.
 */

export interface IdxArray {
  /** Dimension sizes, e.g. [10000, 28, 28] for an image file, [10000] for a label file. */
  readonly dims: number[];
  /** The values, row-major: a view into the input bytes, not a copy. */
  readonly data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}

/** Validate the header (magic, type, dimensions) and return the dims and header length. */
function parseHeader(bytes: Uint8Array, file: string): { dims: number[]; headerLen: number; count: number } {
  const where = `IDX file ${file}`;
  if (bytes.length < 4) {
    throw new DataFormatError(`${where}: too short for an IDX header (${bytes.length} bytes, need at least 4)`, file);
  }
  const b0 = bytes[0]!;
  const b1 = bytes[1]!;
  const type = bytes[2]!;
  const ndims = bytes[3]!;
  if (b0 !== 0 || b1 !== 0) {
    const gz = b0 === 0x1f && b1 === 0x8b ? ' (this looks gzip-compressed; name it *.gz or gunzip it)' : '';
    throw new DataFormatError(
      `${where}: bad magic number: expected the first two bytes to be 0x00 0x00, found ${hex(b0)} ${hex(b1)}${gz}`,
      file,
    );
  }
  if (type !== 0x08) {
    const name = TYPE_NAMES[type];
    throw new DataFormatError(
      `${where}: unsupported data type ${hex(type)}${name ? ` (${name})` : ' (unknown)'}; only 0x08 (unsigned byte) is supported`,
      file,
    );
  }
  if (ndims === 0) throw new DataFormatError(`${where}: header declares 0 dimensions`, file);
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen) {
    throw new DataFormatError(
      `${where}: truncated header: ${ndims} dimensions need ${headerLen} header bytes, found ${bytes.length}`,
      file,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  return { dims, headerLen, count };
}

function checkLength(dims: number[], headerLen: number, count: number, found: number, file: string): void {
  const expected = headerLen + count;
  if (found !== expected) {
    const what = found < expected ? 'truncated' : 'has trailing bytes';
    throw new DataFormatError(
      `IDX file ${file}: ${what}: dimensions [${dims.join(', ')}] need ${expected} bytes (${headerLen} header + ${count} data), found ${found}`,
      file,
    );
  }
}

/** Parse an IDX file held in memory. `file` is only used in error messages. */
export function parseIdx(bytes: Uint8Array, file = '<bytes>'): IdxArray {
  const { dims, headerLen, count } = parseHeader(bytes, file);
  checkLength(dims, headerLen, count, bytes.length, file);
  return { dims, data: bytes.subarray(headerLen) };
}

/** Whether the bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export interface IdxFile extends IdxArray {
  /** Items (size of the first dimension) in the whole file; `dims[0]` is the number kept. */
  readonly total: number;
}

function keepFirst(arr: IdxArray, limit: number | null | undefined): IdxFile {
  const total = arr.dims[0]!;
  if (limit === null || limit === undefined || limit >= total) return { ...arr, total };
  const item = arr.dims.slice(1).reduce((a, b) => a * b, 1);
  return { dims: [limit, ...arr.dims.slice(1)], data: arr.data.subarray(0, limit * item), total };
}

/** Fill `buf` from the file at `position`. */
function readFully(fd: number, buf: Uint8Array, position: number, file: string): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) throw new DataFormatError(`IDX file ${file}: unexpected end of file`, file);
    off += n;
  }
}

/**
 * Read and parse an IDX file from disk, gunzipping it first when it is gzip-compressed (`*.gz`).
 * With `limit`, only the first `limit` items are kept; for an uncompressed file only their bytes
 * are read (the file's size is still checked against its header).
 */
export function readIdxFile(file: string, limit?: number | null): IdxFile {
  if (limit !== undefined && limit !== null && (!Number.isInteger(limit) || limit < 0)) {
    throw new RangeError(`readIdxFile: limit must be a non-negative integer or null, got ${limit}`);
  }
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = new Uint8Array(Math.min(size, 4 + 4 * 255));
    readFully(fd, head, 0, file);
    if (file.endsWith('.gz') || isGzip(head)) {
      const raw = new Uint8Array(size);
      readFully(fd, raw, 0, file);
      let bytes: Uint8Array;
      try {
        bytes = gunzipSync(raw);
      } catch (e) {
        throw new DataFormatError(`IDX file ${file}: cannot gunzip it: ${(e as Error).message}`, file);
      }
      return keepFirst(parseIdx(bytes, file), limit);
    }
    const { dims, headerLen, count } = parseHeader(head, file);
    checkLength(dims, headerLen, count, size, file);
    const total = dims[0]!;
    const keep = limit === null || limit === undefined ? total : Math.min(limit, total);
    const item = total === 0 ? 0 : count / total;
    const data = new Uint8Array(keep * item);
    readFully(fd, data, headerLen, file);
    return { dims: [keep, ...dims.slice(1)], data, total };
  } finally {
    closeSync(fd);
  }
}
