import { describe, expect, it } from 'vitest';
import { applyOverrides } from './apply.js';
import { parseOverrides } from './overrides.js';
import { errorOf } from './test-helpers.js';


const base = { trainer: { lr: 0.01, layers: [64, 32] }, seed: 1, name: null };

describe('applyOverrides', () => {
  it('returns a changed copy and leaves the input alone', () => {
    const out = applyOverrides(base, parseOverrides(['trainer.lr=1e-3', 'name=run_a']));
    expect(out).toEqual({ trainer: { lr: 0.001, layers: [64, 32] }, seed: 1, name: 'run_a' });
    expect(base.trainer.lr).toBe(0.01);
  });

  it('a null value can be set (the key exists)', () => {
    expect(applyOverrides(base, parseOverrides(['name=x'])).name).toBe('x');
    expect(applyOverrides(base, parseOverrides(['seed=null'])).seed).toBeNull();
  });

  it('handles list indices', () => {
    expect(applyOverrides(base, parseOverrides(['trainer.layers.1=16'])).trainer).toEqual({ lr: 0.01, layers: [64, 16] });
    expect(applyOverrides(base, parseOverrides(['+trainer.layers.2=8'])).trainer).toEqual({ lr: 0.01, layers: [64, 32, 8] });
    expect(applyOverrides(base, parseOverrides(['~trainer.layers.0'])).trainer).toEqual({ lr: 0.01, layers: [32] });
    const err = errorOf(() => applyOverrides(base, parseOverrides(['trainer.layers.5=1'])));
    expect(err.message).toContain('trainer.layers is a list of 2 items (indices 0, 1)');
    expect(errorOf(() => applyOverrides(base, parseOverrides(['+trainer.layers.7=1']))).message).toContain('only index 2 (append)');
  });

  it('cannot go through a scalar', () => {
    const err = errorOf(() => applyOverrides(base, parseOverrides(['seed.x=1'])));
    expect(err.message).toContain('seed is 1, not a mapping or list, so it has no key "x"');
    expect(errorOf(() => applyOverrides(base, parseOverrides(['+seed.x=1']))).message).toContain('seed is 1');
  });

  it('~key=value deletes only a matching value', () => {
    expect(applyOverrides(base, parseOverrides(['~trainer.layers=[64, 32]'])).trainer).toEqual({ lr: 0.01 });
    expect(errorOf(() => applyOverrides(base, parseOverrides(['~trainer.lr=1']))).message).toContain('its value is 0.01, not 1');
  });
});
