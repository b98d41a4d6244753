import { describe, expect, it } from 'vitest';
import { expandSweeps, isSweep, parseOverride, parseOverrides, splitTopLevel, type PlainOverride } from './overrides.js';
import { errorOf } from './test-helpers.js';

function plain(arg: string): PlainOverride {
  const o = parseOverride(arg);
  if (isSweep(o)) throw new Error(`expected a plain override for ${arg}`);
  return o;
}


describe('parseOverride forms', () => {
  it('parses set, add and delete', () => {
    expect(plain('objective.beta=4')).toMatchObject({ kind: 'set', key: 'objective.beta', path: ['objective', 'beta'], value: 4 });
    expect(plain('+trainer.clip=1.5')).toMatchObject({ kind: 'add', key: 'trainer.clip', value: 1.5, raw: '+trainer.clip=1.5' });
    expect(plain('~prior.components')).toMatchObject({ kind: 'delete', key: 'prior.components', hasValue: false, value: undefined });
    expect(plain('~prior.components=10')).toMatchObject({ kind: 'delete', hasValue: true, value: 10 });
    expect(plain('prior=vamp')).toMatchObject({ kind: 'set', key: 'prior', path: ['prior'], value: 'vamp' });
  });

  it('keeps the raw text', () => {
    expect(plain('a.b= 3').raw).toBe('a.b= 3');
    expect(plain('a.b= 3').value).toBe(3);
    expect(plain('a.b= 3').text).toBe('3');
    expect(plain('a.b=[1, 2]').raw).toBe('a.b=[1, 2]');
  });

  it('parses values as YAML scalars and flow collections', () => {
    expect(plain('a=3').value).toBe(3);
    expect(plain('a=1e-3').value).toBe(0.001);
    expect(plain('a=-2.5').value).toBe(-2.5);
    expect(plain('a=true').value).toBe(true);
    expect(plain('a=false').value).toBe(false);
    expect(plain('a=null').value).toBeNull();
    expect(plain('a=foo').value).toBe('foo');
    expect(plain('a=[1,2]').value).toEqual([1, 2]);
    expect(plain('a={x: 1, y: [a, b]}').value).toEqual({ x: 1, y: ['a', 'b'] });
    expect(plain("a='1,2'").value).toBe('1,2');
    expect(plain('a="3"').value).toBe('3');
    expect(plain('a=http://host:8080/x').value).toBe('http://host:8080/x');
    expect(plain('a=').value).toBe('');
    expect(plain('a=x=y').value).toBe('x=y');
  });

  it('allows list indices in keys', () => {
    expect(plain('encoder.hidden.0=256').path).toEqual(['encoder', 'hidden', '0']);
  });

  it('rejects bad syntax, quoting the argument', () => {
    expect(errorOf(() => parseOverride('=3')).message).toContain('"=3"');
    expect(errorOf(() => parseOverride('=3')).message).toContain('key is empty');
    expect(errorOf(() => parseOverride('a b=3')).message).toMatch(/"a b=3".*whitespace/);
    expect(errorOf(() => parseOverride('a..b=3')).message).toContain('empty part');
    expect(errorOf(() => parseOverride('a.b')).message).toMatch(/"a\.b".*no "="/);
    expect(errorOf(() => parseOverride('+a')).message).toContain('no "="');
    expect(errorOf(() => parseOverride('')).message).toContain('empty');
    expect(errorOf(() => parseOverride('a$=1')).message).toContain('"a$"');
    expect(errorOf(() => parseOverride('a=[1, 2')).message).toMatch(/"a=\[1, 2".*cannot parse/);
    expect(errorOf(() => parseOverride('a=k: v')).message).toContain('flow collection');
  });
});

describe('sweeps', () => {
  it('a top-level comma without multirun is an error that mentions -m', () => {
    const err = errorOf(() => parseOverride('objective.beta=1,4,8'));
    expect(err.message).toContain('objective.beta=1,4,8');
    expect(err.message).toContain('-m');
    expect(err.message).toContain('1, 4, 8');
  });

  it('commas inside brackets or quotes are not sweeps', () => {
    expect(plain('a=[1,2]').value).toEqual([1, 2]);
    expect(plain('a={x: 1, y: 2}').value).toEqual({ x: 1, y: 2 });
    expect(plain('a="x,y"').value).toBe('x,y');
    expect(splitTopLevel("it's,fine")).toEqual(["it's", 'fine']);
    expect(splitTopLevel("'a,b',[1,2],{c: 'd,e'}")).toEqual(["'a,b'", '[1,2]', "{c: 'd,e'}"]);
  });

  it('parses a sweep with multirun', () => {
    const o = parseOverride('objective.beta=1,4,8', { multirun: true });
    expect(isSweep(o)).toBe(true);
    if (!isSweep(o)) return;
    expect(o.sweep.map((v) => v.value)).toEqual([1, 4, 8]);
    expect(o.kind).toBe('set');
    const lists = parseOverride('a=[1,2],[3]', { multirun: true });
    expect(isSweep(lists) && lists.sweep.map((v) => v.value)).toEqual([[1, 2], [3]]);
  });

  it('rejects empty sweep elements and delete sweeps', () => {
    expect(errorOf(() => parseOverride('a=1,,2', { multirun: true })).message).toContain('empty value');
    expect(errorOf(() => parseOverride('~a=1,2', { multirun: true })).message).toContain('delete');
  });

  it('a value without comma is plain even with multirun', () => {
    const o = parseOverride('seed=3', { multirun: true });
    expect(isSweep(o)).toBe(false);
  });

  it('expands the cartesian product, first override slowest', () => {
    const overrides = parseOverrides(['objective.beta=1,4', 'trainer.epochs=10', 'seed=1,2,3'], { multirun: true });
    const jobs = expandSweeps(overrides);
    expect(jobs).toHaveLength(6);
    expect(jobs.map((j) => j.map((o) => o.raw).join(' '))).toEqual([
      'objective.beta=1 trainer.epochs=10 seed=1',
      'objective.beta=1 trainer.epochs=10 seed=2',
      'objective.beta=1 trainer.epochs=10 seed=3',
      'objective.beta=4 trainer.epochs=10 seed=1',
      'objective.beta=4 trainer.epochs=10 seed=2',
      'objective.beta=4 trainer.epochs=10 seed=3',
    ]);
    expect(jobs[4]?.map((o) => o.value)).toEqual([4, 10, 2]);
    expect(jobs.flat().every((o) => !isSweep(o))).toBe(true);
  });

  it('keeps the + of added sweeps and gives one job without sweeps', () => {
    const jobs = expandSweeps(parseOverrides(['+a.b=x,y'], { multirun: true }));
    expect(jobs.map((j) => j[0]?.raw)).toEqual(['+a.b=x', '+a.b=y']);
    expect(jobs[1]?.[0]?.kind).toBe('add');
    expect(expandSweeps([])).toEqual([[]]);
    expect(expandSweeps(parseOverrides(['a=1']))).toHaveLength(1);
  });
});
