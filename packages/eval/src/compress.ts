import * as tf from '@tensorflow/tfjs-core';
import { Normal, VaeLabError } from '@vaelab/core';
import type { VaeModel } from '@vaelab/objectives';
import { type CodeOptions, decodeCodes, isCodebookPosterior } from './generate.js';
import { klPerDimension } from './latent.js';
import { type FrequencyTable, frequencyTable, quantizeFrequencies, ransDecode, ransEncode } from './rans.js';

/*
 * A compressed-file format for a trained VAE's codes (Ballé et al. 2017 and Townsend et al. 2019
 * code quantized latents under the model's prior; this is the simple, non-bits-back form).
 *
 * Gaussian codes: each coded dimension of the posterior mean is standardized under the prior,
 * u = (z − μ_p)/σ_p, and rounded to a bin of width δ: k = round(u/δ), clamped to [−R, R]. Bin k
 * has probability Φ((k + ½)δ) − Φ((k − ½)δ) under the prior (the two end bins take the tails), and
 * the bins are entropy-coded with rANS under those probabilities. Dimensions the model does not use
 * (mean KL below a threshold on the images coded) are not stored: they decode to the prior mean.
 *
 * VQ-VAE codes: the code indices, under the uniform distribution over the codebook or under their
 * empirical frequencies on the images coded (stored in the header), whichever file is smaller.
 *
 * The header names the run's config hash, so that a file is never decoded by another model.
 *
 * Layout (little-endian): 'VAEZ', u8 version, u8 scheme (1 gaussian, 2 vq), u8 hash length + hash
 * (ASCII), u8 rank + u16 × rank data shape, u32 images, u16 latent dim, then
 *   gaussian: f32 δ, u16 R, ⌈dim/8⌉ bytes of the coded-dimension mask;
 *   vq: u16 vectors per image, u16 codes, u8 table (0 uniform, 1 empirical) [+ u16 × codes: freq − 1];
 * then u32 payload length and the rANS payload.
 */

export const CODE_FILE_MAGIC = 'VAEZ';
export const CODE_FILE_VERSION = 1;
/** Default bin width δ, in units of the prior's standard deviation. */
export const DEFAULT_BIN_WIDTH = 0.25;
/** Bins cover u in [−(R + ½)δ, (R + ½)δ] with R = ⌈TAIL / δ⌉; the end bins take the tails. */
const TAIL = 6;
/** A dimension is coded when its mean KL(q ‖ p) over the images exceeds this (nats). */
export const DEFAULT_KL_THRESHOLD = 0.01;

export class CodeFileError extends VaeLabError {}

/** Standard normal CDF Φ(x), from erfc with a Chebyshev fit (Numerical Recipes 6.2; |relative error| < 1.2e−7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z - 1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** Bins per side R for a bin width δ. */
export function binsPerSide(binWidth: number): number {
  return Math.ceil(TAIL / binWidth);
}

/** The prior's probabilities of the 2R + 1 bins of width δ (standardized units), as an rANS table. */
export function gaussianBinTable(binWidth: number, bins = binsPerSide(binWidth)): FrequencyTable {
  const probs = new Float64Array(2 * bins + 1);
  for (let k = -bins; k <= bins; k++) {
    const lo = k === -bins ? 0 : normalCdf((k - 0.5) * binWidth);
    const hi = k === bins ? 1 : normalCdf((k + 0.5) * binWidth);
    probs[k + bins] = Math.max(0, hi - lo);
  }
  return quantizeFrequencies(probs);
}

export type CodeFileHeader =
  | {
      scheme: 'gaussian';
      configHash: string;
      dataShape: number[];
      images: number;
      latentDim: number;
      binWidth: number;
      bins: number;
      /** Dimensions stored in the file; the others decode to the prior mean. */
      coded: boolean[];
    }
  | {
      scheme: 'vq';
      configHash: string;
      dataShape: number[];
      images: number;
      latentDim: number;
      vectorsPerImage: number;
      codes: number;
      /** null: uniform over the codes; else the stored frequencies. */
      frequencies: Uint32Array | null;
    };

export interface CodeFile {
  header: CodeFileHeader;
  /** Gaussian: bin index + R per coded dimension, image-major; VQ: code index per vector. */
  symbols: Int32Array;
}

