import { describe, expect, it } from 'vitest';
import { betaAt, capacityAt, cyclical, describeSchedule, linearRamp, linearWarmup } from './schedules.js';

describe('schedules', () => {
  it('linear warm-up rises from start to end over `steps`, then holds', () => {
    const s = { start: 0.5, end: 4, steps: 100 };
    expect(linearWarmup(0, s)).toBe(0.5);
    expect(linearWarmup(25, s)).toBeCloseTo(0.5 + 3.5 * 0.25, 12);
    expect(linearWarmup(50, s)).toBeCloseTo(2.25, 12);
    expect(linearWarmup(100, s)).toBe(4);
    expect(linearWarmup(1000, s)).toBe(4);
    expect(linearWarmup(-5, s)).toBe(0.5);
    expect(linearRamp(3, 10, 0, 4)).toBeCloseTo(2.5, 12); // may fall as well as rise
  });

  it('cyclical (Fu et al. 2019) rises over the first `ratio` of each cycle, holds, restarts, and stays at the end after the last cycle', () => {
    const s = { start: 0, end: 1, cycleSteps: 100, cycles: 3, ratio: 0.5 };
    expect(cyclical(0, s)).toBe(0);
    expect(cyclical(25, s)).toBeCloseTo(0.5, 12);
    expect(cyclical(49, s)).toBeCloseTo(0.98, 12);
    expect(cyclical(50, s)).toBe(1);
    expect(cyclical(99, s)).toBe(1);
    expect(cyclical(100, s)).toBe(0); // second cycle starts over
    expect(cyclical(110, s)).toBeCloseTo(0.2, 12);
    expect(cyclical(299, s)).toBe(1);
    expect(cyclical(300, s)).toBe(1); // after 3 cycles: held
    expect(cyclical(310, s)).toBe(1);
    const scaled = { start: 1, end: 5, cycleSteps: 10, cycles: 2, ratio: 1 };
    expect(cyclical(5, scaled)).toBeCloseTo(3, 12);
    expect(cyclical(15, scaled)).toBeCloseTo(3, 12);
  });

  it('capacity C rises from 0 to max over `steps`', () => {
    const s = { max: 25, steps: 1000 };
    expect(capacityAt(0, s)).toBe(0);
    expect(capacityAt(400, s)).toBeCloseTo(10, 12);
    expect(capacityAt(1000, s)).toBe(25);
    expect(capacityAt(5000, s)).toBe(25);
  });

  it('betaAt dispatches on the schedule type and describe says what it does', () => {
    expect(betaAt(123, { type: 'constant', beta: 4 })).toBe(4);
    expect(betaAt(5, { type: 'linear', start: 0, end: 1, steps: 10 })).toBeCloseTo(0.5, 12);
    expect(betaAt(130, { type: 'cyclical', start: 0, end: 2, cycleSteps: 100, cycles: 4, ratio: 0.6 })).toBeCloseTo(1, 12);
    expect(describeSchedule({ type: 'linear', start: 0, end: 1, steps: 10 })).toBe('β: linear warm-up from 0 to 1 over 10 steps');
  });
});
