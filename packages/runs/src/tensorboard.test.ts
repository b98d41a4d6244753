import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32c, maskedCrc32c } from './crc32c.js';
import { RunFolderError } from './errors.js';
import { TensorBoardWriter, decodeEvent, encodeEvent, readEventFile } from './tensorboard.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'vaelab-tb-'));
const bytes = (text: string) => new TextEncoder().encode(text);

/** A real grayscale PNG (8-bit, filter 0 on every row), built by hand so the test needs no codec. */
function grayPng(height: number, width: number): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (b: Uint8Array) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Uint8Array) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    out.set(data, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, grayscale, deflate, filter 0, no interlace
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = (x * 255) / Math.max(1, width - 1);
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]));
}

describe('crc32c', () => {
  it('matches the CRC-32C check value', () => {
    expect(crc32c(bytes('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    // RFC 3720 (iSCSI) B.4: 32 bytes of zeros -> 0x8A9136AA.
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });

  it('masks as TFRecord does: rotate right 15, add 0xa282ead8', () => {
    const crc = 0xe3069283;
    expect(maskedCrc32c(bytes('123456789'))).toBe((((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0);
  });
});

describe('event encoding', () => {
  it('round-trips events, including a negative and a large step', () => {
    for (const event of [
      { wallTime: 1_700_000_000.25, step: 0, fileVersion: 'brain.Event:2', values: [] },
      { wallTime: 1.5, step: -3, values: [{ tag: 'a', simpleValue: 0.5 }] },
      { wallTime: 2, step: 2 ** 40 + 7, values: [{ tag: 'train/loss', simpleValue: -2 }, { tag: 'b', simpleValue: 8 }] },
    ]) {
      expect(decodeEvent(encodeEvent(event))).toEqual(event);
    }
  });

  it('writes the protobuf bytes of event.proto for a scalar', () => {
    const data = encodeEvent({ wallTime: 0, step: 1, values: [{ tag: 't', simpleValue: 1 }] });
    // 09 <double 0> | 10 01 | 2a 0a (0a 08 (0a 01 't' 15 <float 1>)): Event.summary{Summary.value{tag, simple_value}}
    expect(Buffer.from(data).toString('hex')).toBe('09' + '0000000000000000' + '1001' + '2a0a' + '0a08' + '0a0174' + '15' + '0000803f');
  });
});

describe('TensorBoardWriter', () => {
  it('writes scalars and an image that read back with every CRC checked', () => {
    const dir = join(scratch(), 'tb');
    const writer = new TensorBoardWriter(dir, { wallTime: 1_700_000_000.5 });
    expect(writer.path).toBe(join(dir, `events.out.tfevents.1700000000.${hostname()}`));
    writer.scalar('train/loss', 0.1, 1, 1_700_000_001);
    writer.scalars({ step: 2, split: 'test', loss: 95.123456789, kl: 12.5, kl_per_dim: [1, 2] as unknown as number, nan: Number.NaN }, 2, 'test', 1_700_000_002);
    const png = grayPng(3, 5);
    writer.image('samples', png, 3, 5, 1, 2, 1_700_000_003);
    writer.flush();
    writer.close();
    writer.close();
    expect(() => writer.scalar('late', 1, 3)).toThrow(/closed/);
    expect(readdirSync(dir)).toEqual([`events.out.tfevents.1700000000.${hostname()}`]);

    const events = readEventFile(writer.path);
    expect(events).toHaveLength(4);
    expect(events[0]).toEqual({ wallTime: 1_700_000_000.5, step: 0, fileVersion: 'brain.Event:2', values: [] });
    expect(events[1]).toEqual({ wallTime: 1_700_000_001, step: 1, values: [{ tag: 'train/loss', simpleValue: Math.fround(0.1) }] });
    expect(events[2]).toEqual({
      wallTime: 1_700_000_002,
      step: 2,
      values: [
        { tag: 'test/step', simpleValue: 2 },
        { tag: 'test/loss', simpleValue: Math.fround(95.123456789) },
        { tag: 'test/kl', simpleValue: 12.5 },
      ],
    });
    const image = events[3]!.values[0]!;
    expect(image.tag).toBe('samples');
    expect(image.image).toEqual({ height: 3, width: 5, colorspace: 1, encoded: png });
  });

  it('refuses an image whose size disagrees with its PNG, or bytes that are not a PNG', () => {
    const writer = new TensorBoardWriter(scratch());
    expect(() => writer.image('x', grayPng(3, 5), 5, 3, 1, 0)).toThrow('the PNG is 3x5 (height x width), not 5x3');
    expect(() => writer.image('x', bytes('GIF89a........................'), 3, 5, 1, 0)).toThrow('not a PNG');
    expect(() => writer.image('x', grayPng(3, 5), 3, 5, 7, 0)).toThrow('channels must be 1, 2, 3 or 4');
    writer.close();
  });

  it('detects a corrupted byte in the data or in a length, naming the record offset', () => {
    const dir = scratch();
    const writer = new TensorBoardWriter(dir, { wallTime: 10 });
    writer.scalar('a', 1, 1, 11);
    writer.scalar('b', 2, 2, 12);
    writer.close();
    const original = readFileSync(writer.path);
    const first = 8 + 4 + original.readUInt32LE(0) + 4; // offset of the second record

    const dataCorrupt = Buffer.from(original);
    dataCorrupt[first + 12 + 3]! ^= 0x01;
    writeFileSync(writer.path, dataCorrupt);
    expect(() => readEventFile(writer.path)).toThrow(`${writer.path}: record at byte offset ${first}: data CRC mismatch`);

    const lengthCorrupt = Buffer.from(original);
    lengthCorrupt[first]! ^= 0x01;
    writeFileSync(writer.path, lengthCorrupt);
    expect(() => readEventFile(writer.path)).toThrow(`record at byte offset ${first}: length CRC mismatch`);

    writeFileSync(writer.path, original.subarray(0, original.length - 2));
    expect(() => readEventFile(writer.path)).toThrow(RunFolderError);

    writeFileSync(writer.path, original);
    expect(readEventFile(writer.path).map((e) => e.step)).toEqual([0, 1, 2]);
  });
});
