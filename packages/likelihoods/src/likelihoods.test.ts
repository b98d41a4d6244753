import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, type Likelihood, RandomStream, RandomStreams, ShapeError, SupportError, withValidation } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { Bernoulli, BernoulliLikelihood, components } from './index.js';

const sigmoid = (l: number) => 1 / (1 + Math.exp(-l));

describe('Bernoulli', () => {
  const logits = tf.tensor2d([[-2, 0.5, 30], [1, -40, 0]]);
  const d = new Bernoulli(logits, 1);

  it('logProb matches Σ x log p + (1 − x) log(1 − p), stably for large |logits|', () => {
    const x = tf.tensor2d([[0, 1, 1], [0.3, 0, 1]]);
    const lp = d.logProb(x).arraySync() as number[];
    const term = (xv: number, l: number) => xv * Math.log(sigmoid(l)) + (1 - xv) * Math.log(1 - sigmoid(l));
    expect(lp[0]).toBeCloseTo(term(0, -2) + term(1, 0.5) + 0 /* log σ(30) ≈ −1e−13 */, 5);
    // log(1 − σ(−40)) ≈ 0, and σ(1) at a grey level 0.3 is the usual cross-entropy.
    expect(lp[1]).toBeCloseTo(term(0.3, 1) + 0 + term(1, 0), 5);
    expect(d.batchShape).toEqual([2]);
    expect(d.eventShape).toEqual([3]);
  });

  it('entropy and mean match the closed form', () => {
    const h = (l: number) => {
      const p = sigmoid(l);
      return -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
    };
    const small = new Bernoulli(tf.tensor2d([[-2, 0.5]]), 1);
    expect(small.entropy().dataSync()[0]).toBeCloseTo(h(-2) + h(0.5), 5);
    expect(Array.from(small.mean().dataSync())).toEqual([sigmoid(-2), sigmoid(0.5)].map((v) => Math.fround(v)));
  });

  it('sample moments match the mean', () => {
    const big = new Bernoulli(tf.fill([20_000, 1], 0.8), 1);
    const m = tf.mean(big.sample(new RandomStream('b', 1))).dataSync()[0]!;
    expect(m).toBeCloseTo(sigmoid(0.8), 1);
  });

  it('sums over a rank-3 event (images)', () => {
    const lk = new BernoulliLikelihood([2, 2, 1]);
    expect(lk.paramShape([2, 2, 1])).toEqual([2, 2, 1]);
    const dist = lk.distribution(tf.zeros([3, 2, 2, 1]));
    expect(dist.logProb(tf.ones([3, 2, 2, 1])).shape).toEqual([3]);
    expect(dist.logProb(tf.ones([3, 2, 2, 1])).dataSync()[0]).toBeCloseTo(4 * Math.log(0.5), 5);
  });
});

describe('bernoulli likelihood', () => {
  it('rejects a decoder output of the wrong shape, naming both shapes', () => {
    const lk = new BernoulliLikelihood([2, 2, 1]);
    expect(() => lk.distribution(tf.zeros([3, 4]))).toThrow(ShapeError);
    expect(() => lk.distribution(tf.zeros([3, 4]))).toThrow(/bernoulli: decoder output has shape \[3, 4\], expected \[batch, 2, 2, 1\]/);
    expect(() => lk.distribution(tf.zeros([2, 2, 1]))).toThrow(ShapeError); // no batch axis
  });

  it('checkData accepts [0, 1] and names the component, dataset, split, value and index otherwise', () => {
    const lk = new BernoulliLikelihood([3]);
    const info = { split: 'test', dataset: 'csv', levels: null };
    expect(() => lk.checkData(new Float32Array([0, 1, 0.4, 1, 1, 0]), info)).not.toThrow();
    expect(() => lk.checkData(new Float32Array([0, 1, 0.4, 1, -2, 0]), info)).toThrow(SupportError);
    expect(() => lk.checkData(new Float32Array([0, 1, 0.4, 1, -2, 0]), info)).toThrow(
      /bernoulli: dataset 'csv', split 'test': value -2 at index 4 \(example 1, position \[1\] of \[3\]\) is outside \[0, 1\]/,
    );
    expect(() => lk.checkData(new Float32Array([0, NaN]), info)).toThrow(/value NaN at index 1/);
  });

  it('under validation, rejects values outside [0, 1]', () => {
    const d = new Bernoulli(tf.zeros([1, 2]), 1);
    expect(() => withValidation(() => d.logProb(tf.tensor2d([[1, 2]])))).toThrow(SupportError);
  });

  it('samples without taping the comparison, so a loss that samples can still be differentiated', () => {
    const logits = tf.variable(tf.zeros([2, 3]));
    const { grads, value } = tf.variableGrads(() => {
      const d = new Bernoulli(logits, 1);
      return tf.sum(d.logProb(d.sample(new RandomStream('bs', 1)))) as tf.Scalar;
    });
    expect(grads[logits.name]!.shape).toEqual([2, 3]);
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    logits.dispose();
  });
});

