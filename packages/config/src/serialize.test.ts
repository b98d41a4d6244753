import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { canonicalJson, configHash, toYaml } from './serialize.js';

describe('toYaml', () => {
  it('keeps key order and does not fold long lines', () => {
    const long = 'word '.repeat(40).trim();
    const text = toYaml({ zeta: 1, alpha: { b: [1, 2], a: null }, note: long });
    expect(text.indexOf('zeta')).toBeLessThan(text.indexOf('alpha'));
    expect(text.indexOf('b:')).toBeLessThan(text.indexOf('a: null'));
    expect(text).toContain(`note: ${long}\n`);
    expect(parse(text)).toEqual({ zeta: 1, alpha: { b: [1, 2], a: null }, note: long });
  });

  it('writes shared objects in full, without anchors', () => {
    const shared = { x: 1 };
    const text = toYaml({ a: shared, b: shared });
    expect(text).not.toMatch(/[&*]a/);
    expect(parse(text)).toEqual({ a: { x: 1 }, b: { x: 1 } });
  });
});

describe('configHash', () => {
  it('is stable under key reordering at every depth', () => {
    const a = { prior: { kind: 'vamp', components: 10 }, seed: 1, list: [{ y: 2, x: 1 }] };
    const b = { list: [{ x: 1, y: 2 }], seed: 1, prior: { components: 10, kind: 'vamp' } };
    expect(configHash(a)).toBe(configHash(b));
    expect(configHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(canonicalJson(b)).toBe('{"list":[{"x":1,"y":2}],"prior":{"components":10,"kind":"vamp"},"seed":1}');
  });

  it('changes when a value, a list order or a type changes', () => {
    const base = configHash({ a: 1, l: [1, 2] });
    expect(configHash({ a: 2, l: [1, 2] })).not.toBe(base);
    expect(configHash({ a: 1, l: [2, 1] })).not.toBe(base);
    expect(configHash({ a: '1', l: [1, 2] })).not.toBe(base);
  });

  it('is the sha256 of the canonical JSON', () => {
    // sha256('{}')
    expect(configHash({})).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });
});
