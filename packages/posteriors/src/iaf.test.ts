import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, Normal, RandomStream, RandomStreams, ShapeError, SupportError, kl, withValidation } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { FlowLogProbError, IafFlow, IafPosterior, components, klRules } from './index.js';
import { jacobianFd, logAbsDet } from './test-helpers.js';

const LOG_2PI = Math.log(2 * Math.PI);

const D = 3;
const C = 2;
const MU = [0.4, -0.2, 1.1];
const LOG_VAR = [-0.3, 0.5, 0.1];
const H = [0.7, -1.2];
const PARAMS = [...MU, ...LOG_VAR, ...H];
const build = (steps: number, seed = 1, forgetBias = 1) =>
  new IafPosterior(D, { steps, hidden: [8, 8], contextDim: C, forgetBias }, new RandomStreams(seed).stream('init/posterior'));

const flowOf = (family: IafPosterior, params = PARAMS) => family.distribution(tf.tensor2d([params])).flow as IafFlow;

describe('iaf', () => {
  it('asks the encoder for 2D + context_dim values and owns its MADE weights', () => {
    const family = build(2);
    expect(family.paramShape({ dim: D })).toEqual([2 * D + C]);
    expect(() => family.paramShape({ dim: 4 })).toThrow(ShapeError);
    // per step: input kernel, context kernel, bias, hidden kernel + bias, m kernel + bias, s kernel + bias
    expect(family.variables).toHaveLength(2 * 9);
    expect(family.variables[0]!.shape).toEqual([D, 8]);
    expect(family.variables[1]!.shape).toEqual([C, 8]);
    expect(new IafPosterior(D, { contextDim: 0, hidden: [8] }, new RandomStream('init/posterior', 1)).variables).toHaveLength(2 * 6);
  });

  it('initializes the same weights from the same seed and different ones from another', () => {
    const a = build(1, 7).variables[0]!.dataSync();
    expect(Array.from(build(1, 7).variables[0]!.dataSync())).toEqual(Array.from(a));
    expect(Array.from(build(1, 8).variables[0]!.dataSync())).not.toEqual(Array.from(a));
  });

  it('each step has a lower-triangular Jacobian with diagonal σ, and its log-det is Σ log σ', () => {
    const flow = flowOf(build(2));
    for (const t of [0, 1]) {
      for (const x of [
        [0.3, -0.7, 1.2],
        [-1.5, 0.2, 0.4],
      ]) {
        const g = (v: number[]) => Array.from(flow.step(t, tf.tensor2d([v])).z.dataSync());
        const jac = jacobianFd(g, x);
        for (let i = 0; i < D; i++) for (let j = i + 1; j < D; j++) expect(Math.abs(jac[i]![j]!)).toBeLessThan(1e-5);
        // Really autoregressive: z_2 depends on z_0 and z_1.
        expect(Math.abs(jac[2]![0]!) + Math.abs(jac[2]![1]!)).toBeGreaterThan(1e-3);
        const logDet = flow.step(t, tf.tensor2d([x])).logDetJacobian.dataSync()[0]!;
        expect(logDet).toBeCloseTo(jac.reduce((s, row, i) => s + Math.log(Math.abs(row[i]!)), 0), 3);
        expect(logDet).toBeLessThan(0); // σ < 1
      }
    }
  });

  it('reverses the order between steps: the whole Jacobian is triangular for one step only, and its log|det| is tracked', () => {
    const x = [0.3, -0.7, 1.2];
    for (const steps of [1, 2, 3]) {
      const flow = flowOf(build(steps));
      const g = (v: number[]) => Array.from(flow.transform(tf.tensor2d([v])).z.dataSync());
      const jac = jacobianFd(g, x);
      const upper = Math.abs(jac[0]![1]!) + Math.abs(jac[0]![2]!) + Math.abs(jac[1]![2]!);
      if (steps === 1) expect(upper).toBeLessThan(1e-5);
      else expect(upper).toBeGreaterThan(1e-3);
      expect(flow.transform(tf.tensor2d([x])).logDetJacobian.dataSync()[0]).toBeCloseTo(logAbsDet(jac), 3);
    }
  });

  it('log q at a sample equals log q0(z0) − Σ log-det, remembered for several samples', () => {
    const family = build(2);
    const q = family.distribution(tf.tensor2d([PARAMS]));
    expect(q.logProbOnlyAtOwnSamples).toBe(true);
    const seeds = [3, 4, 5];
    const zs = seeds.map((seed) => q.rsample(new RandomStream('s', seed)));
    const zSample = q.sample(new RandomStream('s', 6));
    [...zs, zSample].forEach((z, n) => {
      const eps = Array.from(new RandomStream('s', [...seeds, 6][n]!).normal([1, D]).dataSync());
      const sigma = LOG_VAR.map((s) => Math.exp(0.5 * s));
      const z0 = MU.map((m, i) => m + sigma[i]! * eps[i]!);
      const logQ0 = eps.reduce((s, e, i) => s - 0.5 * e * e - Math.log(sigma[i]!) - 0.5 * LOG_2PI, 0);
      const { z: zT, logDetJacobian } = (q.flow as IafFlow).transform(tf.tensor2d([z0]));
      Array.from(z.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(zT.dataSync()[i]!, 4));
      expect(q.logProb(z).dataSync()[0]).toBeCloseTo(logQ0 - logDetJacobian.dataSync()[0]!, 3);
    });
    expect(() => q.logProb(zs[0]!.clone())).toThrow(FlowLogProbError);
    expect(() => q.logProb(tf.zeros([1, D]))).toThrow(/iaf: logProb is only available at this distribution's own samples/);
  });

  it('depends on the context h, and a large forget bias makes every step nearly the identity', () => {
    const family = build(2);
    const rsample = (params: number[], fam = family) => Array.from(fam.distribution(tf.tensor2d([params])).rsample(new RandomStream('h', 1)).dataSync());
    const other = [...MU, ...LOG_VAR, 2.5, 0.3];
    expect(rsample(other)).not.toEqual(rsample(PARAMS));

    const identity = build(2, 1, 30);
    const x = [0.3, -0.7, 1.2];
    const { z, logDetJacobian } = flowOf(identity).transform(tf.tensor2d([x]));
    // Two reversals: the output order is the input's reversed twice = z_T ≈ reverse(reverse(z_0)) after steps 0 and 1.
    Array.from(z.dataSync()).forEach((v, i) => expect(v).toBeCloseTo([...x].reverse()[i]!, 4));
    expect(logDetJacobian.dataSync()[0]).toBeCloseTo(0, 5);
  });

  it('rsample and its log q have gradients matching central finite differences (encoder output and MADE weights)', () => {
    const family = build(2);
    const f = (params: tf.Tensor) => {
      const q = family.distribution(params);
      const z = q.rsample(new RandomStream('g', 3));
      return tf.add(tf.sum(tf.add(tf.sin(z), tf.mul(0.3, tf.square(z)))), tf.sum(q.logProb(z))) as tf.Scalar;
    };
    const h = 1e-2;
    const grad = tf.grad(f)(tf.tensor2d([PARAMS])).dataSync();
    PARAMS.forEach((_, i) => {
      const plus = [...PARAMS];
      const minus = [...PARAMS];
      plus[i]! += h;
      minus[i]! -= h;
      const fd = (f(tf.tensor2d([plus])).dataSync()[0]! - f(tf.tensor2d([minus])).dataSync()[0]!) / (2 * h);
      expect(grad[i]).toBeCloseTo(fd, 2);
    });
    // A MADE weight of the first step (its s head) and one of the second (its context kernel).
    const params = tf.tensor2d([PARAMS]);
    const { grads } = tf.variableGrads(() => f(params), family.variables);
    for (const variable of [family.networks[0]!.variables[7]!, family.networks[1]!.variables[1]!]) {
      const base = variable.dataSync().slice();
      const at = 1;
      const value = (delta: number) => {
        const moved = base.slice();
        moved[at]! += delta;
        variable.assign(tf.tensor(moved, variable.shape));
        return f(params).dataSync()[0]!;
      };
      const fd = (value(h) - value(-h)) / (2 * h);
      variable.assign(tf.tensor(base, variable.shape));
      expect(grads[variable.name]!.dataSync()[at]).toBeCloseTo(fd, 2);
    }
  });

  it('rejects an encoder output of the wrong shape and non-finite base parameters under validation', () => {
    const family = build(1);
    expect(() => family.distribution(tf.zeros([2, 7]))).toThrow(/iaf.*\[2, 7\].*\[batch, 8\]/);
    const nan = [...PARAMS];
    nan[0] = NaN;
    expect(() => withValidation(() => family.distribution(tf.tensor2d([nan])))).toThrow(SupportError);
  });

  it('is built from config with its weights from the init/posterior stream, and rejects bad options', () => {
    const registry = new ComponentRegistry().use({ components, klRules });
    const ctx = { latentDim: D, streams: new RandomStreams(1), cwd: '.' };
    const built = registry.build('posterior', { name: 'iaf', steps: 1, hidden: [8, 8], context_dim: C }, ctx) as IafPosterior;
    expect(built.reparameterized).toBe(true);
    expect(built.paramShape({ dim: D })).toEqual([2 * D + C]);
    expect(Array.from(built.variables[0]!.dataSync())).toEqual(Array.from(build(1).variables[0]!.dataSync()));
    const defaults = registry.build('posterior', { name: 'iaf' }, { ...ctx, streams: new RandomStreams(2) }) as IafPosterior;
    expect(defaults.options).toEqual({ steps: 2, hidden: [64], contextDim: 16, forgetBias: 1, scale: 'log_var' });
    expect(() => registry.build('posterior', { name: 'iaf', hidden: [] }, ctx, 'posterior')).toThrow(/posterior\.hidden/);
    expect(() => registry.build('posterior', { name: 'iaf', steps: 0 }, ctx, 'posterior')).toThrow(/posterior\.steps/);
    built.dispose();
    defaults.dispose();
  });

  it('trains without leaking tensors (gradients reach the encoder and the MADE weights) and disposes its weights', () => {
    const rng = new RandomStream('leak', 2);
    const x = rng.normal([5, 4]);
    const family = build(2);
    const encoder = tf.variable(tf.mul(rng.normal([4, 2 * D + C]), 0.3));
    const step = () => {
      const { value, grads } = tf.variableGrads(() => {
        const q = family.distribution(tf.matMul(x, encoder));
        const z = q.rsample(rng);
        const prior = new Normal(tf.zeros([5, D]), tf.ones([5, D]));
        return tf.mean(tf.add(kl(q, prior, { rng, z, samples: 2 }).value, tf.sum(tf.square(z), -1))) as tf.Scalar;
      }, [encoder, ...family.variables]);
      expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
      const norms = tf.tidy(() => [encoder, ...family.variables].map((v) => tf.sum(tf.abs(grads[v.name]!)).dataSync()[0]!));
      expect(norms[0]).toBeGreaterThan(0);
      expect(norms.slice(1).filter((n) => n > 0).length).toBeGreaterThan(family.variables.length / 2);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
    family.dispose();
    // 2 steps × (9 weights + 3 masks)
    expect(tf.memory().numTensors).toBe(before - 2 * 12);
  });
});
