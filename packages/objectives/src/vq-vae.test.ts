import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, ComponentRegistry, type Forward, RandomStream, RandomStreams, type StepContext } from '@vaelab/core';
import { BernoulliLikelihood } from '@vaelab/likelihoods';
import { Mlp } from '@vaelab/networks';
import { DiagonalGaussianPosterior, VectorQuantizerPosterior, type VectorQuantizerOptions } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';
import { describe, expect, it } from 'vitest';
import { VaeModel, VqVae, components } from './index.js';

const noise = new RandomStream('noise', 1);
const training: StepContext = { step: 0, epoch: 0, training: true, noise };
const evaluation: StepContext = { ...training, training: false };

function quantizer(options: Partial<VectorQuantizerOptions> = {}, seed = 1): VectorQuantizerPosterior {
  const streams = new RandomStreams(seed);
  const o = { latentDim: 4, numCodes: 4, codeDim: 2, ema: false, decay: 0.9, epsilon: 1e-5, deadCodeThreshold: 0, ...options };
  return new VectorQuantizerPosterior(o, streams.stream('init/posterior'), o.deadCodeThreshold > 0 ? streams.stream('vq/reset') : undefined);
}

const likelihood = new BernoulliLikelihood([3]);
// A fixed linear "decoder": logits = z W, W: [4, 3].
const W = tf.tensor2d([[0.5, -1, 0.2], [0.3, 0.1, -0.4], [-0.2, 0.6, 0.1], [0.05, -0.3, 0.7]]);
const x = tf.tensor2d([[1, 0, 1], [0, 0, 1], [1, 1, 0]]);

/** A forward record with the encoder output `params` [3, 4] itself as z_e. */
function forward(vq: VectorQuantizerPosterior, params: tf.Tensor): Forward {
  const q = vq.distribution(params);
  const z = q.rsample(noise);
  const decode = (zz: tf.Tensor) => likelihood.distribution(tf.matMul(zz, W));
  const pParams = tf.matMul(z, W);
  return { x, qParams: params, q, z, pParams, px: likelihood.distribution(pParams), prior: new StandardNormalPrior(4).distribution(3), decode, extras: {} };
}

const book = [[0, 0], [2, 0], [0, 2], [2, 2]];
// Vectors -> codes: [0, 1], [0, 0], [1, 2]; code 3 unused.
const zE = [[0.1, -0.2, 1.7, 0.4], [-0.3, 0.2, 0.4, 0.1], [1.8, -0.1, 0.2, 2.3]];

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

