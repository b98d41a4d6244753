import { isCollection, parseDocument } from 'yaml';
import { ConfigError } from './errors.js';

/** `set`: `a.b=v` (or `group=option`), `add`: `+a.b=v`, `delete`: `~a.b` / `~a.b=v`. */
export type OverrideKind = 'set' | 'add' | 'delete';

interface OverrideBase {
  kind: OverrideKind;
  /** Dotted key as written, e.g. `objective.beta`. */
  key: string;
  /** `key` split on dots. */
  path: string[];
  /** The argument exactly as given on the command line. */
  raw: string;
}

/** One change to the config. */
export interface PlainOverride extends OverrideBase {
  /** The value parsed as YAML (`undefined` for a delete without value). */
  value: unknown;
  /** Whether the argument had `=value` (always true for set and add). */
  hasValue: boolean;
  /** The value text as written (trimmed), or null when there was none. */
  text: string | null;
  sweep?: undefined;
}

/** One element of a sweep: its parsed value and its text. */
export interface SweepValue {
  value: unknown;
  text: string;
}

/**
 * How a sweep was written: `list` (`a=1,4,8`), `choice` (`a=choice(1, 4, 8)`), `range`
 * (`a=range(1, 10, 2)`) or `glob` (`group=glob(*, exclude=[a, b])`).
 */
export type SweepForm = 'list' | 'choice' | 'range' | 'glob';

/** The patterns of a `glob(include, exclude=...)` sweep over a config group's options. */
export interface GlobSweep {
  include: string[];
  exclude: string[];
}

/** A set or add over several values (`-m objective.beta=1,4,8`); see {@link expandSweeps}. */
export interface SweepOverride extends OverrideBase {
  kind: 'set' | 'add';
  /** How the sweep was written. */
  form: SweepForm;
  /** The values, in order. Empty for a glob until {@link expandSweeps} matches it against the group's options. */
  sweep: SweepValue[];
  /** The patterns of a `glob(...)` sweep. */
  glob?: GlobSweep | undefined;
}

export type Override = PlainOverride | SweepOverride;

export interface ParseOverrideOptions {
  /** Allow `key=v1,v2,...` sweeps (the CLI's `-m`). Without it a top-level comma is an error. */
  multirun?: boolean;
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

const FORMS =
  'expected key=value, +key=value (add), ~key or ~key=value (delete), or group=option; ' +
  'a key is a dotted path of names made of letters, digits, "_" and "-", e.g. prior.components=10';

export function isSweep(o: Override): o is SweepOverride {
  return o.sweep !== undefined;
}

function fail(arg: string, why: string): never {
  throw new ConfigError(`invalid override ${JSON.stringify(arg)}: ${why}`);
}

function parseKey(arg: string, key: string): string[] {
  if (key === '') fail(arg, `the key is empty; ${FORMS}`);
  if (/\s/.test(key)) fail(arg, `the key ${JSON.stringify(key)} contains whitespace; ${FORMS}`);
  const path = key.split('.');
  for (const seg of path) {
    if (seg === '') fail(arg, `the key ${JSON.stringify(key)} has an empty part (a leading, trailing or double dot)`);
    if (!SEGMENT.test(seg)) fail(arg, `the key part ${JSON.stringify(seg)} is not allowed; ${FORMS}`);
  }
  return path;
}

/**
 * Index of the quote that closes a quoted string whose content starts at `from` (YAML rules: `''`
 * inside single quotes, a backslash escape inside double quotes), or `text.length` when none does.
 */
function closingQuote(text: string, from: number, quote: '"' | "'"): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") {
        if (text[i + 1] === "'") i++;
        else return i;
      }
    } else if (c === '\\') i++;
    else if (c === '"') return i;
  }
  return text.length;
}

