import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { VaeLabError } from '@vaelab/core';
import { CodeFileError, compressImages, decodeCodes, decompressImages, encodeMeans, encodePng, imageGrid, imageShape, squaredError } from '@vaelab/eval';
import type { Io } from './io.js';
import { labelledGrid } from './pictures.js';
import { type SplitName, examples, loadTrainedRun, splitOf } from './trained.js';
import { SPLITS, choiceFlag, indexListFlag, intFlag, numberFlag } from './use-flags.js';

/*
 * `vaelab compress <run> -o FILE` and `vaelab decompress <run> FILE -o out.png`: images to a real
 * compressed file (quantized codes, rANS-coded under the prior; see @vaelab/eval's compress.ts),
 * and back.
 */

export interface CompressFlags {
  split?: string;
  limit?: string;
  indices?: string;
  out?: string;
  binWidth?: string;
}

export function parseCompressFlags(flags: CompressFlags) {
  const c = 'compress';
  const limit = intFlag(c, '--limit', flags.limit);
  const indices = indexListFlag(c, '--indices', flags.indices);
  if (limit !== null && indices !== null) throw new VaeLabError('compress: give --limit N or --indices, not both');
  if (!flags.out) throw new VaeLabError('compress: -o, --out FILE is required: where to write the compressed file');
  return {
    split: choiceFlag(c, '--split', flags.split, SPLITS, 'test') as SplitName,
    limit,
    indices,
    out: flags.out,
    binWidth: numberFlag(c, '--bin-width', flags.binWidth, { min: 0, exclusiveMin: true }),
  };
}

export interface CompressionResult {
  images: number;
  bytes: number;
  bits_per_image: number;
  png_bits_per_image: number | null;
  raw_bits_per_image: number;
  mse: number;
  mse_unquantized: number;
  scheme: string;
}

export async function compressCommand(runArg: string, flags: CompressFlags, io: Io): Promise<number> {
  const s = parseCompressFlags(flags);
  const run = await loadTrainedRun(runArg, io, 'compress');
  try {
    if (run.conditionClasses !== null) throw new VaeLabError('compress: conditional models are not supported (the decoder would need each image\'s label); compress with an unconditional run');
    const size = splitOf(run, s.split).size;
    const indices = s.indices ?? Array.from({ length: Math.min(s.limit ?? 100, size) }, (_, i) => i);
    const x = examples(run, s.split, indices, 'compress');
    const model = run.exp.model;
    const c = compressImages(model, x, { configHash: run.configHash, ...(s.binWidth !== null ? { binWidth: s.binWidth } : {}) });
    const out = resolve(io.cwd, s.out);
    writeFileSync(out, c.bytes);
    let result!: CompressionResult;
    tf.tidy(() => {
      const decoded = decodeCodes(model, c.codes);
      const unquantized = decodeCodes(model, encodeMeans(model, x, { rng: run.exp.streams.stream('use') }));
      const shape = run.exp.dataset.shape;
      const layout = imageShape(shape);
      let png: number | null = null;
      if (layout) {
        // each image alone as an 8-bit PNG, as one would store it
        const values = x.dataSync();
        const per = values.length / indices.length;
        png = 0;
        for (let i = 0; i < indices.length; i++) {
          png += encodePng(imageGrid({ values: values.subarray(i * per, (i + 1) * per), shape: [1, ...shape] }, { padding: 0 })).length * 8;
        }
        png /= indices.length;
      }
      result = {
        images: indices.length,
        bytes: c.bytes.length,
        bits_per_image: (c.bytes.length * 8) / indices.length,
        png_bits_per_image: png,
        raw_bits_per_image: shape.reduce((a, b) => a * b, 1) * 8,
        mse: tf.mean(squaredError(x, decoded)).dataSync()[0]!,
        mse_unquantized: tf.mean(squaredError(x, unquantized)).dataSync()[0]!,
        scheme: c.file.header.scheme === 'gaussian' ? `gaussian, bin width ${c.file.header.binWidth} σ, ${c.file.header.coded.filter(Boolean).length}/${c.file.header.latentDim} dimensions coded` : `vq, ${c.file.header.frequencies ? 'empirical' : 'uniform'} code distribution`,
      };
    });
    io.out(`wrote ${out}: ${result.images} ${s.split} images in ${result.bytes} bytes (${result.scheme})`);
    io.out(
      `${result.bits_per_image.toFixed(1)} bits per image; PNG ${result.png_bits_per_image === null ? '—' : result.png_bits_per_image.toFixed(0)}; raw 8-bit ${result.raw_bits_per_image}; ` +
        `reconstruction MSE ${result.mse.toExponential(3)} at this rate (${result.mse_unquantized.toExponential(3)} at the unquantized posterior mean)`,
    );
    io.out(`json ${JSON.stringify(result)}`);
    tf.dispose([x, c.codes]);
    return 0;
  } finally {
    run.dispose();
  }
}

export interface DecompressFlags {
  out?: string;
  columns?: string;
}

export function parseDecompressFlags(flags: DecompressFlags) {
  if (!flags.out) throw new VaeLabError('decompress: -o, --out FILE.png is required');
  if (!/\.png$/i.test(flags.out)) throw new VaeLabError(`decompress: -o must name a .png file, got '${flags.out}'`);
  return { out: flags.out, columns: intFlag('decompress', '--columns', flags.columns) ?? 10 };
}

export async function decompressCommand(runArg: string, file: string, flags: DecompressFlags, io: Io): Promise<number> {
  const s = parseDecompressFlags(flags);
  const path = resolve(io.cwd, file);
  if (!existsSync(path)) throw new VaeLabError(`decompress: ${path} does not exist`);
  const bytes = new Uint8Array(readFileSync(path));
  const run = await loadTrainedRun(runArg, io, 'decompress');
  try {
    let d;
    try {
      d = decompressImages(run.exp.model, bytes, { configHash: run.configHash, name: path });
    } catch (e) {
      if (e instanceof CodeFileError) throw new VaeLabError(`decompress: ${e.message}`);
      throw e;
    }
    const n = d.file.header.images;
    const image = n === 1 ? imageGrid(d.images, { padding: 0 }) : labelledGrid(d.images, { columns: Math.min(s.columns, n), title: `${n} images from ${file.replace(/^.*[\\/]/, '')}` });
    const out = resolve(io.cwd, s.out);
    writeFileSync(out, encodePng(image));
    io.out(`wrote ${out}: ${n} image${n === 1 ? '' : 's'} decoded from ${bytes.length} bytes (${((bytes.length * 8) / n).toFixed(1)} bits per image)`);
    tf.dispose([d.codes, d.images]);
    return 0;
  } finally {
    run.dispose();
  }
}
