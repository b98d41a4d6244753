import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, ComponentRegistry, RandomStream, RandomStreams, ShapeError, SupportError, withValidation } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { Quantized, VectorQuantizerPosterior, type VectorQuantizerOptions, components, nearestCodes } from './index.js';

const base: VectorQuantizerOptions = { latentDim: 4, numCodes: 3, codeDim: 2, ema: false, decay: 0.9, epsilon: 1e-5, deadCodeThreshold: 0 };

function quantizer(options: Partial<VectorQuantizerOptions> = {}, seed = 1): VectorQuantizerPosterior {
  const streams = new RandomStreams(seed);
  const o = { ...base, ...options };
  return new VectorQuantizerPosterior(o, streams.stream('init/posterior'), o.deadCodeThreshold > 0 ? streams.stream('vq/reset') : undefined);
}

/** Index of the nearest row of `codebook` to `v` by squared distance, in float64. */
function bruteForceNearest(v: number[], codebook: number[][]): number {
  let best = 0;
  let bestDistance = Infinity;
  codebook.forEach((e, k) => {
    const d = e.reduce((s, ek, i) => s + (v[i]! - ek) ** 2, 0);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  });
  return best;
}

const rows = (t: tf.Tensor) => t.arraySync() as number[][];

describe('vector_quantizer', () => {
  it('asks the encoder for latent_dim values and reads them as latent_dim / code_dim vectors', () => {
    const vq = quantizer({ latentDim: 6, codeDim: 3 });
    expect(vq.paramShape({ dim: 6 })).toEqual([6]);
    expect(vq.vectorsPerExample).toBe(2);
    const q = vq.distribution(tf.zeros([5, 6]));
    expect(q.batchShape).toEqual([5]);
    expect(q.eventShape).toEqual([6]);
    expect(q.zE.shape).toEqual([5, 2, 3]);
    expect(q.codes.shape).toEqual([5, 2, 3]);
    expect(q.indices.shape).toEqual([5, 2]);
    expect(q.indices.dtype).toBe('int32');
    expect(q.rsample(new RandomStream('n', 1)).shape).toEqual([5, 6]);
    expect(q.quantizer).toBe(vq);
    vq.dispose();
  });

  it('finds the nearest code as a brute-force search does', () => {
    const rng = new RandomStream('t', 3);
    const vectors = rng.normal([60, 3]);
    const codebook = rng.normal([7, 3]);
    const found = Array.from(nearestCodes(vectors, codebook).dataSync());
    const expected = rows(vectors).map((v) => bruteForceNearest(v, rows(codebook)));
    expect(found).toEqual(expected);
    expect(new Set(expected).size).toBeGreaterThan(3); // the check covers several codes

    // The family picks the same codes and hands back their vectors.
    const vq = quantizer({ latentDim: 6, numCodes: 7, codeDim: 3 });
    vq.setCodebook(codebook);
    const q = vq.distribution(tf.reshape(vectors, [30, 6]));
    expect(Array.from(q.indices.dataSync())).toEqual(expected);
    const book = rows(codebook);
    const codes = (q.codes.arraySync() as number[][][]).flat();
    codes.forEach((c, i) => c.forEach((v, j) => expect(v).toBeCloseTo(book[expected[i]!]![j]!, 6)));
    vq.dispose();
  });

  it('z_q has the codes as its value and passes the gradient straight through to z_e', () => {
    const vq = quantizer();
    vq.setCodebook(tf.tensor2d([[0, 0], [1, 1], [-1, 2]]));
    const params = tf.tensor2d([[0.9, 1.2, -0.8, 1.5], [0.1, -0.2, 0.7, 0.5]]);
    const weights = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]]);
    const loss = (zq: tf.Tensor) => tf.sum(tf.mul(weights, tf.square(zq)));
    const q = vq.distribution(params);
    const zq = q.rsample(new RandomStream('n', 1));
    // Codes: [1,1], [−1,2] for the first example; [0,0], [1,1] for the second (nearest by hand).
    const expectedZq = [[1, 1, -1, 2], [0, 0, 1, 1]];
    rows(zq).forEach((r, b) => r.forEach((v, i) => expect(v).toBeCloseTo(expectedZq[b]![i]!, 6)));
    for (const z of [q.mean(), q.mode(), q.sample(new RandomStream('n', 1))]) expect(rows(z)).toEqual(rows(zq));
    // ∂/∂z_e of loss(z_q) = ∂loss/∂z_q at z_q = 2 w z_q.
    const gradient = rows(tf.grad((p: tf.Tensor) => loss(vq.distribution(p).rsample(new RandomStream('n', 1))))(params));
    const w = rows(weights);
    gradient.forEach((r, b) => r.forEach((g, i) => expect(g).toBeCloseTo(2 * w[b]![i]! * expectedZq[b]![i]!, 4)));
    // sample() carries no gradient.
    const none = tf.grad((p: tf.Tensor) => loss(vq.distribution(p).sample(new RandomStream('n', 1))))(params);
    expect(Array.from(none.dataSync()).every((g) => g === 0)).toBe(true);
    vq.dispose();
  });

  it('logProb is 0 where z quantizes to its own codes and −∞ elsewhere, with extra sample axes; entropy 0', () => {
    const vq = quantizer();
    vq.setCodebook(tf.tensor2d([[0, 0], [1, 1], [-1, 2]]));
    const q = vq.distribution(tf.tensor2d([[0.9, 1.2, -0.8, 1.5], [0.1, -0.2, 0.7, 0.5]]));
    expect(Array.from(q.logProb(q.sample(new RandomStream('n', 1))).dataSync())).toEqual([0, 0]);
    // Sample axis k = 2: the first row quantizes to q's codes for both examples, the second to
    // other codes for example 0 only.
    const z = tf.tensor3d([
      [[1.1, 0.9, -1, 1.9], [0.2, 0, 0.8, 1.1]],
      [[0, 0, -1, 2], [0, 0.1, 0.9, 0.9]],
    ]);
    expect(rows(q.logProb(z))).toEqual([[0, 0], [-Infinity, 0]]);
    expect(Array.from(q.entropy().dataSync())).toEqual([0, 0]);
    expect(() => q.logProb(tf.zeros([2, 3]))).toThrow(ShapeError);
    vq.dispose();
  });

  it('without EMA the codebook is a trainable variable; with EMA it and the statistics are state', () => {
    const plain = quantizer();
    expect(plain.variables).toEqual([plain.codebook]);
    expect(plain.state).toEqual([]);
    expect(plain.codebook.trainable).toBe(true);
    const withResets = quantizer({ deadCodeThreshold: 0.5 });
    expect(withResets.variables).toEqual([withResets.codebook]);
    expect(withResets.state).toEqual([withResets.clusterSize]);
    const ema = quantizer({ ema: true });
    expect(ema.variables).toEqual([]);
    expect(ema.state).toEqual([ema.codebook, ema.clusterSize, ema.codeSum]);
    expect(ema.state.map((v) => [v.shape, v.trainable])).toEqual([[[3, 2], false], [[3], false], [[3, 2], false]]);
    for (const v of [plain, withResets, ema]) v.dispose();
  });

  it('the EMA update matches a hand computation (moving averages, Laplace-smoothed cluster sizes)', () => {
    const gamma = 0.9;
    const epsilon = 0.1; // large, so that the smoothing shows
    const vq = quantizer({ ema: true, decay: gamma, epsilon });
    const e0 = [[0, 0], [1, 1], [5, 5]];
    vq.setCodebook(tf.tensor2d(e0));
    const z = [[0.1, 0.2], [0.9, 1.0], [1.2, 0.8], [1.0, 1.3]]; // -> codes 0, 1, 1, 1; code 2 unused
    const q = vq.distribution(tf.tensor2d(z.flat(), [2, 4]));
    expect(Array.from(q.indices.dataSync())).toEqual([0, 1, 1, 1]);
    vq.update(q.zE, q.indices);

    const counts = [1, 3, 0];
    const sums = [[0.1, 0.2], [3.1, 3.1], [0, 0]];
    const N = counts.map((n) => gamma * 1 + (1 - gamma) * n); // N starts at 1 per code
    const m = e0.map((e, k) => e.map((v, j) => gamma * v + (1 - gamma) * sums[k]![j]!)); // m starts at e0
    const total = N.reduce((a, b) => a + b, 0);
    const smoothed = N.map((n) => ((n + epsilon) / (total + 3 * epsilon)) * total);
    const e = m.map((row, k) => row.map((v) => v / smoothed[k]!));
    Array.from(vq.clusterSize!.dataSync()).forEach((v, k) => expect(v).toBeCloseTo(N[k]!, 5));
    rows(vq.codeSum!).forEach((r, k) => r.forEach((v, j) => expect(v).toBeCloseTo(m[k]![j]!, 5)));
    rows(vq.codebook).forEach((r, k) => r.forEach((v, j) => expect(v).toBeCloseTo(e[k]![j]!, 5)));
    vq.dispose();
  });

  it('a dead-code reset moves an unused code onto an encoder output of the batch, the same for a seed', () => {
    const run = (seed: number, ema: boolean) => {
      const vq = quantizer({ numCodes: 4, decay: 0.5, deadCodeThreshold: 0.6, ema }, seed);
      vq.setCodebook(tf.tensor2d([[0, 0], [10, 10], [-10, 10], [3, -3]]));
      // Eight encoder vectors near codes 0 and 3; codes 1 and 2 are unused (usage 0.5 < 0.6).
      const z = [[0.1, 0.2], [2.9, -3.1], [0.3, -0.1], [3.2, -2.7], [-0.2, 0.1], [2.8, -3.3], [0.05, 0.4], [3.4, -2.9]];
      const q = vq.distribution(tf.tensor2d(z.flat(), [4, 4]));
      vq.update(q.zE, q.indices);
      const book = rows(vq.codebook);
      const state = { book, size: Array.from(vq.clusterSize!.dataSync()), sum: vq.codeSum ? rows(vq.codeSum) : undefined };
      vq.dispose();
      return { z, ...state };
    };
    for (const ema of [false, true]) {
      const a = run(7, ema);
      for (const k of [1, 2]) {
        expect(a.z.some((v) => v.every((x, j) => Math.abs(x - a.book[k]![j]!) < 1e-6))).toBe(true);
        expect(a.size[k]).toBe(1);
        if (a.sum) a.sum[k]!.forEach((v, j) => expect(v).toBeCloseTo(a.book[k]![j]!, 6));
      }
      // Used codes are not reset: without EMA they stay, with EMA they follow the averages.
      if (!ema) expect([a.book[0], a.book[3]]).toEqual([[0, 0], [3, -3]]);
      expect(a.size[0]).toBeCloseTo(0.5 + 0.5 * 4, 6);
      expect(run(7, ema)).toEqual(a);
    }
  });

  it('leaves the state as it was when the batch holds a non-finite encoder output', () => {
    const vq = quantizer({ ema: true, deadCodeThreshold: 2 });
    const before = [rows(vq.codebook), Array.from(vq.clusterSize!.dataSync()), rows(vq.codeSum!)];
    vq.update(tf.tensor3d([[[NaN, 0], [1, 1]]]), tf.tensor2d([[0, 1]], [1, 2], 'int32'));
    expect([rows(vq.codebook), Array.from(vq.clusterSize!.dataSync()), rows(vq.codeSum!)]).toEqual(before);
    vq.dispose();
  });

  it('decodes code indices with lookup and draws uniform indices', () => {
    const vq = quantizer();
    vq.setCodebook(tf.tensor2d([[0, 0], [1, 1], [-1, 2]]));
    expect(rows(vq.lookup(tf.tensor2d([[2, 0], [1, 1]], [2, 2], 'int32')))).toEqual([[-1, 2, 0, 0], [1, 1, 1, 1]]);
    const drawn = vq.sampleIndices(500, new RandomStream('prior', 1));
    expect(drawn.shape).toEqual([500, 2]);
    const counts = [0, 1, 2].map((k) => Array.from(drawn.dataSync()).filter((i) => i === k).length);
    // Uniform over 3 codes: 1000 draws, each count ~ 333 ± 15 (binomial sd); 5 sd bounds.
    counts.forEach((c) => expect(Math.abs(c - 1000 / 3)).toBeLessThan(75));
    vq.dispose();
  });

  it('rejects encoder outputs of the wrong shape and, with validation on, non-finite ones', () => {
    const vq = quantizer();
    expect(() => vq.distribution(tf.zeros([2, 6]))).toThrow(/vector_quantizer: encoder output has shape \[2, 6\], expected \[batch, 4\]/);
    expect(() => withValidation(() => vq.distribution(tf.tensor2d([[0, NaN, 0, 0]])))).toThrow(SupportError);
    vq.dispose();
  });

  it('is built from config; bad options are config errors naming the path and the sizes', () => {
    const registry = new ComponentRegistry().use({ components });
    const ctx = { latentDim: 8, streams: new RandomStreams(1), cwd: '.' };
    const vq = registry.build('posterior', { name: 'vector_quantizer', codes: 16, code_dim: 2, ema: true }, ctx) as VectorQuantizerPosterior;
    expect([vq.numCodes, vq.codeDim, vq.ema, vq.vectorsPerExample, vq.reparameterized]).toEqual([16, 2, true, 4, true]);
    expect(vq.distribution(tf.zeros([3, 8]))).toBeInstanceOf(Quantized);
    // The codebook comes from the 'init/posterior' stream: the same seed gives the same codes.
    const again = registry.build('posterior', { name: 'vector_quantizer', codes: 16, code_dim: 2 }, { ...ctx, streams: new RandomStreams(1) }) as VectorQuantizerPosterior;
    expect(rows(again.codebook)).toEqual(rows(vq.codebook));
    expect(rows(vq.codebook).flat().every((v) => Math.abs(v) <= 1 / 16)).toBe(true);
    const defaults = registry.build('posterior', { name: 'vector_quantizer' }, ctx) as VectorQuantizerPosterior;
    expect(defaults.options).toMatchObject({ numCodes: 64, codeDim: 4, ema: false, decay: 0.99, epsilon: 1e-5, deadCodeThreshold: 0 });
    expect(() => registry.build('posterior', { name: 'vector_quantizer', codes: 0 }, ctx, 'posterior')).toThrow(/posterior\.codes/);
    expect(() => registry.build('posterior', { name: 'vector_quantizer', decay: 1 }, ctx, 'posterior')).toThrow(/posterior\.decay/);
    expect(() => registry.build('posterior', { name: 'vector_quantizer', code_dim: 3 }, ctx, 'posterior')).toThrow(ComponentConfigError);
    expect(() => registry.build('posterior', { name: 'vector_quantizer', code_dim: 3 }, ctx, 'posterior')).toThrow(
      /latent_dim 8 is not a multiple of code_dim 3/,
    );
    for (const v of [vq, again, defaults]) v.dispose();
  });
});