/* Every component, built through the registry from a config as the CLI does. */

const dataShape = [2, 2, 1];
const CONFIGS: { block: Record<string, unknown>; levels: number | null; discrete: boolean; variables: number }[] = [
  { block: { name: 'bernoulli' }, levels: null, discrete: true, variables: 0 },
  { block: { name: 'continuous_bernoulli' }, levels: null, discrete: false, variables: 0 },
  { block: { name: 'gaussian', sigma: 1 }, levels: null, discrete: false, variables: 0 },
  { block: { name: 'gaussian', scale: 'learned', sigma: 1 }, levels: null, discrete: false, variables: 1 },
  { block: { name: 'gaussian', scale: 'per_pixel', min_sigma: 0.01 }, levels: null, discrete: false, variables: 0 },
  { block: { name: 'laplace', scale: 'learned' }, levels: null, discrete: false, variables: 1 },
  { block: { name: 'laplace', scale: 'per_pixel' }, levels: null, discrete: false, variables: 0 },
  { block: { name: 'categorical_256' }, levels: 256, discrete: true, variables: 0 },
  { block: { name: 'discretized_logistic', mixtures: 5 }, levels: 256, discrete: true, variables: 0 },
];

describe('every likelihood through the registry', () => {
  const registry = new ComponentRegistry().use({ components });

  it('registers the six components', () => {
    expect(registry.names('likelihood')).toEqual(['bernoulli', 'categorical_256', 'continuous_bernoulli', 'discretized_logistic', 'gaussian', 'laplace']);
  });

  for (const { block, levels, discrete, variables } of CONFIGS) {
    it(`${JSON.stringify(block)}: builds, scores k/255 data, and a training-like step leaks no tensor`, () => {
      const lk: Likelihood = registry.build('likelihood', block, { dataShape, levels, streams: new RandomStreams(1), cwd: '.' }, 'likelihood');
      expect(lk.discrete).toBe(discrete);
      expect(lk.variables).toHaveLength(variables);
      const batch = 3;
      const paramShape = lk.paramShape(dataShape);
      // A stand-in for the decoder: one variable holding its output.
      const decoderOut = tf.variable(tf.mul(new RandomStream('init', 1).normal([batch, ...paramShape]), 0.1));
      const x = tf.div(tf.round(tf.mul(new RandomStream('x', 1).uniform([batch, ...dataShape]), 255)), 255);
      const xData = x.dataSync() as Float32Array;
      lk.checkData?.(xData, { split: 'train', dataset: 'toy', levels });
      const noise = new RandomStream('noise', 1);
      const step = () => {
        const { value, grads } = tf.variableGrads(() =>
          tf.tidy(() => {
            const px = lk.distribution(decoderOut);
            expect(px.batchShape).toEqual([batch]);
            expect(px.eventShape).toEqual(dataShape);
            // Sampling inside the loss must not break differentiation.
            px.sample(noise);
            return tf.neg(tf.mean(px.logProb(x))) as tf.Scalar;
          }),
        );
        for (const v of [value, ...Object.values(grads)]) {
          for (const e of v.dataSync()) expect(Number.isFinite(e)).toBe(true);
          v.dispose();
        }
        return Object.keys(grads).length;
      };
      expect(step()).toBe(1 + variables); // warm-up (kernels, scalars cached by tfjs)
      const before = tf.memory().numTensors;
      step();
      withValidation(step);
      expect(tf.memory().numTensors).toBe(before);
      decoderOut.dispose();
      x.dispose();
      lk.dispose();
    });
  }
});
