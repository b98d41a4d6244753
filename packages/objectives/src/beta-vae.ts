import * as tf from '@tensorflow/tfjs-core';
import { type Forward, type LossResult, type Objective, type StepContext, defineComponent } from '@vaelab/core';
import { z } from 'zod';
import { type CorruptFunction, type CorruptionOptions, corruptionFunction, corruptionSchema, describeCorruption } from './corruption.js';
import { describeKL, klSamplesSchema, samplesSchema } from './elbo.js';
import { type BetaSchedule, type CapacitySchedule, betaAt, capacityAt, describeSchedule } from './schedules.js';
import { type DataInfo, elboParts, klVectors, lossResult, tidyLoss, vaeTerms } from './terms.js';

/** How the KL enters the loss: weighted by β(step), or pulled towards a capacity C(step). */
export type KLWeighting =
  | { readonly mode: 'beta'; readonly schedule: BetaSchedule }
  | { readonly mode: 'capacity'; readonly gamma: number; readonly capacity: CapacitySchedule };

export interface BetaVaeOptions {
  /** Monte Carlo samples of z per example for the reconstruction term. */
  samples: number;
  /** Samples for the KL estimate when no analytic form is registered. */
  klSamples: number;
  weighting: KLWeighting;
  /** Input corruption for a denoising variant (default none). */
  corruption?: CorruptionOptions;
}

/**
 * β-VAE (Higgins et al. 2017), nats per example:
 *   mode beta:      loss = reconstruction + β(step)·KL, β constant, warmed up linearly
 *                   (Bowman et al. 2016) or cyclical (Fu et al. 2019);
 *   mode capacity:  loss = reconstruction + γ·|KL − C(step)| (Burgess et al. 2018, eq. 8), with KL
 *                   the batch mean and C rising linearly from 0 to its maximum.
 * Terms as the ELBO's (`nelbo` is the unweighted negative ELBO) plus `beta` or `capacity`.
 */
export class BetaVae implements Objective {
  readonly name = 'beta_vae';
  readonly needsReparameterization = true;
  readonly corrupt?: CorruptFunction;
  private klAnalytic: boolean | undefined;

  constructor(
    readonly options: BetaVaeOptions,
    readonly data: DataInfo = { discrete: false },
  ) {
    const corrupt = corruptionFunction(options.corruption);
    if (corrupt) this.corrupt = corrupt;
  }

  loss(fwd: Forward, ctx: StepContext): LossResult {
    return tidyLoss(() => {
      const parts = elboParts(fwd, ctx.noise, this.options.samples, this.options.klSamples);
      this.klAnalytic = parts.analytic;
      const terms = vaeTerms(parts.nll, parts.kl, fwd.x, this.data);
      const reconstruction = terms.reconstruction!;
      const klTerm = terms.kl!;
      const w = this.options.weighting;
      let loss: tf.Scalar;
      if (w.mode === 'beta') {
        const beta = betaAt(ctx.step, w.schedule);
        loss = tf.add(reconstruction, tf.mul(beta, klTerm)) as tf.Scalar;
        terms.beta = tf.scalar(beta);
      } else {
        const capacity = capacityAt(ctx.step, w.capacity);
        loss = tf.add(reconstruction, tf.mul(w.gamma, tf.abs(tf.sub(klTerm, capacity)))) as tf.Scalar;
        terms.capacity = tf.scalar(capacity);
      }
      return lossResult(loss, terms, klVectors(parts.klPerDim));
    });
  }

  describe(): string[] {
    const w = this.options.weighting;
    const weighting =
      w.mode === 'beta'
        ? describeSchedule(w.schedule)
        : `capacity: γ = ${w.gamma}, C from 0 to ${w.capacity.max} nats over ${w.capacity.steps} steps`;
    return [...describeKL(this.klAnalytic, this.options.klSamples), weighting, ...describeCorruption(this.options.corruption)];
  }
}

const betaVaeSchema = z.object({
  mode: z.enum(['beta', 'capacity']).default('beta').describe('beta: reconstruction + β·KL; capacity: reconstruction + γ·|KL − C|'),
  beta: z.number().min(0).default(1).describe('β (mode beta); the end value of a linear or cyclical schedule'),
  schedule: z.enum(['constant', 'linear', 'cyclical']).default('constant').describe('how β follows the step (mode beta)'),
  beta_start: z.number().min(0).default(0).describe('β at the start of a linear warm-up or of each cycle'),
  warmup_steps: z.number().int().min(1).default(10000).describe('linear: steps from beta_start to beta'),
  cycle_steps: z.number().int().min(1).default(10000).describe('cyclical: steps per cycle'),
  cycles: z.number().int().min(1).default(4).describe('cyclical: number of cycles, after which β stays at beta'),
  ratio: z.number().gt(0).max(1).default(0.5).describe('cyclical: fraction of each cycle during which β rises'),
  gamma: z.number().min(0).default(1000).describe('capacity: weight γ of |KL − C|'),
  capacity_max: z.number().min(0).default(25).describe('capacity: final C, nats'),
  capacity_steps: z.number().int().min(1).default(100000).describe('capacity: steps over which C rises from 0 to capacity_max'),
  samples: samplesSchema,
  kl_samples: klSamplesSchema,
  corruption: corruptionSchema,
});

/** The weighting described by the flat config options. */
export function weightingFromOptions(o: z.output<typeof betaVaeSchema>): KLWeighting {
  if (o.mode === 'capacity') return { mode: 'capacity', gamma: o.gamma, capacity: { max: o.capacity_max, steps: o.capacity_steps } };
  switch (o.schedule) {
    case 'constant':
      return { mode: 'beta', schedule: { type: 'constant', beta: o.beta } };
    case 'linear':
      return { mode: 'beta', schedule: { type: 'linear', start: o.beta_start, end: o.beta, steps: o.warmup_steps } };
    case 'cyclical':
      return {
        mode: 'beta',
        schedule: { type: 'cyclical', start: o.beta_start, end: o.beta, cycleSteps: o.cycle_steps, cycles: o.cycles, ratio: o.ratio },
      };
  }
}

export const betaVae = defineComponent({
  kind: 'objective',
  name: 'beta_vae',
  description: 'β-VAE: reconstruction + β(step)·KL (constant, linear warm-up or cyclical β), or the capacity form γ·|KL − C(step)|.',
  schema: betaVaeSchema,
  create: (options, ctx) =>
    new BetaVae(
      { samples: options.samples, klSamples: options.kl_samples, weighting: weightingFromOptions(options), corruption: options.corruption },
      { discrete: ctx.discrete },
    ),
});
