import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { describeOrigin, originLocation, type OriginLookup, type ValueOrigin } from './origin.js';
import { describeValue, didYouMean, isMapping } from './util.js';

/** Where a validated value comes from, for messages. */
export interface ValidateWhere {
  /** Dotted config path of the value (prefix of every issue path), e.g. `prior`. */
  path?: string | undefined;
  /** File the value was read from (used where `origin` knows nothing). */
  file?: string | undefined;
  /**
   * Where each value came from (`ComposedConfig.origin`), looked up by full config path. Each
   * issue then names the override (`trainer.batch_size=0 (command line): ...`) or the file and
   * line (`conf/trainer/default.yaml:3: trainer.batch_size: ...`) that gave the bad value.
   */
  origin?: OriginLookup | undefined;
}

export interface FormatIssuesOptions {
  /** The schema that was checked; lets unknown-key messages list the allowed keys. */
  schema?: z.ZodType | undefined;
  /** The value that was checked; lets messages say what was found. */
  input?: unknown;
}

type AnyIssue = z.core.$ZodIssue;
type Def = Record<string, unknown> & { type?: string };

function defOf(schema: unknown): Def | undefined {
  const zod = (schema as { _zod?: { def?: Def } } | null | undefined)?._zod;
  return zod?.def;
}

/** Look through wrappers (optional, default, pipe, lazy, ...) to the schema that does the work. */
function unwrap(schema: unknown): unknown {
  let s = schema;
  for (let guard = 0; guard < 32; guard++) {
    const def = defOf(s);
    if (def === undefined) return s;
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'catch':
      case 'readonly':
      case 'nonoptional':
      case 'success':
        s = def.innerType;
        break;
      case 'pipe':
        s = def.in;
        break;
      case 'lazy':
        s = (def.getter as () => unknown)();
        break;
      default:
        return s;
    }
  }
  return s;
}

/** The schema for the value at `path` inside `schema`, when it can be followed. */
function schemaAt(schema: unknown, path: readonly PropertyKey[]): unknown {
  let s = unwrap(schema);
  for (const seg of path) {
    const def = defOf(s);
    if (def === undefined) return undefined;
    if (def.type === 'object') s = (def.shape as Record<string, unknown>)[String(seg)];
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else if (def.type === 'tuple') s = (def.items as unknown[])[Number(seg)];
    else return undefined;
    s = unwrap(s);
  }
  return s;
}

/** The keys an object schema allows, or undefined when `schema` at `path` is not an object. */
function allowedKeys(schema: unknown, path: readonly PropertyKey[]): string[] | undefined {
  const def = defOf(schemaAt(schema, path));
  if (def?.type !== 'object') return undefined;
  return Object.keys(def.shape as Record<string, unknown>);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let node = input;
  for (const seg of path) {
    if (Array.isArray(node) && typeof seg === 'number') node = node[seg];
    else if (isMapping(node) && typeof seg === 'string' && Object.prototype.hasOwnProperty.call(node, seg)) {
      node = node[seg];
    } else return { found: false, value: undefined };
  }
  return { found: true, value: node };
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean (true or false)',
  bigint: 'an integer',
  array: 'a list',
  tuple: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  null: 'null',
  undefined: 'nothing',
  date: 'a date',
  nan: 'NaN',
  never: 'nothing (this key is not allowed)',
};

function typeName(expected: string): string {
  return TYPE_NAMES[expected] ?? expected;
}

function bound(origin: string, lower: boolean, inclusive: boolean, limit: number | bigint, exact?: boolean): string {
  const n = Number(limit);
  if (origin === 'number' || origin === 'int' || origin === 'bigint') {
    const noun = origin === 'number' ? 'number' : 'integer';
    if (n === 0 && !inclusive) return `expected a ${lower ? 'positive' : 'negative'} ${noun}`;
    if (n === 0 && inclusive) return `expected a ${lower ? 'non-negative' : 'non-positive'} ${noun}`;
    const op = lower ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
    return `expected ${noun === 'number' ? 'a number' : 'an integer'} ${op} ${n}`;
  }
  if (origin === 'array' || origin === 'set' || origin === 'string') {
    const unit = origin === 'string' ? 'character' : 'item';
    const count = exact || inclusive ? n : lower ? n + 1 : n - 1;
    const units = count === 1 ? unit : `${unit}s`;
    return `expected ${exact ? 'exactly' : lower ? 'at least' : 'at most'} ${count} ${units}`;
  }
  return `expected ${origin} ${lower ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<'} ${n}`;
}

function got(found: { found: boolean; value: unknown } | undefined): string {
  if (found === undefined) return '';
  return found.found ? `, got ${describeValue(found.value)}` : '';
}

