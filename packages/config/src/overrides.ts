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

/** A set or add over several values (`-m objective.beta=1,4,8`); see {@link expandSweeps}. */
export interface SweepOverride extends OverrideBase {
  kind: 'set' | 'add';
  sweep: SweepValue[];
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
 * Split a value at commas that are outside quotes and brackets. `1,4,8` gives three parts,
 * `[1,2]` and `'1,2'` one.
 */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: '"' | "'" | null = null;
  let start = 0;
  let prevSignificant = ''; // last non-space character outside quotes
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote === "'") {
      if (c === "'") {
        if (text[i + 1] === "'") i++;
        else quote = null;
      }
      continue;
    }
    if (quote === '"') {
      if (c === '\\') i++;
      else if (c === '"') quote = null;
      continue;
    }
    if ((c === '"' || c === "'") && (prevSignificant === '' || ',[{:'.includes(prevSignificant))) {
      quote = c;
      prevSignificant = c;
      continue;
    }
    if (c === '[' || c === '{') depth++;
    else if ((c === ']' || c === '}') && depth > 0) depth--;
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

/**
 * Parse one command-line override. Forms: `a.b=v` (set an existing key, or choose a group
 * option: `prior=vamp`), `+a.b=v` (add a new key or group), `~a.b` / `~a.b=v` (delete).
 * With `multirun`, `a.b=v1,v2` is a sweep; without it, it is an error.
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
      return { value: parseOverrideValue(t, arg), text: t };
    });
    return { kind: kind as 'set' | 'add', key, path, sweep, raw: arg };
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

/**
 * The jobs of a multirun: the cartesian product of the sweeps, with non-sweep overrides in
 * every job. The first sweep varies slowest: `a=1,2 b=x,y` gives
 * `[a=1 b=x] [a=1 b=y] [a=2 b=x] [a=2 b=y]`. Without sweeps there is one job.
 */
export function expandSweeps(overrides: readonly Override[]): PlainOverride[][] {
  let jobs: PlainOverride[][] = [[]];
  for (const o of overrides) {
    if (isSweep(o)) {
      jobs = jobs.flatMap((job) => o.sweep.map((v) => [...job, sweepElement(o, v)]));
    } else {
      jobs = jobs.map((job) => [...job, o]);
    }
  }
  return jobs;
}