describe('vq_vae', () => {
  it('computes every term as the paper defines it, on a hand-made assignment', () => {
    const vq = quantizer();
    vq.setCodebook(tf.tensor2d(book));
    const fwd = forward(vq, tf.tensor2d(zE));
    const beta = 0.25;
    const objective = new VqVae({ beta }, { discrete: true });
    const { loss, terms, vectors } = objective.loss(fwd, evaluation);
    // By hand, in float64.
    const codes = [[0, 0, 2, 0], [0, 0, 0, 0], [2, 0, 0, 2]];
    const w = W.arraySync();
    const xs = x.arraySync();
    const nll = codes.map((z, b) =>
      -[0, 1, 2].reduce((s, j) => {
        const l = z.reduce((a, zi, i) => a + zi * w[i]![j]!, 0);
        return s + xs[b]![j]! * l - Math.log1p(Math.exp(l));
      }, 0),
    );
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const distance = mean(zE.map((z, b) => z.reduce((s, v, i) => s + (v - codes[b]![i]!) ** 2, 0)));
    const usage = [3 / 6, 2 / 6, 1 / 6, 0];
    const perplexity = Math.exp(-usage.filter((p) => p > 0).reduce((s, p) => s + p * Math.log(p), 0));
    const kl = 2 * Math.log(4);
    expect(terms.reconstruction!.dataSync()[0]).toBeCloseTo(mean(nll), 5);
    expect(terms.codebook!.dataSync()[0]).toBeCloseTo(distance, 5);
    expect(terms.commitment!.dataSync()[0]).toBeCloseTo(beta * distance, 5);
    expect(loss.dataSync()[0]).toBeCloseTo(mean(nll) + distance + beta * distance, 5);
    expect(terms.kl!.dataSync()[0]).toBeCloseTo(kl, 5);
    expect(terms.nelbo!.dataSync()[0]).toBeCloseTo(mean(nll) + kl, 5);
    expect(terms.bits_per_dim!.dataSync()[0]).toBeCloseTo((mean(nll) + kl) / (3 * Math.LN2), 5);
    expect(terms.perplexity!.dataSync()[0]).toBeCloseTo(perplexity, 5);
    expect(terms.usage!.dataSync()[0]).toBeCloseTo(0.75, 6);
    values(vectors!.code_usage!).forEach((v, k) => expect(v).toBeCloseTo(usage[k]!, 6));
    expect(objective.describe()).toEqual([
      'codebook: by gradient of ‖sg[z_e] − e‖² (in the loss)',
      'kl: constant 2·log 4 = 2.773 nats (uniform prior over the codes; not in the loss)',
    ]);
    // Continuous data: no bits per dimension.
    expect(new VqVae({ beta }).loss(fwd, evaluation).terms.bits_per_dim).toBeUndefined();
    vq.dispose();
  });

  it('the codebook term moves only the codes and the commitment term only the encoder side', () => {
    const vq = quantizer();
    vq.setCodebook(tf.tensor2d(book));
    const params = tf.variable(tf.tensor2d(zE));
    const objective = new VqVae({ beta: 0.25 });
    const gradients = (term: 'codebook' | 'commitment') => {
      const { grads } = tf.variableGrads(() => objective.loss(forward(vq, params), evaluation).terms[term]!, [params, vq.codebook]);
      const of = (v: tf.Variable) => (grads[v.name] ? (grads[v.name]!.arraySync() as number[][]) : undefined);
      return { encoder: of(params), codebook: of(vq.codebook) };
    };
    const isZero = (g: number[][] | undefined) => g === undefined || g.flat().every((v) => v === 0);
    const codes = [[0, 0, 2, 0], [0, 0, 0, 0], [2, 0, 0, 2]];
    const indices = [[0, 1], [0, 0], [1, 2]];

    const codebookTerm = gradients('codebook');
    expect(isZero(codebookTerm.encoder)).toBe(true);
    // ∂/∂e_k mean_b Σ_n ‖z_e − e‖² = (2/B) Σ_{vectors assigned to k} (e_k − z).
    const expected = book.map(() => [0, 0]);
    indices.forEach((row, b) => row.forEach((k, n) => [0, 1].forEach((j) => (expected[k]![j]! += (2 / 3) * (codes[b]![2 * n + j]! - zE[b]![2 * n + j]!)))));
    codebookTerm.codebook!.forEach((r, k) => r.forEach((v, j) => expect(v).toBeCloseTo(expected[k]![j]!, 5)));

    const commitmentTerm = gradients('commitment');
    expect(isZero(commitmentTerm.codebook)).toBe(true);
    // ∂/∂z_e β mean_b ‖z_e − e‖² = (2β/B)(z_e − e).
    commitmentTerm.encoder!.forEach((r, b) => r.forEach((v, i) => expect(v).toBeCloseTo((2 * 0.25 / 3) * (zE[b]![i]! - codes[b]![i]!), 5)));
    params.dispose();
    vq.dispose();
  });

  it('the reconstruction gradient reaches the encoder unchanged (straight-through)', () => {
    const vq = quantizer();
    vq.setCodebook(tf.tensor2d(book));
    const params = tf.variable(tf.tensor2d(zE));
    const objective = new VqVae({ beta: 0.25 });
    const { grads } = tf.variableGrads(() => objective.loss(forward(vq, params), evaluation).terms.reconstruction!, [params]);
    // The same term as a function of z, differentiated at z = z_q.
    const zq = tf.tensor2d([[0, 0, 2, 0], [0, 0, 0, 0], [2, 0, 0, 2]]);
    const atZq = tf.grad((z: tf.Tensor) => tf.mean(tf.neg(likelihood.distribution(tf.matMul(z, W)).logProb(x))))(zq);
    const expected = atZq.arraySync() as number[][];
    (grads[params.name]!.arraySync() as number[][]).forEach((r, b) => r.forEach((v, i) => expect(v).toBeCloseTo(expected[b]![i]!, 5)));
    expect(values(atZq).some((v) => Math.abs(v) > 1e-3)).toBe(true);
    params.dispose();
    vq.dispose();
  });

  it('with EMA leaves the codebook term out of the loss and updates the codebook only in training steps', () => {
    const vq = quantizer({ ema: true });
    vq.setCodebook(tf.tensor2d(book));
    const objective = new VqVae({ beta: 0.25 });
    const r = objective.loss(forward(vq, tf.tensor2d(zE)), evaluation);
    expect(r.loss.dataSync()[0]).toBeCloseTo(r.terms.reconstruction!.dataSync()[0]! + r.terms.commitment!.dataSync()[0]!, 5);
    expect(r.terms.codebook!.dataSync()[0]).toBeGreaterThan(0);
    expect((vq.codebook.arraySync() as number[][])).toEqual(book); // evaluation: untouched
    objective.loss(forward(vq, tf.tensor2d(zE)), training);
    // Code 1 took vectors [1.7, 0.4] and [1.8, −0.1]: m = 0.9·[2, 0] + 0.1·[3.5, 0.3], N = 0.9 + 0.2.
    const smoothing = (n: number, total: number) => ((n + 1e-5) / (total + 4e-5)) * total;
    const total = 1.2 + 1.1 + 1.0 + 0.9;
    const e1 = [(1.8 + 0.35) / smoothing(1.1, total), 0.03 / smoothing(1.1, total)];
    (vq.codebook.arraySync() as number[][])[1]!.forEach((v, j) => expect(v).toBeCloseTo(e1[j]!, 5));
    expect(objective.describe()[0]).toBe('codebook: EMA updates in training steps (reported, not in the loss)');
    vq.dispose();
  });

  it('says clearly that it needs the vector_quantizer posterior', () => {
    const streams = new RandomStreams(1);
    const opts = { hidden: [], activation: 'relu' as const, init: 'uniform_fan_in' as const };
    const model = new VaeModel({
      encoder: new Mlp([3], [4], opts, streams.stream('e')),
      posterior: new DiagonalGaussianPosterior(),
      decoder: new Mlp([2], [3], opts, streams.stream('d')),
      likelihood,
      prior: new StandardNormalPrior(2),
      latentDim: 2,
      dataShape: [3],
    });
    const run = () => new VqVae({ beta: 0.25 }).loss(model.forward(x, noise), training);
    expect(run).toThrow(ComponentConfigError);
    expect(run).toThrow(/objective 'vq_vae' needs the posterior 'vector_quantizer'.*Normal distribution/);
    model.dispose();
  });

  describe('through VaeModel', () => {
    // Four binary prototypes of 16 pixels, repeated.
    const prototypes = [0, 1, 2, 3].map((p) => Array.from({ length: 16 }, (_, i) => (i % 4 === p || (i >> 2) === p ? 1 : 0)));
    const data = tf.tensor2d(Array.from({ length: 16 }, (_, i) => prototypes[i % 4]!));

    function model(options: Partial<VectorQuantizerOptions>, seed = 1) {
      const streams = new RandomStreams(seed);
      const opts = { hidden: [32], activation: 'relu' as const, init: 'uniform_fan_in' as const };
      const o = { latentDim: 4, numCodes: 8, codeDim: 2, ema: false, decay: 0.9, epsilon: 1e-5, deadCodeThreshold: 0, ...options };
      const posterior = new VectorQuantizerPosterior(o, streams.stream('init/posterior'), o.deadCodeThreshold > 0 ? streams.stream('vq/reset') : undefined);
      return new VaeModel({
        encoder: new Mlp([16], [4], opts, streams.stream('init/encoder')),
        posterior,
        decoder: new Mlp([4], [16], opts, streams.stream('init/decoder')),
        likelihood: new BernoulliLikelihood([16]),
        prior: new StandardNormalPrior(4),
        latentDim: 4,
        dataShape: [16],
      });
    }

    function step(m: VaeModel, objective: VqVae, optimizer?: tf.Optimizer): number {
      const { value, grads } = tf.variableGrads(() => objective.loss(m.forward(data, noise), training).loss, m.variables);
      optimizer?.applyGradients(grads);
      const loss = value.dataSync()[0]!;
      tf.dispose([value, grads]);
      return loss;
    }

    for (const [label, options] of [
      ['gradient codebook', { ema: false }],
      ['EMA codebook with dead-code resets', { ema: true, deadCodeThreshold: 0.5 }],
    ] as const) {
      it(`a few training steps reduce the loss (${label})`, () => {
        const m = model(options);
        const objective = new VqVae({ beta: 0.25 });
        const optimizer = tf.train.adam(0.01);
        // (With a gradient codebook the loss first rises: the encoder outruns the codes, and the
        // codebook term grows until the codes catch up.)
        const losses = Array.from({ length: 100 }, () => step(m, objective, optimizer));
        const first = (losses[0]! + losses[1]! + losses[2]!) / 3;
        const last = (losses[97]! + losses[98]! + losses[99]!) / 3;
        expect(last).toBeLessThan(0.5 * first);
        optimizer.dispose();
        m.dispose();
      });
    }

    it('with EMA the statistics are checkpointed state, not trainable variables', () => {
      const m = model({ ema: true });
      const vq = m.parts.posterior as VectorQuantizerPosterior;
      expect(m.variables).not.toContain(vq.codebook);
      expect(m.namedState().map(([name]) => name)).toEqual(['posterior/state/0', 'posterior/state/1', 'posterior/state/2']);
      expect(m.checkpointVariables().map(([, v]) => v)).toEqual([...m.variables, vq.codebook, vq.clusterSize, vq.codeSum]);
      const plain = model({ ema: false });
      expect(plain.namedVariables().filter(([name]) => name.startsWith('posterior/')).map(([, v]) => v)).toEqual([(plain.parts.posterior as VectorQuantizerPosterior).codebook]);
      m.dispose();
      plain.dispose();
    });

    it('a training step (variableGrads, EMA update, reset, dispose) leaks no tensors', () => {
      for (const options of [{ ema: false, deadCodeThreshold: 0.5 }, { ema: true, deadCodeThreshold: 0.5 }]) {
        const m = model(options);
        const objective = new VqVae({ beta: 0.25 });
        step(m, objective); // warm-up
        const before = tf.memory().numTensors;
        step(m, objective);
        step(m, objective);
        expect(tf.memory().numTensors).toBe(before);
        m.dispose();
      }
    });
  });

  it('is built from config; a negative beta is a config error with the path', () => {
    const registry = new ComponentRegistry().use({ components });
    const ctx = { streams: new RandomStreams(1), cwd: '.', dataShape: [3], latentDim: 4, discrete: true };
    const built = registry.build('objective', { name: 'vq_vae' }, ctx) as VqVae;
    expect([built.name, built.options.beta, built.needsReparameterization, built.data.discrete]).toEqual(['vq_vae', 0.25, true, true]);
    expect((registry.build('objective', { name: 'vq_vae', beta: 0 }, ctx) as VqVae).options.beta).toBe(0);
    expect(() => registry.build('objective', { name: 'vq_vae', beta: -1 }, ctx, 'objective')).toThrow(/objective\.beta/);
    expect(() => new VqVae({ beta: -0.5 })).toThrow(/beta must be ≥ 0/);
  });
});
