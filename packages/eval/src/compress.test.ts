import * as tf from '@tensorflow/tfjs-core';
import { type Encoder, RandomStream } from '@vaelab/core';
import { FixedGaussianLikelihood } from '@vaelab/likelihoods';
import { VaeModel } from '@vaelab/objectives';
import { VectorQuantizerPosterior } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';
import { describe, expect, it } from 'vitest';
import { CodeFileError, binsPerSide, compressImages, decompressImages, gaussianBinTable, normalCdf, readCodeFile, writeCodeFile } from './compress.js';
import { PROB_SCALE, quantizeFrequencies, ransDecode, ransEncode } from './rans.js';
import { LinearDecoder, linearGaussianModel, sampleData } from './test-helpers.js';

describe('rANS', () => {
  it('round-trips symbols exactly under per-symbol tables, at close to their information content', () => {
    const rng = new RandomStream('rans', 5);
    const skewed = quantizeFrequencies([0.7, 0.2, 0.05, 0.05]);
    const flat = quantizeFrequencies(new Array(300).fill(1));
    const symbols = Array.from({ length: 20000 }, (_, i) => {
      if (i % 2) return Math.floor(rng.nextFloat() * 300);
      const u = rng.nextFloat();
      return u < 0.7 ? 0 : u < 0.9 ? 1 : u < 0.95 ? 2 : 3;
    });
    const tableOf = (i: number) => (i % 2 ? flat : skewed);
    const bytes = ransEncode(symbols, tableOf);
    expect(Array.from(ransDecode(bytes, symbols.length, tableOf))).toEqual(symbols);
    let information = 0;
    symbols.forEach((s, i) => (information -= Math.log2(tableOf(i).freq[s]! / PROB_SCALE)));
    expect(bytes.length * 8).toBeGreaterThanOrEqual(information);
    expect(bytes.length * 8).toBeLessThan(information * 1.001 + 64);
  });

  it('tables give every symbol at least 1 and sum to 2^16; damaged data is refused', () => {
    const t = quantizeFrequencies([1e-12, 1, 0]);
    expect(Math.min(...t.freq)).toBe(1);
    expect(t.cum[3]).toBe(PROB_SCALE);
    const bytes = ransEncode([1, 1, 0, 2], () => t);
    expect(() => ransDecode(bytes.subarray(0, 3), 4, () => t)).toThrow(/cannot hold a coder state/);
    expect(() => ransDecode(Uint8Array.from([...bytes, 7]), 4, () => t)).toThrow(/does not end where it should/);
  });

  it('the Gaussian bin table follows Φ', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-3)).toBeCloseTo(0.0013499, 6);
    const table = gaussianBinTable(0.5);
    const r = binsPerSide(0.5);
    expect(table.freq.length).toBe(2 * r + 1);
    expect(table.freq[r]! / PROB_SCALE).toBeCloseTo(normalCdf(0.25) - normalCdf(-0.25), 3);
  });
});

describe('compressImages / decompressImages (Gaussian codes)', () => {
  const model = linearGaussianModel();
  const x = tf.tensor2d(sampleData(50, 9));

  it('round-trips the quantized codes exactly, within half a bin of the posterior means', () => {
    const before = tf.memory().numTensors;
    const c = compressImages(model, x, { configHash: 'abc123', binWidth: 0.1 });
    const d = decompressImages(model, c.bytes, { configHash: 'abc123' });
    expect(Array.from(d.file.symbols)).toEqual(Array.from(c.file.symbols));
    expect(Array.from(d.codes.dataSync())).toEqual(Array.from(c.codes.dataSync()));
    expect(d.images.shape).toEqual([50, 3]);
    const means = tf.tidy(() => tf.slice(model.parts.encoder.apply(x), [0, 0], [50, 2]));
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(means, c.codes))).dataSync()[0]!);
    expect(err).toBeLessThanOrEqual(0.05 + 1e-6);
    expect(c.file.header).toMatchObject({ scheme: 'gaussian', images: 50, latentDim: 2, coded: [true, true] });
    tf.dispose([c.codes, d.codes, d.images, means]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a file from another run (config hash), a foreign file and a truncated one', () => {
    const c = compressImages(model, x, { configHash: 'abc123' });
    c.codes.dispose();
    expect(() => decompressImages(model, c.bytes, { configHash: 'other', name: 'a.vaez' })).toThrow(
      /a\.vaez was compressed with the model of a run whose config hash is abc123; this run's is other/,
    );
    expect(() => readCodeFile(Uint8Array.from([80, 78, 71, 1, 2, 3]), 'x.png')).toThrow(/x\.png is not a vaelab compressed file/);
    expect(() => readCodeFile(c.bytes.subarray(0, c.bytes.length - 2))).toThrow(CodeFileError);
  });

  it('unused dimensions are not stored and decode to the prior mean', () => {
    const file = { header: { scheme: 'gaussian' as const, configHash: 'h', dataShape: [3], images: 2, latentDim: 2, binWidth: 0.5, bins: 12, coded: [false, true] }, symbols: Int32Array.from([12, 14]) };
    const back = readCodeFile(writeCodeFile(file));
    expect(back.header).toEqual(file.header);
    expect(Array.from(back.symbols)).toEqual([12, 14]);
  });
});

/** x: [batch, 3] -> [batch, 4]: two code vectors of dimension 2. */
class VqEncoder implements Encoder {
  readonly variables: tf.Variable[] = [];
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.concat([x, tf.slice(x, [0, 0], [-1, 1])], 1));
  }
  dispose(): void {}
}

describe('compressImages (VQ-VAE code indices)', () => {
  it('codes the nearest-code indices and decodes them through the codebook', () => {
    const posterior = new VectorQuantizerPosterior({ latentDim: 4, numCodes: 16, codeDim: 2, ema: false, decay: 0.99, epsilon: 1e-5, deadCodeThreshold: 0 }, new RandomStream('init', 1));
    const decoder = { variables: [], apply: (z: tf.Tensor) => new LinearDecoder().apply(tf.slice(z, [0, 0], [-1, 2])), dispose() {} };
    const model = new VaeModel({ encoder: new VqEncoder(), posterior, decoder, likelihood: new FixedGaussianLikelihood([3], 0.5), prior: new StandardNormalPrior(4), latentDim: 4, dataShape: [3] });
    const x = tf.tensor2d(sampleData(40, 2));
    const c = compressImages(model, x, { configHash: 'vq' });
    expect(c.file.header).toMatchObject({ scheme: 'vq', vectorsPerImage: 2, codes: 16 });
    const d = decompressImages(model, c.bytes, { configHash: 'vq' });
    expect(Array.from(d.file.symbols)).toEqual(Array.from(c.file.symbols));
    const q = posterior.distribution(new VqEncoder().apply(x));
    expect(Array.from(d.codes.dataSync())).toEqual(Array.from((q as unknown as { codes: tf.Tensor }).codes.dataSync()));
    // at most log2(16) = 4 bits per index plus the header
    expect(c.bytes.length).toBeLessThan(40 + (40 * 2 * 4) / 8 + 16);
    model.dispose();
  });
});
