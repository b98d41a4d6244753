import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { maskedCrc32c } from './crc32c.js';
import { RunFolderError } from './errors.js';
import { makeFolders } from './out-dir.js';

/*
 * TensorBoard event files, written without a library. A file is a sequence of TFRecords:
 *   uint64 length (LE) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
 * and each `data` is a protobuf `Event` (tensorflow/core/util/event.proto):
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5 }
 *   Summary { repeated Value value = 1 }                                (framework/summary.proto)
 *   Value   { string tag = 1; float simple_value = 2; Image image = 4 }
 *   Image   { int32 height = 1; int32 width = 2; int32 colorspace = 3; bytes encoded_image_string = 4 }
 * Only the fields above are written; the reader skips any other field.
 */

// ---- A minimal protobuf encoder: wire types 0 (varint), 1 (fixed64), 2 (length-delimited), 5 (fixed32).

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
  }

  private varint(value: bigint): void {
    // int64 negatives are encoded as their 64-bit two's complement (10 bytes).
    let v = BigInt.asUintN(64, value);
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wireType: number): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  int(field: number, value: number | bigint): this {
    this.key(field, VARINT);
    this.varint(BigInt(value));
    return this;
  }

  double(field: number, value: number): this {
    this.key(field, FIXED64);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    this.push(bytes);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, LENGTH_DELIMITED);
    this.varint(BigInt(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

// ---- The matching decoder (for the reader).

class ProtoReader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly where: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private fail(reason: string): never {
    throw new RunFolderError(`${this.where}: malformed protobuf at byte ${this.pos}: ${reason}`, this.where);
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) this.fail('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    return this.fail('varint longer than 10 bytes');
  }

  key(): { field: number; wireType: number } {
    const k = Number(this.varint());
    return { field: k >>> 3, wireType: k & 7 };
  }

  private take(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) this.fail(`needs ${n} bytes, ${this.buf.length - this.pos} left`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  double(): number {
    const b = this.take(8);
    return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
  }

  float(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
  }

  bytes(): Uint8Array {
    return this.take(Number(this.varint()));
  }

  string(): string {
    return new TextDecoder().decode(this.bytes());
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.take(8);
    else if (wireType === LENGTH_DELIMITED) this.bytes();
    else if (wireType === FIXED32) this.take(4);
    else this.fail(`unsupported wire type ${wireType}`);
  }
}

// ---- Events.

export interface TensorBoardImage {
  height: number;
  width: number;
  /** 1 grayscale, 2 grayscale + alpha, 3 RGB, 4 RGBA (summary.proto). */
  colorspace: number;
  /** The encoded image (PNG). */
  encoded: Uint8Array;
}

export interface TensorBoardValue {
  tag: string;
  simpleValue?: number;
  image?: TensorBoardImage;
}

export interface TensorBoardEvent {
  /** Seconds since the Unix epoch. */
  wallTime: number;
  step: number;
  fileVersion?: string;
  values: TensorBoardValue[];
}

export function encodeEvent(event: TensorBoardEvent): Uint8Array {
  const proto = new ProtoWriter().double(1, event.wallTime).int(2, Math.trunc(event.step));
  if (event.fileVersion !== undefined) proto.string(3, event.fileVersion);
  if (event.values.length > 0) {
    const summary = new ProtoWriter();
    for (const value of event.values) {
      const v = new ProtoWriter().string(1, value.tag);
      if (value.simpleValue !== undefined) v.float(2, value.simpleValue);
      if (value.image !== undefined) {
        const image = new ProtoWriter()
          .int(1, value.image.height)
          .int(2, value.image.width)
          .int(3, value.image.colorspace)
          .bytes(4, value.image.encoded);
        v.bytes(4, image.finish());
      }
      summary.bytes(1, v.finish());
    }
    proto.bytes(5, summary.finish());
  }
  return proto.finish();
}

function decodeImage(bytes: Uint8Array, where: string): TensorBoardImage {
  const r = new ProtoReader(bytes, where);
  const image: TensorBoardImage = { height: 0, width: 0, colorspace: 0, encoded: new Uint8Array(0) };
  while (!r.done) {
    const { field, wireType } = r.key();
    if (field === 1 && wireType === VARINT) image.height = Number(BigInt.asIntN(32, r.varint()));
    else if (field === 2 && wireType === VARINT) image.width = Number(BigInt.asIntN(32, r.varint()));
    else if (field === 3 && wireType === VARINT) image.colorspace = Number(BigInt.asIntN(32, r.varint()));
    else if (field === 4 && wireType === LENGTH_DELIMITED) image.encoded = r.bytes().slice();
    else r.skip(wireType);
  }
  return image;
}

function decodeValue(bytes: Uint8Array, where: string): TensorBoardValue {
  const r = new ProtoReader(bytes, where);
  const value: TensorBoardValue = { tag: '' };
  while (!r.done) {
    const { field, wireType } = r.key();
    if (field === 1 && wireType === LENGTH_DELIMITED) value.tag = r.string();
    else if (field === 2 && wireType === FIXED32) value.simpleValue = r.float();
    else if (field === 4 && wireType === LENGTH_DELIMITED) value.image = decodeImage(r.bytes(), where);
    else r.skip(wireType);
  }
  return value;
}

export function decodeEvent(bytes: Uint8Array, where = 'event'): TensorBoardEvent {
  const r = new ProtoReader(bytes, where);
  const event: TensorBoardEvent = { wallTime: 0, step: 0, values: [] };
  while (!r.done) {
    const { field, wireType } = r.key();
    if (field === 1 && wireType === FIXED64) event.wallTime = r.double();
    else if (field === 2 && wireType === VARINT) event.step = Number(BigInt.asIntN(64, r.varint()));
    else if (field === 3 && wireType === LENGTH_DELIMITED) event.fileVersion = r.string();
    else if (field === 5 && wireType === LENGTH_DELIMITED) {
      const summary = new ProtoReader(r.bytes(), where);
      while (!summary.done) {
        const k = summary.key();
        if (k.field === 1 && k.wireType === LENGTH_DELIMITED) event.values.push(decodeValue(summary.bytes(), where));
        else summary.skip(k.wireType);
      }
    } else r.skip(wireType);
  }
  return event;
}

// ---- TFRecord framing.

/** One record: length, its masked CRC, the data, the data's masked CRC. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * Read every event of a file, checking both CRCs of every record; a mismatch or a truncated
 * record throws a `RunFolderError` naming the file and the record's byte offset.
 */
export function readEventFile(path: string): TensorBoardEvent[] {
  const buf = new Uint8Array(readFileSync(path));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const events: TensorBoardEvent[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const fail = (reason: string): never => {
      throw new RunFolderError(`${path}: record at byte offset ${offset}: ${reason}`, path);
    };
    if (offset + 12 > buf.length) fail(`truncated header (${buf.length - offset} bytes left)`);
    const lengthCrc = view.getUint32(offset + 8, true);
    if (maskedCrc32c(buf.subarray(offset, offset + 8)) !== lengthCrc) fail('length CRC mismatch');
    const length = view.getBigUint64(offset, true);
    if (length > BigInt(buf.length - offset - 16)) fail(`length ${length} runs past the end of the file`);
    const start = offset + 12;
    const data = buf.subarray(start, start + Number(length));
    const dataCrc = view.getUint32(start + data.length, true);
    if (maskedCrc32c(data) !== dataCrc) fail('data CRC mismatch');
    events.push(decodeEvent(data, `${path}: record at byte offset ${offset}`));
    offset = start + data.length + 4;
  }
  return events;
}

// ---- The writer.

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from a PNG's IHDR chunk (bytes 16..24), or undefined when it is not a PNG. */
function pngSize(png: Uint8Array): { width: number; height: number } | undefined {
  if (png.length < 24 || !PNG_SIGNATURE.every((b, i) => png[i] === b)) return undefined;
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * Appends events to `<dir>/events.out.tfevents.<unix seconds>.<hostname>`, one synchronous write
 * per event, so a crash loses at most the event being written (and `readEventFile` reports that
 * torn last record by offset). `tensorboard --logdir <runs folder>` shows every run's `tb/`.
 */
export class TensorBoardWriter {
  readonly path: string;
  private fd: number | undefined;

  constructor(
    readonly dir: string,
    options: { wallTime?: number } = {},
  ) {
    makeFolders(dir);
    const wallTime = options.wallTime ?? Date.now() / 1000;
    this.path = join(dir, `events.out.tfevents.${Math.floor(wallTime)}.${hostname()}`);
    // 'a': a second writer in the same second appends to the same file rather than clobbering it.
    this.fd = openSync(this.path, 'a');
    this.write({ wallTime, step: 0, fileVersion: 'brain.Event:2', values: [] });
  }

  private write(event: TensorBoardEvent): void {
    if (this.fd === undefined) throw new RunFolderError(`${this.path}: the TensorBoard writer is closed`, this.path);
    writeSync(this.fd, frameRecord(encodeEvent(event)));
  }

  scalar(tag: string, value: number, step: number, wallTime = Date.now() / 1000): void {
    this.write({ wallTime, step, values: [{ tag, simpleValue: value }] });
  }

  /**
   * Every finite number of `record` as `<prefix>/<key>` in one event (so `train` and `test` curves
   * of a term sit under one tag name each). Non-numbers (split names, per-dimension arrays) are skipped.
   */
  scalars(record: Record<string, unknown>, step: number, prefix: string, wallTime = Date.now() / 1000): void {
    const values: TensorBoardValue[] = [];
    for (const [key, value] of Object.entries(record)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      values.push({ tag: prefix === '' ? key : `${prefix}/${key}`, simpleValue: value });
    }
    if (values.length > 0) this.write({ wallTime, step, values });
  }

  /** A PNG image; `channels` 1, 2, 3 or 4 is TensorBoard's colorspace. Size is checked against the PNG header. */
  image(tag: string, png: Uint8Array, height: number, width: number, channels: number, step: number, wallTime = Date.now() / 1000): void {
    if (![1, 2, 3, 4].includes(channels)) {
      throw new RunFolderError(`${this.path}: image ${tag}: channels must be 1, 2, 3 or 4, got ${channels}`, this.path);
    }
    const size = pngSize(png);
    if (size === undefined) throw new RunFolderError(`${this.path}: image ${tag}: the bytes are not a PNG`, this.path);
    if (size.width !== width || size.height !== height) {
      throw new RunFolderError(
        `${this.path}: image ${tag}: the PNG is ${size.height}x${size.width} (height x width), not ${height}x${width}`,
        this.path,
      );
    }
    this.write({ wallTime, step, values: [{ tag, image: { height, width, colorspace: channels, encoded: png } }] });
  }

  /** Push what was written to the disk. */
  flush(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  /** Flush and close; later writes throw, a second close does nothing. */
  close(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
