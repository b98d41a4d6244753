import { describe, expect, it } from 'vitest';
import { type LrScheduleInput, learningRate, lrScheduleSchema } from './lr-schedules.js';

const lrAt = (input: LrScheduleInput, base: number, step: number, runSteps?: number) =>
  learningRate(lrScheduleSchema.parse(input), base, step, runSteps);

describe('learningRate', () => {
  it('constant: the base rate at every step', () => {
    for (const s of [0, 1, 17, 10_000]) expect(lrAt({ name: 'constant' }, 0.003, s)).toBe(0.003);
  });

  it('step: base · γ^⌊s / step_size⌋', () => {
    const sched = { name: 'step', step_size: 10, gamma: 0.5 } as const;
    expect(lrAt(sched, 1, 0)).toBe(1);
    expect(lrAt(sched, 1, 9)).toBe(1);
    expect(lrAt(sched, 1, 10)).toBe(0.5);
    expect(lrAt(sched, 1, 25)).toBe(0.25);
    expect(lrAt(sched, 0.1, 30)).toBeCloseTo(0.0125, 15);
    expect(lrAt({ name: 'step', step_size: 3 }, 1, 3)).toBeCloseTo(0.1, 15); // gamma defaults to 0.1
  });

  it('exponential: base · γ^s, per step', () => {
    const sched = { name: 'exponential', gamma: 0.99 } as const;
    expect(lrAt(sched, 0.01, 0)).toBe(0.01);
    expect(lrAt(sched, 0.01, 1)).toBeCloseTo(0.0099, 15);
    expect(lrAt(sched, 0.01, 100)).toBeCloseTo(0.01 * Math.exp(100 * Math.log(0.99)), 15);
  });

  it('cosine: min + (base − min)·½(1 + cos(π s / T)), held at min after T; T defaults to the run', () => {
    const sched = { name: 'cosine', total_steps: 100, min_lr: 0.1 } as const;
    expect(lrAt(sched, 1, 0)).toBe(1);
    expect(lrAt(sched, 1, 50)).toBeCloseTo(0.55, 15); // cos(π/2) = 0
    expect(lrAt(sched, 1, 25)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.SQRT1_2), 15);
    expect(lrAt(sched, 1, 100)).toBeCloseTo(0.1, 15);
    expect(lrAt(sched, 1, 150)).toBeCloseTo(0.1, 15);
    // total_steps null: the run's steps; min_lr defaults to 0
    expect(lrAt({ name: 'cosine' }, 2, 20, 40)).toBeCloseTo(1, 15);
    expect(lrAt({ name: 'cosine' }, 2, 40, 40)).toBeCloseTo(0, 15);
    expect(() => lrAt({ name: 'cosine' }, 2, 20)).toThrow(/needs the number of steps of the run/);
  });

  it('warm-up: linear from 0 (or warmup_start · base) to the base rate, then the schedule from its start', () => {
    const warm = { name: 'constant', warmup_steps: 4 } as const;
    expect([0, 1, 2, 3, 4, 5].map((s) => lrAt(warm, 0.8, s))).toEqual([0.2, 0.4, 0.6000000000000001, 0.8, 0.8, 0.8]);
    const fromHalf = { name: 'constant', warmup_steps: 5, warmup_start: 0.5 } as const;
    expect(lrAt(fromHalf, 1, 0)).toBeCloseTo(0.6, 15);
    expect(lrAt(fromHalf, 1, 4)).toBeCloseTo(1, 15);
    // the step schedule counts from the end of the warm-up
    const stepped = { name: 'step', step_size: 10, gamma: 0.5, warmup_steps: 5 } as const;
    expect(lrAt(stepped, 1, 14)).toBe(1);
    expect(lrAt(stepped, 1, 15)).toBe(0.5);
    // cosine: total_steps includes the warm-up, the decay spans the rest
    const cosine = { name: 'cosine', total_steps: 110, warmup_steps: 10 } as const;
    expect(lrAt(cosine, 1, 9)).toBeCloseTo(1, 15);
    expect(lrAt(cosine, 1, 10)).toBe(1);
    expect(lrAt(cosine, 1, 60)).toBeCloseTo(0.5, 15);
    expect(lrAt(cosine, 1, 110)).toBeCloseTo(0, 15);
  });

  it('rejects schedules that cannot work, naming the option', () => {
    expect(lrScheduleSchema.safeParse({ name: 'linear' }).success).toBe(false);
    expect(lrScheduleSchema.safeParse({ name: 'step', gamma: 0.5 }).success).toBe(false); // step_size required
    expect(lrScheduleSchema.safeParse({ name: 'exponential', gamma: 0 }).success).toBe(false);
    expect(lrScheduleSchema.safeParse({ name: 'constant', warmup_start: 1.5 }).success).toBe(false);
    expect(lrScheduleSchema.safeParse({ name: 'cosine', totl_steps: 10 }).success).toBe(false);
    expect(() => learningRate(lrScheduleSchema.parse({ name: 'constant' }), 1, -1)).toThrow(/non-negative integer/);
  });
});
