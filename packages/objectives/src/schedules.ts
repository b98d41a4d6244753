/*
 * Weight schedules as pure functions of the global training step (0 for the first step), so that
 * a resumed run sees exactly the values it would have seen without the interruption.
 */

/** From `start` at step 0 to `end` at step `steps`, linearly, then held at `end`. */
export function linearRamp(step: number, start: number, end: number, steps: number): number {
  const t = Math.min(Math.max(step, 0) / steps, 1);
  return start + (end - start) * t;
}

export interface LinearWarmup {
  readonly start: number;
  readonly end: number;
  /** Steps to go from `start` to `end` (≥ 1). */
  readonly steps: number;
}

/** KL annealing (Bowman et al. 2016): the weight rises linearly from `start` to `end`, then stays. */
export function linearWarmup(step: number, s: LinearWarmup): number {
  return linearRamp(step, s.start, s.end, s.steps);
}

export interface Cyclical {
  readonly start: number;
  readonly end: number;
  /** Length of one cycle in steps (≥ 1). */
  readonly cycleSteps: number;
  /** Number of cycles; afterwards the weight stays at `end`. */
  readonly cycles: number;
  /** Fraction of each cycle spent rising, in (0, 1]; the rest of the cycle holds `end`. */
  readonly ratio: number;
}

/**
 * Cyclical annealing (Fu et al. 2019, eq. 4 with a linear f): within each cycle the position is
 * τ = (step mod cycleSteps) / cycleSteps; the weight rises linearly from `start` to `end` while
 * τ < ratio and holds `end` for the rest of the cycle. After `cycles` cycles it stays at `end`.
 */
export function cyclical(step: number, s: Cyclical): number {
  const t = Math.max(step, 0);
  if (t >= s.cycles * s.cycleSteps) return s.end;
  const tau = (t % s.cycleSteps) / s.cycleSteps;
  return s.start + (s.end - s.start) * Math.min(tau / s.ratio, 1);
}

export interface CapacitySchedule {
  /** C at the end of the ramp, nats. */
  readonly max: number;
  /** Steps to go from 0 to `max` (≥ 1). */
  readonly steps: number;
}

/** The KL target C of capacity-controlled β-VAE (Burgess et al. 2018, §4): 0 → max linearly, then held. */
export function capacityAt(step: number, s: CapacitySchedule): number {
  return linearRamp(step, 0, s.max, s.steps);
}

export type BetaSchedule =
  | { readonly type: 'constant'; readonly beta: number }
  | ({ readonly type: 'linear' } & LinearWarmup)
  | ({ readonly type: 'cyclical' } & Cyclical);

/** β at a step under any of the schedules. */
export function betaAt(step: number, s: BetaSchedule): number {
  switch (s.type) {
    case 'constant':
      return s.beta;
    case 'linear':
      return linearWarmup(step, s);
    case 'cyclical':
      return cyclical(step, s);
  }
}

/** One line saying what a schedule does, for `describe()`. */
export function describeSchedule(s: BetaSchedule): string {
  switch (s.type) {
    case 'constant':
      return `β = ${s.beta} (constant)`;
    case 'linear':
      return `β: linear warm-up from ${s.start} to ${s.end} over ${s.steps} steps`;
    case 'cyclical':
      return `β: ${s.cycles} cycle(s) of ${s.cycleSteps} steps, rising from ${s.start} to ${s.end} over the first ${s.ratio} of each`;
  }
}