function issueText(issue: AnyIssue, opts: FormatIssuesOptions, base: readonly PropertyKey[]): string {
  const full = [...base, ...issue.path];
  const at = 'input' in opts ? valueAt(opts.input, full) : undefined;
  switch (issue.code) {
    case 'invalid_type': {
      if (at !== undefined && (!at.found || at.value === undefined)) {
        return `required key is missing (expected ${typeName(issue.expected)})`;
      }
      return `expected ${typeName(issue.expected)}${got(at)}`;
    }
    case 'too_small':
      return bound(issue.origin, true, issue.inclusive === true, issue.minimum, issue.exact) + got(at);
    case 'too_big':
      return bound(issue.origin, false, issue.inclusive === true, issue.maximum, issue.exact) + got(at);
    case 'invalid_value': {
      const vals = issue.values.map((v) => (typeof v === 'string' ? v : String(v)));
      return (vals.length === 1 ? `expected ${vals[0]}` : `expected one of: ${vals.join(', ')}`) + got(at);
    }
    case 'unrecognized_keys': {
      const allowed = opts.schema === undefined ? undefined : allowedKeys(opts.schema, issue.path);
      const s = issue.keys.length === 1 ? '' : 's';
      let text = `unknown key${s} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      if (allowed !== undefined) {
        text += `; allowed keys: ${allowed.join(', ')}.`;
        const first = issue.keys[0];
        if (issue.keys.length === 1 && first !== undefined) text += didYouMean(first, allowed);
      }
      return text;
    }
    case 'invalid_union': {
      const alternatives = [
        ...new Set(
          issue.errors.map((branch) =>
            branch.map((sub) => {
              const subPath = sub.path.length === 0 ? '' : `${sub.path.map(String).join('.')}: `;
              return subPath + issueText(sub, { schema: opts.schema }, [...full]).replace(/, got .*$/, '');
            }).join('; '),
          ),
        ),
      ].filter((t) => t !== '');
      const head = `does not match any allowed form${got(at)}`;
      return alternatives.length === 0 ? head : `${head} (${alternatives.join(' | ')})`;
    }
    case 'invalid_format': {
      if (issue.format === 'regex' && issue.pattern !== undefined) return `expected a string matching ${issue.pattern}${got(at)}`;
      return `expected a valid ${issue.format}${got(at)}`;
    }
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}${got(at)}`;
    default:
      return issue.message;
  }
}

interface IssueLine {
  path: string;
  text: string;
  /** Full config path of the value the issue is about (for an unknown key: that key). */
  at: string[];
}

function issueLines(error: z.ZodError, prefix: string, opts: FormatIssuesOptions): IssueLine[] {
  const base = prefix === '' ? [] : prefix.split('.');
  return error.issues.map((issue) => {
    const full = [...base, ...issue.path.map(String)];
    const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    return {
      path: full.join('.'),
      text: issueText(issue, opts, []),
      at: unknown === undefined ? full : [...full, unknown],
    };
  });
}

/** `path: text` with the origin in front (the path left out when the override's key is the path). */
function lineWithOrigin(line: IssueLine, origin: ValueOrigin | undefined): string {
  const at = `${line.path === '' ? '(top level)' : line.path}: ${line.text}`;
  if (origin === undefined) return at;
  if (origin.kind === 'override') {
    const key = origin.text.replace(/^[+~]/, '').split('=')[0];
    return `${describeOrigin(origin)}: ${key === line.path ? line.text : at}`;
  }
  return `${describeOrigin(origin)}: ${at}`;
}

/**
 * One line per zod issue: `<prefix>.<issue path>: <what is wrong and what is allowed>`.
 * Numeric path parts are list indices (`encoder.hidden.0`), matching the override syntax.
 */
export function formatZodIssues(error: z.ZodError, prefix = '', opts: FormatIssuesOptions = {}): string[] {
  return issueLines(error, prefix, opts).map((l) => `${l.path === '' ? '(top level)' : l.path}: ${l.text}`);
}

/**
 * Check `value` against `schema` and return the parsed result. On failure, throws a
 * {@link ConfigError} that lists every issue with its full config path (prefixed by
 * `where.path`) and says where the bad value came from: the override or file and line that
 * `where.origin` gives for it, else `where.file`.
 */
export function validate<T>(schema: z.ZodType<T>, value: unknown, where: ValidateWhere = {}): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const opts = { schema, input: value };
  const prefix = where.path ?? '';
  const lines = issueLines(result.error, prefix, opts);
  const only = lines[0];
  if (lines.length === 1 && only !== undefined) {
    const origin = where.origin?.(only.at);
    const loc = origin === undefined ? { file: where.file } : originLocation(origin);
    throw new ConfigError(only.text, { ...loc, configPath: only.path, cause: result.error });
  }
  if (where.origin !== undefined) {
    const lookup = where.origin;
    const fallback: ValueOrigin | undefined = where.file === undefined ? undefined : { kind: 'file', file: where.file };
    const list = lines.map((l) => lineWithOrigin(l, lookup(l.at) ?? fallback));
    throw new ConfigError(`${list.length} problems:\n${list.map((l) => `  - ${l}`).join('\n')}`, {
      configPath: where.path,
      cause: result.error,
    });
  }
  const list = formatZodIssues(result.error, prefix, opts);
  throw new ConfigError(`${list.length} problems:\n${list.map((l) => `  - ${l}`).join('\n')}`, {
    file: where.file,
    configPath: where.path,
    cause: result.error,
  });
}
