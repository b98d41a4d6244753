import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { BetaVae, type BetaVaeOptions } from './beta-vae.js';
import { Elbo } from './elbo.js';
import { components } from './index.js';
import { X, leakedTensors, noiseStream, objectiveContext, scalar, stepContext, tinyModel, values } from './test-model.js';

const constant = (beta: number): BetaVaeOptions => ({ samples: 1, klSamples: 1, weighting: { mode: 'beta', schedule: { type: 'constant', beta } } });

describe('beta_vae', () => {
  const model = tinyModel();

  /** Loss and terms of `objective` on the same forward pass (same noise seed) at `step`. */
  function run(objective: Elbo | BetaVae, step = 0) {
    const noise = noiseStream(11);
    const r = objective.loss(model.forward(X(), noise), stepContext(noise, step));
    return { loss: scalar(r.loss), terms: Object.fromEntries(Object.entries(r.terms).map(([k, t]) => [k, scalar(t)])), vectors: r.vectors };
  }

  it('at β = 1 equals the ELBO: loss, terms and kl_per_dim', () => {
    const elbo = run(new Elbo({ samples: 1, klSamples: 1 }, { discrete: true }));
    const beta = run(new BetaVae(constant(1), { discrete: true }));
    expect(beta.loss).toBe(elbo.loss);
    expect(beta.terms).toEqual({ ...elbo.terms, beta: 1 });
    expect(values(beta.vectors?.kl_per_dim)).toEqual(values(elbo.vectors?.kl_per_dim));
  });

  it('weights the KL by β and keeps nelbo unweighted', () => {
    const { loss, terms } = run(new BetaVae(constant(4)));
    expect(loss).toBeCloseTo(terms.reconstruction! + 4 * terms.kl!, 5);
    expect(terms.nelbo).toBeCloseTo(terms.reconstruction! + terms.kl!, 5);
    expect(terms.beta).toBe(4);
  });

  it('follows a linear warm-up and a cyclical schedule through the step', () => {
    const linear = new BetaVae({ samples: 1, klSamples: 1, weighting: { mode: 'beta', schedule: { type: 'linear', start: 0, end: 2, steps: 100 } } });
    for (const [step, beta] of [[0, 0], [25, 0.5], [100, 2], [500, 2]] as const) {
      const { loss, terms } = run(linear, step);
      expect(terms.beta).toBeCloseTo(beta, 6);
      expect(loss).toBeCloseTo(terms.reconstruction! + beta * terms.kl!, 5);
    }
    const cyc = new BetaVae({
      samples: 1,
      klSamples: 1,
      weighting: { mode: 'beta', schedule: { type: 'cyclical', start: 0, end: 1, cycleSteps: 10, cycles: 2, ratio: 0.5 } },
    });
    expect([0, 2, 5, 9, 12, 25].map((s) => run(cyc, s).terms.beta)).toEqual([0, 0.4, 1, 1, 0.4, 1].map((v) => Math.fround(v)));
  });

  it('capacity mode: reconstruction + γ·|KL − C(step)|, reporting C', () => {
    const objective = new BetaVae({ samples: 1, klSamples: 1, weighting: { mode: 'capacity', gamma: 100, capacity: { max: 20, steps: 1000 } } });
    for (const step of [0, 10, 500]) {
      const { loss, terms } = run(objective, step);
      const c = 20 * (step / 1000);
      expect(terms.capacity).toBeCloseTo(c, 5);
      expect(terms.beta).toBeUndefined();
      expect(loss).toBeCloseTo(terms.reconstruction! + 100 * Math.abs(terms.kl! - c), 3);
    }
    expect(objective.describe()).toContain('capacity: γ = 100, C from 0 to 20 nats over 1000 steps');
  });

  it('capacity mode has the gradient of β-weighting with β = γ when KL > C and β = −γ when KL < C', () => {
    // d/dθ γ·|KL − C| = γ·sign(KL − C)·dKL/dθ.
    const gradients = (objective: BetaVae, step: number) => {
      const noise = noiseStream(12);
      const { value, grads } = tf.variableGrads(() => objective.loss(model.forward(X(), noise), stepContext(noise, step)).loss, model.variables);
      const flat = values(tf.concat(Object.values(grads).map((g) => tf.reshape(g, [-1]))));
      tf.dispose([value, ...Object.values(grads)]);
      return flat;
    };
    const capacity = new BetaVae({ samples: 1, klSamples: 1, weighting: { mode: 'capacity', gamma: 3, capacity: { max: 1000, steps: 1 } } });
    const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 4));
    close(gradients(capacity, 0), gradients(new BetaVae(constant(3)), 0)); // C = 0 < KL
    close(gradients(capacity, 1), gradients(new BetaVae(constant(-3)), 1)); // C = 1000 > KL
    expect(gradients(capacity, 0)).not.toEqual(gradients(capacity, 1));
  });

  it('leaves no tensors behind around a gradient step', () => {
    expect(leakedTensors(model, new BetaVae(constant(4), { discrete: true }), X())).toBe(0);
    const capacity: BetaVaeOptions = { samples: 1, klSamples: 1, weighting: { mode: 'capacity', gamma: 10, capacity: { max: 5, steps: 10 } } };
    expect(leakedTensors(model, new BetaVae({ ...capacity, corruption: { type: 'gaussian', level: 0.1 } }), X())).toBe(0);
  });

  it('is built from config in each mode', () => {
    const registry = new ComponentRegistry().use({ components });
    const ctx = objectiveContext(true);
    const build = (block: Record<string, unknown>) => registry.build('objective', { name: 'beta_vae', ...block }, ctx, 'objective') as BetaVae;
    expect(build({}).options.weighting).toEqual({ mode: 'beta', schedule: { type: 'constant', beta: 1 } });
    expect(build({ beta: 4, schedule: 'linear', warmup_steps: 50 }).options.weighting).toEqual({
      mode: 'beta',
      schedule: { type: 'linear', start: 0, end: 4, steps: 50 },
    });
    expect(build({ beta: 2, schedule: 'cyclical', cycle_steps: 30, cycles: 3, ratio: 0.8, beta_start: 0.1 }).options.weighting).toEqual({
      mode: 'beta',
      schedule: { type: 'cyclical', start: 0.1, end: 2, cycleSteps: 30, cycles: 3, ratio: 0.8 },
    });
    expect(build({ mode: 'capacity', gamma: 500, capacity_max: 10, capacity_steps: 2000 }).options.weighting).toEqual({
      mode: 'capacity',
      gamma: 500,
      capacity: { max: 10, steps: 2000 },
    });
    const built = build({ beta: 3, corruption: { type: 'salt_and_pepper', level: 0.1 } });
    expect(built.needsReparameterization).toBe(true);
    expect(built.corrupt).toBeTypeOf('function');
    const noise = noiseStream(1);
    expect(scalar(built.loss(model.forward(X(), noise), stepContext(noise)).terms.beta)).toBe(3);
  });

  it('rejects bad options with the config path', () => {
    const registry = new ComponentRegistry().use({ components });
    const ctx = objectiveContext(true);
    const bad = (block: Record<string, unknown>, path: RegExp) =>
      expect(() => registry.build('objective', { name: 'beta_vae', ...block }, ctx, 'objective')).toThrow(path);
    bad({ beta: -1 }, /objective\.beta/);
    bad({ beta_start: -0.5 }, /objective\.beta_start/);
    bad({ schedule: 'exponential' }, /objective\.schedule/);
    bad({ warmup_steps: 0 }, /objective\.warmup_steps/);
    bad({ cycle_steps: 2.5 }, /objective\.cycle_steps/);
    bad({ cycles: 0 }, /objective\.cycles/);
    bad({ ratio: 0 }, /objective\.ratio/);
    bad({ ratio: 1.5 }, /objective\.ratio/);
    bad({ gamma: -1 }, /objective\.gamma/);
    bad({ capacity_max: -3 }, /objective\.capacity_max/);
    bad({ capacity_steps: 0 }, /objective\.capacity_steps/);
    bad({ mode: 'both' }, /objective\.mode/);
    bad({ warmup: 10 }, /unknown option 'warmup'/);
  });
});
