import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, setFusedKernels } from '@vaelab/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Bernoulli } from './bernoulli.js';
import { bernoulliKernelBytes, bernoulliKernelsValidate, bernoulliTerms, fusedBernoulliApplies } from './bernoulli-kernel.js';

/*
 * The fused Bernoulli term (x·ℓ − softplus(ℓ)) and its logits gradient ((x − σ(ℓ))·dy) on the
 * tfjs-wasm heap, against a float64 reference and against the stock tfjs kernels (the path taken
 * when the fused one is off). Every value is checked, including logits far in both tails.
 */

/** A deterministic [rows, cols] batch of logits over ±40 and grey-level or binary targets, plus the tails. */
function batch(rows: number, cols: number): { logits: Float32Array; x: Float32Array } {
  const n = rows * cols;
  const logits = new Float32Array(n);
  const x = new Float32Array(n);
  let s = 7;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    logits[i] = (next() - 0.5) * 80;
    x[i] = i % 3 === 0 ? 0 : i % 3 === 1 ? Math.round(next()) : Math.fround(Math.round(next() * 255) / 255);
  }
  const tails = [0, -0, 1e-8, -1e-8, 1e-3, -1e-3, 0.5, -0.5, 20, -20, 86.9, -86.9, 87, -87, 88, -88, 100, -100, 1e30, -1e30, 3.4e38, -3.4e38];
  tails.forEach((v, i) => (logits[i] = v));
  return { logits, x };
}

/** float64 reference: the term and its logits gradient for upstream gradient dy. */
function reference(l: number, x: number, dy: number): { term: number; grad: number; scale: number } {
  const softplus = Math.max(l, 0) + Math.log1p(Math.exp(-Math.abs(l)));
  const sigmoid = l >= 0 ? 1 / (1 + Math.exp(-l)) : Math.exp(l) / (1 + Math.exp(l));
  return { term: x * l - softplus, grad: (x - sigmoid) * dy, scale: Math.max(Math.abs(x * l), softplus) };
}

describe('fused Bernoulli term on wasm', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });
  afterEach(() => setFusedKernels(null));
  afterAll(() => setFusedKernels(null));

  it('compiles where WebAssembly SIMD exists (Node 20)', () => {
    expect(bernoulliKernelsValidate()).toBe(true);
    expect(bernoulliKernelBytes().length).toBeLessThan(4096);
  });

  it('is off unless asked for, and applies only to same-shape float32 tensors of a size divisible by 4', () => {
    const a = tf.zeros([2, 4]);
    const b = tf.zeros([2, 4]);
    const odd = tf.zeros([3, 3]);
    const row = tf.zeros([4]);
    setFusedKernels(null);
    const env = process.env.VAELAB_FUSED_KERNELS;
    expect(fusedBernoulliApplies(a, b)).toBe(env === '1');
    setFusedKernels(true);
    expect(fusedBernoulliApplies(a, b)).toBe(true);
    expect(fusedBernoulliApplies(odd, odd)).toBe(false);
    expect(fusedBernoulliApplies(a, row)).toBe(false);
    setFusedKernels(false);
    expect(fusedBernoulliApplies(a, b)).toBe(false);
    tf.dispose([a, b, odd, row]);
  });

  it('matches the float64 reference in value and logits gradient to float32 precision, tails included', () => {
    setFusedKernels(true);
    const [rows, cols] = [64, 784];
    const { logits, x } = batch(rows, cols);
    const dyValues = Float32Array.from({ length: rows * cols }, (_, i) => 0.5 + (i % 7) / 7);
    const L = tf.tensor2d(logits, [rows, cols]);
    const X = tf.tensor2d(x, [rows, cols]);
    const dy = tf.tensor2d(dyValues, [rows, cols]);
    const term = bernoulliTerms(L, X);
    const [gradL, gradX] = tf.grads((l: tf.Tensor, xx: tf.Tensor) => bernoulliTerms(l, xx))([L, X], dy);
    const [t, gl, gx] = [term.dataSync(), gradL!.dataSync(), gradX!.dataSync()];
    let worstTerm = 0;
    let worstGrad = 0;
    for (let i = 0; i < logits.length; i++) {
      const r = reference(logits[i]!, x[i]!, dyValues[i]!);
      // relative to the size of the two parts (a difference of two large values can cancel)
      worstTerm = Math.max(worstTerm, Math.abs(t[i]! - r.term) / Math.max(r.scale, 1e-30));
      // σ ∈ [0, 1]: absolute error on (x − σ), which is at most 1 in size, times dy
      worstGrad = Math.max(worstGrad, Math.abs(gl[i]! - r.grad) / dyValues[i]!);
      expect(gx[i]).toBe(Math.fround(dyValues[i]! * logits[i]!));
    }
    expect(worstTerm).toBeLessThan(5e-7);
    expect(worstGrad).toBeLessThan(3e-7);
    tf.dispose([L, X, dy, term, gradL!, gradX!]);
  });

  it('agrees with the stock tfjs kernels to float32 precision, and the Bernoulli log-density uses it', () => {
    const { logits, x } = batch(32, 784);
    const L = tf.tensor2d(logits, [32, 784]);
    const X = tf.tensor2d(x, [32, 784]);
    const run = (fused: boolean) => {
      setFusedKernels(fused);
      const lp = new Bernoulli(L).logProb(X);
      const g = tf.grad((l: tf.Tensor) => tf.sum(new Bernoulli(l).logProb(X)))(L);
      const out = { lp: Array.from(lp.dataSync()), g: Array.from(g.dataSync()) };
      tf.dispose([lp, g]);
      return out;
    };
    const fused = run(true);
    const stock = run(false);
    fused.lp.forEach((v, i) => expect(Math.abs(v - stock.lp[i]!)).toBeLessThan(2e-6 * Math.max(1, Math.abs(stock.lp[i]!))));
    fused.g.forEach((v, i) => expect(Math.abs(v - stock.g[i]!)).toBeLessThan(5e-7));
    // not the same computation: at least one value differs in its last bits
    expect(fused.lp.some((v, i) => v !== stock.lp[i]) || fused.g.some((v, i) => v !== stock.g[i])).toBe(true);
    tf.dispose([L, X]);
  });

  it('leaks no tensor through a gradient step', () => {
    setFusedKernels(true);
    const L = tf.variable(tf.randomNormal([16, 784], 0, 3));
    const X = tf.randomUniform([16, 784]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(new Bernoulli(L).logProb(X))) as tf.Scalar);
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([L, X]);
  });
});