/**
 * Split a value at commas that are outside quotes, brackets and parentheses. `1,4,8` gives
 * three parts, `[1,2]`, `'1,2'` and `range(1,2)` one.
 */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let prevSignificant = ''; // last non-space character outside quotes
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if ((c === '"' || c === "'") && (prevSignificant === '' || ',[{(:='.includes(prevSignificant))) {
      i = closingQuote(text, i + 1, c);
      prevSignificant = c;
      continue;
    }
    if (c === '[' || c === '{' || c === '(') depth++;
    else if ((c === ']' || c === '}' || c === ')') && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
      prevSignificant = '';
      continue;
    }
    if (!/\s/.test(c)) prevSignificant = c;
  }
  parts.push(text.slice(start));
  return parts;
}

/** Parse one value as a YAML scalar or flow collection (`3`, `1e-3`, `true`, `null`, `[1, 2]`, `{a: 1}`). */
export function parseOverrideValue(text: string, arg: string = text): unknown {
  const t = text.trim();
  if (t === '') return '';
  const doc = parseDocument(t, { prettyErrors: false });
  const err = doc.errors[0];
  if (err !== undefined) {
    fail(arg, `cannot parse the value ${JSON.stringify(t)} as YAML (${err.message.split('\n')[0]}); quote it to pass a string`);
  }
  if (isCollection(doc.contents) && !doc.contents.flow) {
    fail(
      arg,
      `the value ${JSON.stringify(t)} must be a YAML scalar or a flow collection ([a, b] or {k: v}); quote it to pass a string`,
    );
  }
  return doc.toJS();
}

/** `name(` at the start of a value: a function call in Hydra's extended override syntax. */
const CALL = /^([A-Za-z_][A-Za-z0-9_]*)\(/;

const SWEEP_FUNCTIONS = ['choice', 'range', 'glob'] as const;
type SweepFunction = (typeof SWEEP_FUNCTIONS)[number];

const SIGNATURES: Record<SweepFunction, string> = {
  choice: 'choice(a, b, ...)',
  range: 'range(stop), range(start, stop) or range(start, stop, step)',
  glob: 'glob(pattern), glob([p1, p2]) or glob(pattern, exclude=[p1, p2])',
};

/** The most values one `range(...)` may give; more is almost surely a typo in the step. */
const MAX_RANGE_VALUES = 10_000;

function isSweepFunction(name: string): name is SweepFunction {
  return (SWEEP_FUNCTIONS as readonly string[]).includes(name);
}

/** Index of the `)` that closes the `(` at `open`, skipping quotes and nested brackets; -1 if none. */
function closingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"' || c === "'") i = closingQuote(text, i + 1, c);
    else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return c === ')' ? i : -1;
    }
  }
  return -1;
}

interface CallArgument {
  /** Parameter name for `name=value`, else undefined. */
  name: string | undefined;
  text: string;
}

