import { z } from 'zod';

/*
 * Learning-rate schedules, per optimizer step. `step` is the number of updates already taken, so
 * learningRate(s, lr, 0) is the rate of the first update. A warm-up of W steps ramps linearly to
 * the base rate (Goyal et al. 2017, "Accurate, large minibatch SGD", §2.2):
 *   lr(s) = base · (w₀ + (1 − w₀)·(s + 1)/W)   for s < W   (w₀ = warmup_start; the first step is not wasted at 0)
 * and the schedule proper then runs on s' = s − W, starting from the base rate:
 *   constant     base
 *   step         base · γ^⌊s' / step_size⌋                              (PyTorch StepLR)
 *   exponential  base · γ^s'                                           (PyTorch ExponentialLR, per step)
 *   cosine       min + (base − min) · ½(1 + cos(π · min(s', T') / T')),  T' = total_steps − W
 *                (Loshchilov & Hutter 2017, SGDR, eq. 5, one cycle, no restart; held at min after T')
 */

const warmup = {
  warmup_steps: z.number().int().min(0).default(0).describe('steps of linear warm-up before the schedule starts; 0 for none'),
  warmup_start: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('fraction of the base rate the warm-up starts from (0: from zero)'),
};

export const lrScheduleSchema = z
  .discriminatedUnion('name', [
    z.object({ name: z.literal('constant'), ...warmup }).strict(),
    z
      .object({
        name: z.literal('step'),
        step_size: z.number().int().min(1).describe('steps between two decays'),
        gamma: z.number().positive().default(0.1).describe('factor applied every step_size steps'),
        ...warmup,
      })
      .strict(),
    z
      .object({
        name: z.literal('exponential'),
        gamma: z.number().positive().describe('factor applied at every step'),
        ...warmup,
      })
      .strict(),
    z
      .object({
        name: z.literal('cosine'),
        total_steps: z
          .number()
          .int()
          .min(1)
          .nullable()
          .default(null)
          .describe('steps over which the rate decays to min_lr (warm-up included); null: all steps of the run'),
        min_lr: z.number().min(0).default(0).describe('rate at the end of the decay (absolute, not a fraction)'),
        ...warmup,
      })
      .strict(),
  ])
  .describe('learning-rate schedule, per step: { name: constant | step | exponential | cosine, ... }');

export type LrSchedule = z.output<typeof lrScheduleSchema>;
export type LrScheduleInput = z.input<typeof lrScheduleSchema>;

/**
 * The learning rate of the update at `step` (0-based: updates already taken). `runSteps`, the
 * number of steps of the whole run, is the cosine schedule's length when `total_steps` is null.
 */
export function learningRate(schedule: LrSchedule, baseLr: number, step: number, runSteps?: number): number {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`learningRate: step must be a non-negative integer, got ${step}`);
  const warm = schedule.warmup_steps;
  if (step < warm) return baseLr * (schedule.warmup_start + ((1 - schedule.warmup_start) * (step + 1)) / warm);
  const s = step - warm;
  switch (schedule.name) {
    case 'constant':
      return baseLr;
    case 'step':
      return baseLr * schedule.gamma ** Math.floor(s / schedule.step_size);
    case 'exponential':
      return baseLr * schedule.gamma ** s;
    case 'cosine': {
      const total = schedule.total_steps ?? runSteps;
      if (total === undefined) {
        throw new RangeError('learningRate: a cosine schedule without total_steps needs the number of steps of the run');
      }
      const span = total - warm;
      if (span <= 0) return schedule.min_lr;
      const progress = Math.min(s, span) / span;
      return schedule.min_lr + (baseLr - schedule.min_lr) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
  }
}
