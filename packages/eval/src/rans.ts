import { VaeLabError } from '@vaelab/core';

/*
 * A range asymmetric numeral system coder (rANS; Duda 2013, "Asymmetric numeral systems"), in the
 * byte-wise form of Giesen's ryg_rans: a 31-bit state, renormalized a byte at a time, with
 * frequencies quantized to 16 bits. It codes symbols at within a few thousandths of a bit of their
 * information content −log₂(freq/2¹⁶), plus 4 bytes for the final state. Encoding runs backwards
 * over the symbols so that decoding runs forwards. All arithmetic is exact in doubles (< 2³¹).
 */

export const PROB_BITS = 16;
export const PROB_SCALE = 1 << PROB_BITS;
/** Lower end of the normalized state interval [L, 256·L). */
const RANS_L = 1 << 23;

/** A symbol model: frequencies summing to PROB_SCALE, every symbol at least 1. */
export interface FrequencyTable {
  /** [K] frequencies. */
  readonly freq: Uint32Array;
  /** [K + 1] cumulative frequencies: cum[k] = Σ_{i<k} freq[i], cum[K] = PROB_SCALE. */
  readonly cum: Uint32Array;
}

/** A table from frequencies that already sum to PROB_SCALE (each >= 1). */
export function frequencyTable(freq: ArrayLike<number>): FrequencyTable {
  const f = Uint32Array.from(freq);
  const cum = new Uint32Array(f.length + 1);
  for (let k = 0; k < f.length; k++) {
    if (!(f[k]! >= 1)) throw new VaeLabError(`rANS: symbol ${k} has frequency ${f[k]}; every symbol needs at least 1`);
    cum[k + 1] = cum[k]! + f[k]!;
  }
  if (cum[f.length] !== PROB_SCALE) throw new VaeLabError(`rANS: frequencies sum to ${cum[f.length]}, expected ${PROB_SCALE}`);
  return { freq: f, cum };
}

/**
 * Quantize probabilities (or counts; any non-negative weights) to a table: every symbol gets at
 * least 1 (so anything can be coded), the rest is shared in proportion, rounding remainders go to
 * the largest weights first. Deterministic: encoder and decoder build the same table.
 */
export function quantizeFrequencies(weights: ArrayLike<number>): FrequencyTable {
  const k = weights.length;
  if (k < 1 || k > PROB_SCALE) throw new VaeLabError(`rANS: alphabets of 1..${PROB_SCALE} symbols are supported, got ${k}`);
  let total = 0;
  for (let i = 0; i < k; i++) {
    const w = weights[i]!;
    if (!(w >= 0) || !Number.isFinite(w)) throw new VaeLabError(`rANS: weight ${i} is ${w}; weights must be finite and >= 0`);
    total += w;
  }
  const spare = PROB_SCALE - k;
  const freq = new Array<number>(k);
  let used = 0;
  for (let i = 0; i < k; i++) {
    freq[i] = 1 + (total > 0 ? Math.floor((weights[i]! / total) * spare) : Math.floor(spare / k));
    used += freq[i]!;
  }
  const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => weights[b]! - weights[a]! || a - b);
  for (let r = 0; used < PROB_SCALE; r++, used++) freq[order[r % k]!]! += 1;
  return frequencyTable(freq);
}

/**
 * Encode symbols, each under its own table (`tableOf(i)` for symbol i). Returns the bytes (the
 * final state first).
 */
export function ransEncode(symbols: ArrayLike<number>, tableOf: (i: number) => FrequencyTable): Uint8Array {
  const out: number[] = [];
  let x = RANS_L;
  for (let i = symbols.length - 1; i >= 0; i--) {
    const table = tableOf(i);
    const s = symbols[i]!;
    if (!Number.isInteger(s) || s < 0 || s >= table.freq.length) throw new VaeLabError(`rANS: symbol ${i} is ${s}, outside 0..${table.freq.length - 1}`);
    const f = table.freq[s]!;
    const xMax = (RANS_L / PROB_SCALE) * 256 * f;
    while (x >= xMax) {
      out.push(x & 0xff);
      x = Math.floor(x / 256);
    }
    x = Math.floor(x / f) * PROB_SCALE + (x % f) + table.cum[s]!;
  }
  for (let b = 0; b < 4; b++) {
    out.push(x & 0xff);
    x = Math.floor(x / 256);
  }
  return Uint8Array.from(out.reverse());
}

/** The symbol whose interval [cum[s], cum[s+1]) holds `slot` (binary search). */
function findSymbol(table: FrequencyTable, slot: number): number {
  let lo = 0;
  let hi = table.freq.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (table.cum[mid]! <= slot) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Decode `count` symbols from bytes written by `ransEncode` with the same tables. */
export function ransDecode(bytes: Uint8Array, count: number, tableOf: (i: number) => FrequencyTable): Int32Array {
  if (bytes.length < 4) throw new VaeLabError(`rANS: ${bytes.length} bytes cannot hold a coder state (4 bytes)`);
  let pos = 0;
  let x = 0;
  for (let b = 0; b < 4; b++) x = x * 256 + bytes[pos++]!;
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const table = tableOf(i);
    const slot = x % PROB_SCALE;
    const s = findSymbol(table, slot);
    out[i] = s;
    x = table.freq[s]! * Math.floor(x / PROB_SCALE) + slot - table.cum[s]!;
    while (x < RANS_L) {
      if (pos >= bytes.length) throw new VaeLabError('rANS: the coded data ends early (truncated or damaged file)');
      x = x * 256 + bytes[pos++]!;
    }
  }
  if (x !== RANS_L || pos !== bytes.length) throw new VaeLabError('rANS: the coded data does not end where it should (damaged file, or decoded with other tables)');
  return out;
}