/** A function call's arguments: positional ones first, then `name=value` for the names in `params`. */
function callArguments(arg: string, fn: SweepFunction, inner: string, params: readonly string[]): CallArgument[] {
  if (inner.trim() === '') return [];
  const out: CallArgument[] = [];
  for (const part of splitTopLevel(inner)) {
    const text = part.trim();
    if (text === '') fail(arg, `${fn}() has an empty argument (two commas in a row, or a leading or trailing comma); expected ${SIGNATURES[fn]}`);
    const named = /^([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/s.exec(text);
    const name = named?.[1];
    if (named !== null && name !== undefined && params.includes(name)) {
      if (out.some((a) => a.name === name)) fail(arg, `${fn}() is given ${name} twice`);
      out.push({ name, text: (named[2] ?? '').trim() });
      continue;
    }
    if (out.some((a) => a.name !== undefined)) {
      fail(arg, `${fn}() has a positional argument (${text}) after a named one; put positional arguments first`);
    }
    out.push({ name: undefined, text });
  }
  return out;
}

/** Bind arguments to parameter names as Python does: positional in order, then named. */
function bindArguments(arg: string, fn: SweepFunction, args: CallArgument[], params: readonly string[]): Map<string, string> {
  const bound = new Map<string, string>();
  const positional = args.filter((a) => a.name === undefined);
  if (positional.length > params.length) {
    fail(arg, `${fn}() takes at most ${params.length} arguments, got ${positional.length}; expected ${SIGNATURES[fn]}`);
  }
  positional.forEach((a, i) => bound.set(params[i] as string, a.text));
  for (const a of args) {
    if (a.name === undefined) continue;
    if (bound.has(a.name)) fail(arg, `${fn}() is given ${a.name} twice (by position and by name)`);
    bound.set(a.name, a.text);
  }
  return bound;
}

function rangeNumber(arg: string, name: string, text: string): number {
  const value = parseOverrideValue(text, arg);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    fail(arg, `range() takes numbers, but ${name} is ${JSON.stringify(text)}; expected ${SIGNATURES.range}`);
  }
  return value;
}

/**
 * Hydra's `range`: like Python's (stop exclusive), also for floats. Values are computed as
 * `start + i * step` (not by adding the step again and again, which drifts) and rounded to 12
 * significant digits, so `range(0, 1, 0.1)` gives 0.3 rather than 0.30000000000000004.
 */
function rangeValues(arg: string, args: CallArgument[]): SweepValue[] {
  if (args.length === 0) fail(arg, `range() needs at least a stop; expected ${SIGNATURES.range}`);
  // One positional argument is the stop, as in Python.
  const params = args.length === 1 && args[0]?.name === undefined ? ['stop'] : ['start', 'stop', 'step'];
  const bound = bindArguments(arg, 'range', args, params);
  const stopText = bound.get('stop');
  if (stopText === undefined) fail(arg, `range() needs a stop; expected ${SIGNATURES.range}`);
  const start = rangeNumber(arg, 'start', bound.get('start') ?? '0');
  const stop = rangeNumber(arg, 'stop', stopText);
  const step = rangeNumber(arg, 'step', bound.get('step') ?? '1');
  if (step === 0) fail(arg, 'the step of range() must not be 0');
  const count = Math.ceil((stop - start) / step);
  if (!(count > 0)) {
    fail(
      arg,
      `range(${start}, ${stop}, ${step}) gives no values (the stop is exclusive` +
        `${step > 0 ? '; to count down, use a negative step' : ''})`,
    );
  }
  if (count > MAX_RANGE_VALUES) {
    fail(arg, `range(${start}, ${stop}, ${step}) gives ${count} values; at most ${MAX_RANGE_VALUES} are allowed in one sweep`);
  }
  const integers = Number.isInteger(start) && Number.isInteger(step);
  const out: SweepValue[] = [];
  for (let i = 0; i < count; i++) {
    const exact = start + i * step;
    const value = integers ? exact : Number(exact.toPrecision(12));
    // Rounding may land on the stop, which is excluded.
    if (step > 0 ? value >= stop : value <= stop) break;
    out.push({ value, text: String(value) });
  }
  return out;
}

function choiceValues(arg: string, args: CallArgument[]): SweepValue[] {
  if (args.length === 0) fail(arg, `choice() needs at least one value; expected ${SIGNATURES.choice}`);
  return args.map((a): SweepValue => {
    // `choice` has only positional parameters, so `x=y` is a value.
    const text = a.name === undefined ? a.text : `${a.name}=${a.text}`;
    if (CALL.test(text)) fail(arg, `choice() takes values, not function calls (${text}); quote it to pass a string`);
    return { value: parseOverrideValue(text, arg), text };
  });
}

function unquote(arg: string, text: string): string {
  const t = text.trim();
  if (t.length >= 2 && (t[0] === "'" || t[0] === '"') && t[t.length - 1] === t[0]) {
    const value = parseOverrideValue(t, arg);
    if (typeof value === 'string') return value;
  }
  return t;
}

/** Glob patterns: one pattern, or a list `[p1, p2]`. Patterns are not YAML (`*` would be an alias). */
function globPatterns(arg: string, what: string, text: string): string[] {
  const t = text.trim();
  const parts = t.startsWith('[') && t.endsWith(']') ? splitTopLevel(t.slice(1, -1)) : [t];
  const patterns = parts.map((p) => unquote(arg, p));
  if (patterns.length === 0 || patterns.some((p) => p === '')) {
    fail(arg, `glob() has an empty ${what} pattern; expected ${SIGNATURES.glob}`);
  }
  return patterns;
}

function globSpec(arg: string, args: CallArgument[]): GlobSweep {
  const bound = bindArguments(arg, 'glob', args, ['include', 'exclude']);
  const include = bound.get('include');
  if (include === undefined) fail(arg, `glob() needs a pattern; expected ${SIGNATURES.glob}`);
  const exclude = bound.get('exclude');
  return { include: globPatterns(arg, 'include', include), exclude: exclude === undefined ? [] : globPatterns(arg, 'exclude', exclude) };
}

/** A value `name(...)`: one of the sweep functions, checked and evaluated (globs wait for expandSweeps). */
function parseSweepCall(
  arg: string,
  kind: OverrideKind,
  key: string,
  path: string[],
  valueText: string,
  opts: ParseOverrideOptions,
): SweepOverride {
  const text = valueText.trim();
  const name = CALL.exec(text)?.[1] as string;
  if (!isSweepFunction(name)) {
    fail(
      arg,
      `unknown function ${name}(); the sweep functions are ${SWEEP_FUNCTIONS.map((f) => `${f}()`).join(', ')} ` +
        `(with -m); quote the value ('${text}') to pass a string`,
    );
  }
  const open = name.length;
  const close = closingParen(text, open);
  if (close < 0) fail(arg, `${name}( is not closed; expected ${SIGNATURES[name]}`);
  const after = text.slice(close + 1).trim();
  if (after !== '') {
    fail(arg, `unexpected ${JSON.stringify(after)} after ${text.slice(0, close + 1)}; a sweep function is the whole value`);
  }
  if (!opts.multirun) {
    fail(arg, `${name}(...) is a sweep; pass -m (multirun) to run one job per value`);
  }
  if (kind === 'delete') fail(arg, 'a delete cannot sweep over several values');
  const inner = text.slice(open + 1, close);
  const base = { kind: kind as 'set' | 'add', key, path, raw: arg };
  if (name === 'glob') {
    const glob = globSpec(arg, callArguments(arg, name, inner, ['include', 'exclude']));
    return { ...base, form: 'glob', sweep: [], glob };
  }
  if (name === 'range') {
    return { ...base, form: 'range', sweep: rangeValues(arg, callArguments(arg, name, inner, ['start', 'stop', 'step'])) };
  }
  return { ...base, form: 'choice', sweep: choiceValues(arg, callArguments(arg, name, inner, [])) };
}

/**
 * Parse one command-line override. Forms: `a.b=v` (set an existing key, or choose a group
 * option: `prior=vamp`), `+a.b=v` (add a new key or group), `~a.b` / `~a.b=v` (delete).
 * With `multirun`, these values are sweeps (Hydra's extended override syntax): `a.b=v1,v2`,
 * `a.b=choice(v1, v2)`, `a.b=range(start, stop[, step])` and `group=glob(pattern, exclude=...)`;
 * without it, they are errors that say to pass -m. Any other `name(...)` value is an error
 * (quote it to pass a string).
 */
export function parseOverride(arg: string, opts: ParseOverrideOptions = {}): Override {
  if (arg.trim() === '') fail(arg, `it is empty; ${FORMS}`);
  let kind: OverrideKind = 'set';
  let body = arg;
  if (arg.startsWith('+')) {
    kind = 'add';
    body = arg.slice(1);
  } else if (arg.startsWith('~')) {
    kind = 'delete';
    body = arg.slice(1);
  }
  const eq = body.indexOf('=');
  if (eq < 0) {
    if (kind !== 'delete') fail(arg, `there is no "="; ${FORMS}`);
    const path = parseKey(arg, body);
    return { kind, key: body, path, value: undefined, hasValue: false, text: null, raw: arg };
  }
  const key = body.slice(0, eq);
  const path = parseKey(arg, key);
  const valueText = body.slice(eq + 1);
  if (CALL.test(valueText.trim())) return parseSweepCall(arg, kind, key, path, valueText, opts);
  const parts = splitTopLevel(valueText);
  if (parts.length > 1) {
    const shown = parts.map((p) => p.trim()).join(', ');
    if (!opts.multirun) {
      fail(
        arg,
        `a comma-separated value is a sweep over ${shown}; pass -m (multirun) to run one job per value, ` +
          `or quote the value ('${valueText.trim()}') to pass one string`,
      );
    }
    if (kind === 'delete') fail(arg, 'a delete cannot sweep over several values');
    const sweep = parts.map((p): SweepValue => {
      const t = p.trim();
      if (t === '') fail(arg, 'the sweep has an empty value (two commas in a row, or a leading or trailing comma)');
      if (CALL.test(t)) fail(arg, `${t} cannot be one value of a comma-separated sweep; use choice(...) to list values`);
      return { value: parseOverrideValue(t, arg), text: t };
    });
    return { kind: kind as 'set' | 'add', form: 'list', key, path, sweep, raw: arg };
  }
  const text = valueText.trim();
  return { kind, key, path, value: parseOverrideValue(text, arg), hasValue: true, text, raw: arg };
}

/** Parse a list of command-line overrides, keeping their order. */
export function parseOverrides(args: readonly string[], opts: ParseOverrideOptions = {}): Override[] {
  return args.map((a) => parseOverride(a, opts));
}

/** The override that a sweep gives for one of its values; its `raw` is `key=value` for that value. */
function sweepElement(o: SweepOverride, v: SweepValue): PlainOverride {
  const prefix = o.kind === 'add' ? '+' : '';
  return {
    kind: o.kind,
    key: o.key,
    path: [...o.path],
    value: v.value,
    hasValue: true,
    text: v.text,
    raw: `${prefix}${o.key}=${v.text}`,
  };
}

/** A shell-style glob (`*`, `?`, `[abc]`, `[!abc]`) as an anchored regular expression. */
function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let set = pattern.slice(i + 1, end);
      const negate = set.startsWith('!');
      if (negate) set = set.slice(1);
      re += `[${negate ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** The options of the group that a glob sweep selects, in the order the resolver gives them. */
function globValues(o: SweepOverride, glob: GlobSweep, groupOptions: ((group: string) => readonly string[]) | undefined): SweepValue[] {
  if (groupOptions === undefined) {
    fail(
      o.raw,
      `glob() selects options of the config group ${o.key}, so expanding it needs the group's options; ` +
        'pass expandSweeps a resolver, e.g. (group) => listOptions(configDir, group)',
    );
  }
  const options = o.path.length === 1 ? groupOptions(o.key) : [];
  if (options.length === 0) {
    fail(o.raw, `glob() selects options of a config group, and ${o.key} is not a config group with options`);
  }
  const include = glob.include.map(globToRegExp);
  const exclude = glob.exclude.map(globToRegExp);
  const chosen = options.filter((name) => include.some((r) => r.test(name)) && !exclude.some((r) => r.test(name)));
  if (chosen.length === 0) {
    fail(o.raw, `the glob matches none of the options of ${o.key} (options: ${options.join(', ')})`);
  }
  // The option name is the value as is: a file called `1.yaml` is the option "1", not the number.
  return chosen.map((name) => ({ value: name, text: name }));
}

/**
 * The jobs of a multirun: the cartesian product of the sweeps, with non-sweep overrides in
 * every job. The first sweep varies slowest: `a=1,2 b=x,y` gives
 * `[a=1 b=x] [a=1 b=y] [a=2 b=x] [a=2 b=y]`. Without sweeps there is one job.
 *
 * `groupOptions` lists the options of a config group; it is needed only to expand
 * `group=glob(...)` sweeps (pass `(group) => listOptions(configDir, group)`).
 */
export function expandSweeps(
  overrides: readonly Override[],
  groupOptions?: (group: string) => readonly string[],
): PlainOverride[][] {
  let jobs: PlainOverride[][] = [[]];
  for (const o of overrides) {
    if (isSweep(o)) {
      const values = o.glob === undefined ? o.sweep : globValues(o, o.glob, groupOptions);
      jobs = jobs.flatMap((job) => values.map((v) => [...job, sweepElement(o, v)]));
    } else {
      jobs = jobs.map((job) => [...job, o]);
    }
  }
  return jobs;
}
