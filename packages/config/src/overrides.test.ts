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

describe('sweep functions (Hydra extended override syntax)', () => {
  function values(arg: string): unknown[] {
    return expandSweeps([parseOverride(arg, { multirun: true })]).map((job) => job[0]?.value);
  }
  function raws(arg: string, options?: string[]): string[] {
    const groupOptions = options === undefined ? undefined : () => options;
    return expandSweeps([parseOverride(arg, { multirun: true })], groupOptions).map((job) => job[0]?.raw ?? '');
  }

  it('range(start, stop[, step]) stops before stop, as Python does', () => {
    expect(values('seed=range(1,4)')).toEqual([1, 2, 3]);
    expect(raws('seed=range(1,4)')).toEqual(['seed=1', 'seed=2', 'seed=3']);
    expect(values('seed=range(3)')).toEqual([0, 1, 2]);
    expect(values('seed=range(0, 10, 3)')).toEqual([0, 3, 6, 9]);
    expect(values('seed=range(5,0,-2)')).toEqual([5, 3, 1]);
    expect(values('seed=range(start=2, stop=4)')).toEqual([2, 3]);
    expect(values('seed=range(stop=2)')).toEqual([0, 1]);
    expect(parseOverride('seed=range(1,3)', { multirun: true })).toMatchObject({ form: 'range', key: 'seed' });
  });

  it('range takes floats, without accumulated rounding error', () => {
    expect(values('lr=range(0,1,0.25)')).toEqual([0, 0.25, 0.5, 0.75]);
    expect(raws('lr=range(0,1,0.25)')).toEqual(['lr=0', 'lr=0.25', 'lr=0.5', 'lr=0.75']);
    expect(values('lr=range(0, 0.7, 0.1)')).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(values('x=range(0.5, 2)')).toEqual([0.5, 1.5]);
  });

  it('choice(a, b, ...) parses each value as YAML, quoted strings keep commas', () => {
    expect(values("a=choice('a,b', c)")).toEqual(['a,b', 'c']);
    expect(raws("a=choice('a,b', c)")).toEqual(["a='a,b'", 'a=c']);
    expect(values('a=choice(1, 2.5, true, null, [1,2], {x: 1})')).toEqual([1, 2.5, true, null, [1, 2], { x: 1 }]);
    expect(values('a=choice(only)')).toEqual(['only']);
    expect(raws('+a.b=choice(x,y)')).toEqual(['+a.b=x', '+a.b=y']);
  });

  it('a quoted string with commas is one value of a plain sweep', () => {
    expect(values("a='a,b',c")).toEqual(['a,b', 'c']);
    expect(values('a="x,y",z')).toEqual(['x,y', 'z']);
  });

  it('glob(pattern) and glob(..., exclude=...) choose among the group options', () => {
    const options = ['school', 'support', 'warehouse'];
    expect(raws('schema=glob(*)', options)).toEqual(['schema=school', 'schema=support', 'schema=warehouse']);
    expect(raws('schema=glob(*,exclude=support)', options)).toEqual(['schema=school', 'schema=warehouse']);
    expect(raws('schema=glob([s*,w*],exclude=school)', options)).toEqual(['schema=support', 'schema=warehouse']);
    expect(raws('schema=glob(*, exclude=[s*])', options)).toEqual(['schema=warehouse']);
    expect(raws("schema=glob('?upport')", options)).toEqual(['schema=support']);
    expect(raws('+schema=glob(w*)', options)).toEqual(['+schema=warehouse']);
  });

  it('glob needs the options of a group and a match', () => {
    const o = parseOverride('prior=glob(*)', { multirun: true });
    expect(errorOf(() => expandSweeps([o])).message).toContain('listOptions');
    expect(errorOf(() => expandSweeps([o], () => [])).message).toContain('prior is not a config group with options');
    const none = parseOverride('prior=glob(x*)', { multirun: true });
    expect(errorOf(() => expandSweeps([none], () => ['a', 'b'])).message).toBe(
      'invalid override "prior=glob(x*)": the glob matches none of the options of prior (options: a, b)',
    );
  });

  it('keeps the cartesian product order with sweep functions', () => {
    const overrides = parseOverrides(['a=range(1,3)', 'b=x', 'p=glob(*)', 'c=choice(u,v)'], { multirun: true });
    const jobs = expandSweeps(overrides, () => ['m', 'n']);
    expect(jobs.map((j) => j.map((o) => o.raw).join(' '))).toEqual([
      'a=1 b=x p=m c=u',
      'a=1 b=x p=m c=v',
      'a=1 b=x p=n c=u',
      'a=1 b=x p=n c=v',
      'a=2 b=x p=m c=u',
      'a=2 b=x p=m c=v',
      'a=2 b=x p=n c=u',
      'a=2 b=x p=n c=v',
    ]);
  });

  it('without -m a sweep function is an error that says to add -m', () => {
    for (const arg of ['seed=range(1,3)', 'a=choice(1,2)', 'prior=glob(*)']) {
      const err = errorOf(() => parseOverride(arg));
      expect(err.message).toContain(`invalid override ${JSON.stringify(arg)}`);
      expect(err.message).toContain('pass -m');
    }
  });

  it('malformed sweep values are errors naming the override as written', () => {
    const cases: [string, string][] = [
      ['seed=range(1,', 'invalid override "seed=range(1,": range( is not closed'],
      ['seed=range(a,b)', 'invalid override "seed=range(a,b)": range() takes numbers, but start is "a"'],
      ['seed=range(1,3,0)', 'invalid override "seed=range(1,3,0)": the step of range() must not be 0'],
      ['seed=range(3,1)', 'gives no values'],
      ['seed=range()', 'range() needs at least a stop'],
      ['seed=range(1,2,3,4)', 'takes at most 3 arguments'],
      ['seed=range(0,1e9)', 'at most 10000'],
      ['seed=range(1,3)x', 'unexpected "x" after range(1,3)'],
      ['a=choice()', 'invalid override "a=choice()": choice() needs at least one value'],
      ['a=choice(1,,2)', 'empty argument'],
      ['a=foo(1)', 'invalid override "a=foo(1)": unknown function foo()'],
      ['a=1,range(1,3)', 'use choice(...)'],
      ['~a=range(1,3)', 'a delete cannot sweep'],
      ['p=glob()', 'glob() needs a pattern'],
      ['p=glob(*, exclude=[])', 'empty exclude pattern'],
    ];
    for (const [arg, message] of cases) {
      expect(errorOf(() => parseOverride(arg, { multirun: true })).message, arg).toContain(message);
    }
    // Unknown functions are errors with or without -m; quoting passes the text.
    expect(errorOf(() => parseOverride('a=foo(1)')).message).toContain("quote the value ('foo(1)')");
    expect(plain("a='foo(1)'").value).toBe('foo(1)');
  });

  it('commas inside parentheses do not split a plain value', () => {
    expect(splitTopLevel('range(1,3),x')).toEqual(['range(1,3)', 'x']);
    expect(splitTopLevel("glob([a,b], exclude='c,d')")).toEqual(["glob([a,b], exclude='c,d')"]);
  });
});