function tablesFor(header: CodeFileHeader): (i: number) => FrequencyTable {
  if (header.scheme === 'gaussian') {
    const table = gaussianBinTable(header.binWidth, header.bins);
    return () => table;
  }
  const table = header.frequencies ? frequencyTable(header.frequencies) : quantizeFrequencies(new Float64Array(header.codes).fill(1));
  return () => table;
}

/** Symbols per image of a header. */
function symbolsPerImage(header: CodeFileHeader): number {
  return header.scheme === 'gaussian' ? header.coded.filter(Boolean).length : header.vectorsPerImage;
}

/** Write a code file: header, then the rANS-coded symbols. */
export function writeCodeFile(file: CodeFile): Uint8Array {
  const { header, symbols } = file;
  if (symbols.length !== header.images * symbolsPerImage(header)) {
    throw new CodeFileError(`writeCodeFile: ${symbols.length} symbols, expected ${header.images} images × ${symbolsPerImage(header)}`);
  }
  const payload = ransEncode(symbols, tablesFor(header));
  const bytes: number[] = [];
  const u8 = (v: number) => bytes.push(v & 0xff);
  const u16 = (v: number) => bytes.push(v & 0xff, (v >>> 8) & 0xff);
  const u32 = (v: number) => bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  for (const c of CODE_FILE_MAGIC) u8(c.charCodeAt(0));
  u8(CODE_FILE_VERSION);
  u8(header.scheme === 'gaussian' ? 1 : 2);
  if (header.configHash.length > 255 || !/^[\x20-\x7e]*$/.test(header.configHash)) throw new CodeFileError('writeCodeFile: the config hash must be at most 255 printable ASCII characters');
  u8(header.configHash.length);
  for (const c of header.configHash) u8(c.charCodeAt(0));
  u8(header.dataShape.length);
  for (const d of header.dataShape) u16(d);
  u32(header.images);
  u16(header.latentDim);
  if (header.scheme === 'gaussian') {
    const f = new DataView(new ArrayBuffer(4));
    f.setFloat32(0, header.binWidth, true);
    for (let i = 0; i < 4; i++) u8(f.getUint8(i));
    u16(header.bins);
    for (let b = 0; b < Math.ceil(header.latentDim / 8); b++) {
      let byte = 0;
      for (let j = 0; j < 8; j++) if (header.coded[b * 8 + j]) byte |= 1 << j;
      u8(byte);
    }
  } else {
    u16(header.vectorsPerImage);
    u16(header.codes);
    u8(header.frequencies ? 1 : 0);
    if (header.frequencies) for (const f of header.frequencies) u16(f - 1);
  }
  u32(payload.length);
  const out = new Uint8Array(bytes.length + payload.length);
  out.set(bytes);
  out.set(payload, bytes.length);
  return out;
}

/** Read a code file; damaged or foreign files fail with a `CodeFileError` saying what is wrong. */
export function readCodeFile(bytes: Uint8Array, name = 'the file'): CodeFile {
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > bytes.length) throw new CodeFileError(`${name} ends early (${bytes.length} bytes): truncated, or not a vaelab compressed file`);
  };
  const u8 = () => (need(1), bytes[pos++]!);
  const u16 = () => (need(2), (pos += 2), bytes[pos - 2]! | (bytes[pos - 1]! << 8));
  const u32 = () => (need(4), (pos += 4), (bytes[pos - 4]! | (bytes[pos - 3]! << 8) | (bytes[pos - 2]! << 16)) + bytes[pos - 1]! * 2 ** 24);
  const magic = String.fromCharCode(...Array.from({ length: 4 }, u8));
  if (magic !== CODE_FILE_MAGIC) throw new CodeFileError(`${name} is not a vaelab compressed file (it does not start with '${CODE_FILE_MAGIC}')`);
  const version = u8();
  if (version !== CODE_FILE_VERSION) throw new CodeFileError(`${name} has format version ${version}; this vaelab reads version ${CODE_FILE_VERSION}`);
  const scheme = u8();
  if (scheme !== 1 && scheme !== 2) throw new CodeFileError(`${name}: unknown coding scheme ${scheme} (1: gaussian, 2: vq)`);
  const configHash = String.fromCharCode(...Array.from({ length: u8() }, u8));
  const dataShape = Array.from({ length: u8() }, u16);
  const images = u32();
  const latentDim = u16();
  let header: CodeFileHeader;
  if (scheme === 1) {
    need(4);
    const binWidth = new DataView(bytes.buffer, bytes.byteOffset + pos, 4).getFloat32(0, true);
    pos += 4;
    const bins = u16();
    const mask = Array.from({ length: Math.ceil(latentDim / 8) }, u8);
    const coded = Array.from({ length: latentDim }, (_, j) => ((mask[j >> 3]! >> (j & 7)) & 1) === 1);
    header = { scheme: 'gaussian', configHash, dataShape, images, latentDim, binWidth, bins, coded };
  } else {
    const vectorsPerImage = u16();
    const codes = u16();
    const empirical = u8() === 1;
    const frequencies = empirical ? Uint32Array.from({ length: codes }, () => u16() + 1) : null;
    header = { scheme: 'vq', configHash, dataShape, images, latentDim, vectorsPerImage, codes, frequencies };
  }
  const length = u32();
  need(length);
  const symbols = ransDecode(bytes.subarray(pos, pos + length), images * symbolsPerImage(header), tablesFor(header));
  return { header, symbols };
}

