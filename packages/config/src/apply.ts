import { ConfigError } from './errors.js';
import { isSweep, type Override, type PlainOverride } from './overrides.js';
import {
  deepClone,
  deepEqual,
  describeValue,
  didYouMean,
  hasOwn,
  isMapping,
  joinPath,
  listOrNone,
  setOwn,
  type Mapping,
} from './util.js';

type Container = Mapping | unknown[];

function isContainer(v: unknown): v is Container {
  return Array.isArray(v) || isMapping(v);
}

function listIndex(seg: string): number | undefined {
  return /^(0|[1-9][0-9]*)$/.test(seg) ? Number(seg) : undefined;
}

function hasChild(node: Container, seg: string): boolean {
  if (Array.isArray(node)) {
    const i = listIndex(seg);
    return i !== undefined && i < node.length;
  }
  return hasOwn(node, seg);
}

function getChild(node: Container, seg: string): unknown {
  return Array.isArray(node) ? node[Number(seg)] : node[seg];
}

function keysOf(node: Container): string[] {
  return Array.isArray(node) ? node.map((_, i) => String(i)) : Object.keys(node);
}

function where(parts: readonly string[]): string {
  return parts.length === 0 ? 'the top level' : parts.join('.');
}

/** The value text of an override, for suggestions such as `+a.b=<value>`. */
function valueText(o: PlainOverride): string {
  return o.text ?? '<value>';
}

function missingKey(o: PlainOverride, node: Container, depth: number, hint: string): never {
  const parent = o.path.slice(0, depth);
  const seg = o.path[depth] as string;
  const keys = keysOf(node);
  const what = Array.isArray(node)
    ? `${where(parent)} is a list of ${node.length} item${node.length === 1 ? '' : 's'} (indices ${listOrNone(keys)})`
    : `${where(parent)} has no key "${seg}" (keys there: ${listOrNone(keys)})`;
  const mean = didYouMean(seg, keys, (k) => joinPath([...parent, k]));
  throw new ConfigError(`unknown override key ${o.key} in ${JSON.stringify(o.raw)}: ${what}.${mean}${hint}`);
}

function notContainer(o: PlainOverride, depth: number, value: unknown): never {
  const parent = o.path.slice(0, depth);
  throw new ConfigError(
    `cannot apply ${JSON.stringify(o.raw)}: ${where(parent)} is ${describeValue(value)}, not a mapping or list, ` +
      `so it has no key "${o.path[depth] as string}"`,
  );
}

/** Walk to the container holding the last key of `o.path`; every step must exist. */
function walkExisting(config: Mapping, o: PlainOverride, hint: string): Container {
  let node: Container = config;
  for (let i = 0; i < o.path.length - 1; i++) {
    const seg = o.path[i] as string;
    if (!hasChild(node, seg)) missingKey(o, node, i, hint);
    const next = getChild(node, seg);
    if (!isContainer(next)) notContainer(o, i + 1, next);
    node = next;
  }
  return node;
}

function setChild(node: Container, seg: string, value: unknown): void {
  if (Array.isArray(node)) node[Number(seg)] = value;
  else setOwn(node, seg, value);
}

function applySet(config: Mapping, o: PlainOverride): void {
  const hint = ` To add a new key, use +${o.key}=${valueText(o)}`;
  const node = walkExisting(config, o, hint);
  const last = o.path[o.path.length - 1] as string;
  if (!hasChild(node, last)) missingKey(o, node, o.path.length - 1, hint);
  setChild(node, last, deepClone(o.value));
}

function applyAdd(config: Mapping, o: PlainOverride): void {
  let node: Container = config;
  for (let i = 0; i < o.path.length - 1; i++) {
    const seg = o.path[i] as string;
    if (!hasChild(node, seg)) {
      if (Array.isArray(node)) missingKey(o, node, i, '');
      setOwn(node, seg, {});
    }
    const next = getChild(node, seg);
    if (!isContainer(next)) notContainer(o, i + 1, next);
    node = next;
  }
  const last = o.path[o.path.length - 1] as string;
  if (hasChild(node, last)) {
    throw new ConfigError(
      `cannot add ${o.key} in ${JSON.stringify(o.raw)}: it already exists (value: ${describeValue(getChild(node, last))}); ` +
        `use ${o.key}=${valueText(o)} to change it`,
    );
  }
  if (Array.isArray(node)) {
    // Adding to a list appends: the index must be the list's length.
    if (listIndex(last) !== node.length) {
      throw new ConfigError(
        `cannot add ${o.key} in ${JSON.stringify(o.raw)}: ${where(o.path.slice(0, -1))} is a list of ${node.length} ` +
          `items; only index ${node.length} (append) can be added`,
      );
    }
    node.push(deepClone(o.value));
    return;
  }
  setOwn(node, last, deepClone(o.value));
}

function applyDelete(config: Mapping, o: PlainOverride): void {
  const node = walkExisting(config, o, '');
  const last = o.path[o.path.length - 1] as string;
  if (!hasChild(node, last)) missingKey(o, node, o.path.length - 1, '');
  const current = getChild(node, last);
  if (o.hasValue && !deepEqual(current, o.value)) {
    throw new ConfigError(
      `cannot delete ${o.key} in ${JSON.stringify(o.raw)}: its value is ${describeValue(current)}, not ` +
        `${describeValue(o.value)}; ~key=value deletes only when the value matches (use ~${o.key} to delete it anyway)`,
    );
  }
  if (Array.isArray(node)) node.splice(Number(last), 1);
  else delete node[last];
}

/** Apply one value override to `config` in place. */
export function applyOverride(config: Record<string, unknown>, o: PlainOverride): void {
  if (o.kind === 'set') applySet(config, o);
  else if (o.kind === 'add') applyAdd(config, o);
  else applyDelete(config, o);
}

/**
 * Apply value overrides in order to a copy of `config` (`a.b=v` needs the key to exist,
 * `+a.b=v` needs it not to, `~a.b` deletes). Sweeps must be expanded first.
 */
export function applyOverrides(config: Record<string, unknown>, overrides: readonly Override[]): Record<string, unknown> {
  const out = deepClone(config);
  for (const o of overrides) {
    if (isSweep(o)) {
      throw new ConfigError(
        `the override ${JSON.stringify(o.raw)} is a sweep; expand sweeps into jobs first (expandSweeps) and compose each job`,
      );
    }
    applyOverride(out, o);
  }
  return out;
}
