import { describe, expect, it } from 'vitest';
import { EarlyStopping, earlyStoppingSchema } from './early-stopping.js';

/** The epoch (1-based) at which the rule stops on `values`, or null when it never does. */
function stopEpoch(options: Parameters<typeof earlyStoppingSchema.parse>[0], values: number[]): number | null {
  const rule = new EarlyStopping(earlyStoppingSchema.parse(options));
  for (const [i, v] of values.entries()) if (rule.update(v, i + 1, 10 * (i + 1)).stop) return i + 1;
  return null;
}

describe('EarlyStopping', () => {
  it('stops after `patience` epochs without improvement (min mode by default)', () => {
    expect(stopEpoch({ patience: 2 }, [5, 4, 3, 3.5, 3.2, 2])).toBe(5);
    expect(stopEpoch({ patience: 3 }, [5, 4, 3, 3.5, 3.2, 2, 2.5])).toBeNull();
    expect(stopEpoch({ patience: 1 }, [5, 5])).toBe(2); // equal is not better
  });

  it('min_delta: smaller changes do not count as improvements', () => {
    expect(stopEpoch({ patience: 2, min_delta: 0.1 }, [5, 4.95, 4.91, 3])).toBe(3);
    expect(stopEpoch({ patience: 2, min_delta: 0.01 }, [5, 4.95, 4.91, 3])).toBeNull();
  });

  it('max mode, a non-finite value never improves', () => {
    expect(stopEpoch({ patience: 2, mode: 'max', metric: 'validation.accuracy' }, [0.5, 0.6, 0.55, 0.61, 0.6, 0.6])).toBe(6);
    expect(stopEpoch({ patience: 2 }, [Number.NaN, Number.NaN])).toBe(2);
  });

  it('keeps the best value and its epoch, says why it stopped, and resumes from its state', () => {
    const options = earlyStoppingSchema.parse({ patience: 2 });
    const rule = new EarlyStopping(options);
    expect(rule.update(3, 1, 7)).toEqual({ improved: true, stop: false });
    expect(rule.update(2, 2, 14)).toEqual({ improved: true, stop: false });
    expect(rule.update(2.5, 3, 21)).toEqual({ improved: false, stop: false });
    const resumed = new EarlyStopping(options, rule.state);
    expect(resumed.update(2.1, 4, 28)).toEqual({ improved: false, stop: true });
    expect(resumed.state.best).toEqual({ metric: 'validation.loss', mode: 'min', value: 2, epoch: 2, step: 14 });
    expect(resumed.state.stopped).toBe('validation.loss did not improve on 2 (epoch 2) by more than 0 for 2 epochs');
    expect(rule.stopped).toBe(false); // the state is a copy
  });

  it('validates its options', () => {
    expect(earlyStoppingSchema.parse({ patience: 3 })).toEqual({ metric: 'validation.loss', patience: 3, min_delta: 0, mode: 'min' });
    for (const bad of [{}, { patience: 0 }, { patience: 1.5 }, { patience: 2, min_delta: -1 }, { patience: 2, metric: 'test.loss' }, { patience: 2, metric: 'loss' }]) {
      expect(earlyStoppingSchema.safeParse(bad).success).toBe(false);
    }
    expect(earlyStoppingSchema.safeParse({ patience: 2, metric: 'validation.kl' }).success).toBe(true);
  });
});