/** Refuse a file made with another model. */
export function checkConfigHash(header: CodeFileHeader, configHash: string, name = 'the file'): void {
  if (header.configHash !== configHash) {
    throw new CodeFileError(
      `${name} was compressed with the model of a run whose config hash is ${header.configHash}; this run's is ${configHash}: decompress it with the run that wrote it`,
    );
  }
}

/** The prior's per-dimension mean and standard deviation, for the Gaussian scheme. */
function priorMoments(model: VaeModel): { loc: Float32Array; scale: Float32Array } {
  return tf.tidy(() => {
    const p = model.parts.prior.distribution(1);
    if (!(p instanceof Normal) || p.eventRank !== 1) {
      throw new VaeLabError('compress: Gaussian codes are coded under a diagonal Gaussian prior (standard_normal, gaussian); this model has another prior');
    }
    return { loc: p.loc.dataSync() as Float32Array, scale: p.scale.dataSync() as Float32Array };
  });
}

export interface CompressOptions extends CodeOptions {
  configHash: string;
  /** δ in units of the prior's standard deviation (Gaussian scheme; default 0.25). */
  binWidth?: number;
  /** Dimensions whose mean KL over the images is below this are not stored (default 0.01 nats). */
  klThreshold?: number;
}

export interface Compressed {
  bytes: Uint8Array;
  file: CodeFile;
  /** The codes the file decodes to: [images, latentDim]. */
  codes: tf.Tensor2D;
}

/**
 * Compress images x: [n, ...dataShape] with a trained model. The codes are the posterior means
 * (Gaussian scheme) or the nearest code indices (VQ-VAE).
 */
export function compressImages(model: VaeModel, x: tf.Tensor, opts: CompressOptions): Compressed {
  const n = x.shape[0]!;
  const dataShape = x.shape.slice(1);
  const { encoder, posterior } = model.parts;
  const latentDim = model.parts.latentDim;
  if (isCodebookPosterior(model)) {
    const indices = tf.tidy(() => {
      const q = posterior.distribution(encoder.apply(x, opts.cond)) as unknown as { indices?: tf.Tensor2D };
      if (!q.indices) throw new VaeLabError('compress: the codebook posterior did not report code indices');
      return tf.cast(q.indices, 'int32') as tf.Tensor2D;
    });
    const symbols = Int32Array.from(indices.dataSync());
    const vectorsPerImage = indices.shape[1];
    indices.dispose();
    const codes = (posterior as unknown as { options: { numCodes: number } }).options.numCodes;
    const base = { scheme: 'vq' as const, configHash: opts.configHash, dataShape, images: n, latentDim, vectorsPerImage, codes };
    const uniform: CodeFile = { header: { ...base, frequencies: null }, symbols };
    const counts = new Float64Array(codes);
    for (const s of symbols) counts[s]! += 1;
    const empirical: CodeFile = { header: { ...base, frequencies: quantizeFrequencies(counts).freq }, symbols };
    const [a, b] = [writeCodeFile(uniform), writeCodeFile(empirical)];
    const [bytes, file] = a.length <= b.length ? [a, uniform] : [b, empirical];
    return { bytes, file, codes: codesOf(model, file) };
  }
  const binWidth = opts.binWidth ?? DEFAULT_BIN_WIDTH;
  if (!(binWidth > 0) || !Number.isFinite(binWidth)) throw new VaeLabError(`compress: the bin width must be a positive number, got ${binWidth}`);
  const { loc, scale } = priorMoments(model);
  let means: Float32Array<ArrayBufferLike> = new Float32Array(0);
  let klMean: number[] | null = null;
  tf.tidy(() => {
    const q = posterior.distribution(encoder.apply(x, opts.cond));
    if (!q.mean) throw new VaeLabError('compress: the posterior has no mean to code');
    const perDim = klPerDimension(q, model.parts.prior.distribution(n));
    means = tf.reshape(q.mean(), [n, latentDim]).dataSync() as Float32Array;
    klMean = perDim ? Array.from(tf.mean(tf.reshape(perDim, [n, -1]), 0).dataSync()) : null;
  });
  const threshold = opts.klThreshold ?? DEFAULT_KL_THRESHOLD;
  const kls = klMean as number[] | null;
  const coded = Array.from({ length: latentDim }, (_, j) => (kls ? kls[j]! > threshold : true));
  const bins = binsPerSide(binWidth);
  const dims = coded.flatMap((c, j) => (c ? [j] : []));
  const symbols = new Int32Array(n * dims.length);
  for (let i = 0; i < n; i++) {
    dims.forEach((j, c) => {
      const u = (means[i * latentDim + j]! - loc[j]!) / scale[j]!;
      const k = Math.max(-bins, Math.min(bins, Math.round(u / binWidth)));
      symbols[i * dims.length + c] = k + bins;
    });
  }
  // δ as stored (f32), so that the encoder's codes equal the decoder's
  const stored = Math.fround(binWidth);
  const file: CodeFile = { header: { scheme: 'gaussian', configHash: opts.configHash, dataShape, images: n, latentDim, binWidth: stored, bins, coded }, symbols };
  return { bytes: writeCodeFile(file), file, codes: codesOf(model, file) };
}

/** The codes [images, latentDim] a code file stands for, under the model's prior or codebook. */
export function codesOf(model: VaeModel, file: CodeFile): tf.Tensor2D {
  const { header, symbols } = file;
  if (header.latentDim !== model.parts.latentDim) {
    throw new CodeFileError(`the file holds ${header.latentDim}-dimensional codes; the model's latent has ${model.parts.latentDim} dimensions`);
  }
  if (header.scheme === 'vq') {
    if (!isCodebookPosterior(model)) throw new CodeFileError('the file holds VQ-VAE code indices, but the model has no codebook');
    const vq = model.parts.posterior as unknown as { lookup(i: tf.Tensor): tf.Tensor2D };
    return tf.tidy(() => vq.lookup(tf.tensor2d(symbols, [header.images, header.vectorsPerImage], 'int32')));
  }
  const { loc, scale } = priorMoments(model);
  const z = new Float32Array(header.images * header.latentDim);
  const dims = header.coded.flatMap((c, j) => (c ? [j] : []));
  for (let i = 0; i < header.images; i++) {
    for (let j = 0; j < header.latentDim; j++) z[i * header.latentDim + j] = loc[j]!;
    dims.forEach((j, c) => {
      z[i * header.latentDim + j] = loc[j]! + scale[j]! * header.binWidth * (symbols[i * dims.length + c]! - header.bins);
    });
  }
  return tf.tensor2d(z, [header.images, header.latentDim]);
}

export interface Decompressed {
  file: CodeFile;
  codes: tf.Tensor2D;
  /** [images, ...dataShape]: the likelihood's mean at the codes. */
  images: tf.Tensor;
}

/** Read a code file made with this model (checked by config hash) and decode its images. */
export function decompressImages(model: VaeModel, bytes: Uint8Array, opts: CodeOptions & { configHash: string; name?: string }): Decompressed {
  const file = readCodeFile(bytes, opts.name);
  checkConfigHash(file.header, opts.configHash, opts.name);
  const codes = codesOf(model, file);
  return { file, codes, images: decodeCodes(model, codes, opts) };
}
