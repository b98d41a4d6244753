import { ConfigError } from './errors.js';
import { deepClone, describeValue, didYouMean, hasOwn, isMapping, listOrNone, type Mapping } from './util.js';

type Part = { text: string } | { ref: string[]; source: string };

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** Whether a string contains `${…}` or the escape `\${`. */
export function hasInterpolation(s: string): boolean {
  return s.includes('${');
}

/**
 * Split a string into text and `${path}` references. `\${` is a literal `${`.
 * `holder` is the config key the string sits at (for messages).
 */
function parseTemplate(s: string, holder: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('\\${', i)) {
      text += '${';
      i += 3;
      continue;
    }
    if (s.startsWith('${', i)) {
      const end = s.indexOf('}', i + 2);
      const source = end < 0 ? s.slice(i) : s.slice(i, end + 1);
      if (end < 0) {
        throw new ConfigError(`unclosed interpolation ${JSON.stringify(source)}: expected \${path.to.key}`, {
          configPath: holder,
        });
      }
      const inner = s.slice(i + 2, end).trim();
      const ref = inner.split('.');
      if (inner.includes('${') || !ref.every((seg) => SEGMENT.test(seg))) {
        throw new ConfigError(
          `invalid interpolation ${source}: expected \${path.to.key}, a dotted path of names made of letters, ` +
            'digits, "_" and "-" (nested interpolations and resolvers are not supported; write \\${ for a literal ${)',
          { configPath: holder },
        );
      }
      if (text !== '') parts.push({ text });
      text = '';
      parts.push({ ref, source });
      i = end + 1;
      continue;
    }
    text += s[i];
    i++;
  }
  if (text !== '') parts.push({ text });
  return parts;
}

type Container = Mapping | unknown[];

function childKeys(node: Container): string[] {
  return Array.isArray(node) ? node.map((_, i) => String(i)) : Object.keys(node);
}

function hasChild(node: Container, seg: string): boolean {
  if (Array.isArray(node)) return /^(0|[1-9][0-9]*)$/.test(seg) && Number(seg) < node.length;
  return hasOwn(node, seg);
}

function getChild(node: Container, seg: string): unknown {
  return Array.isArray(node) ? node[Number(seg)] : node[seg];
}

function setChild(node: Container, seg: string, value: unknown): void {
  if (Array.isArray(node)) node[Number(seg)] = value;
  else Object.defineProperty(node, seg, { value, writable: true, enumerable: true, configurable: true });
}

function isContainer(v: unknown): v is Container {
  return Array.isArray(v) || isMapping(v);
}

class Resolver {
  private readonly done = new Set<string>();
  private readonly active: string[] = [];

  constructor(private readonly root: Mapping) {}

  /** Resolve the node at `path` (and everything under it) in place and return it. */
  resolveAt(path: readonly string[]): unknown {
    const id = path.join('.');
    if (this.done.has(id)) return this.get(path);
    const at = this.active.indexOf(id);
    if (at >= 0) {
      const cycle = [...this.active.slice(at), id].join(' -> ');
      throw new ConfigError(`interpolation cycle: ${cycle}`, { configPath: this.active[at] });
    }
    this.active.push(id);
    const parent = this.get(path.slice(0, -1)) as Container;
    const key = path[path.length - 1] as string;
    const value = getChild(parent, key);
    if (typeof value === 'string') {
      const resolved = this.resolveString(value, id);
      setChild(parent, key, resolved);
      // A copied value is already resolved: its strings must not be read as templates again.
      this.markDone(id, resolved);
    } else if (isContainer(value)) {
      for (const k of childKeys(value)) this.resolveAt([...path, k]);
    }
    this.active.pop();
    this.done.add(id);
    return getChild(parent, key);
  }

  private markDone(id: string, value: unknown): void {
    this.done.add(id);
    if (isContainer(value)) for (const k of childKeys(value)) this.markDone(`${id}.${k}`, getChild(value, k));
  }

  /** Raw walk, for paths known to exist. */
  private get(path: readonly string[]): unknown {
    let node: unknown = this.root;
    for (const seg of path) node = getChild(node as Container, seg);
    return node;
  }

  private resolveString(s: string, holder: string): unknown {
    if (!hasInterpolation(s)) return s;
    const parts = parseTemplate(s, holder);
    const only = parts[0];
    if (parts.length === 1 && only !== undefined && 'ref' in only) {
      // The whole string is one reference: keep the referenced value's type.
      return deepClone(this.lookup(only.ref, only.source, holder));
    }
    return parts
      .map((p) => {
        if ('text' in p) return p.text;
        const v = this.lookup(p.ref, p.source, holder);
        if (v !== null && typeof v === 'object') {
          throw new ConfigError(
            `${p.source} is ${describeValue(v)} and cannot be embedded in a longer string; ` +
              `only strings, numbers, booleans and null can (or make the whole value "${p.source}" to copy it)`,
            { configPath: holder },
          );
        }
        return String(v);
      })
      .join('');
  }

  private lookup(ref: readonly string[], source: string, holder: string): unknown {
    let node: unknown = this.root;
    for (let i = 0; i < ref.length; i++) {
      const seg = ref[i] as string;
      const upTo = ref.slice(0, i + 1);
      if (!isContainer(node) || !hasChild(node, seg)) {
        const parent = ref.slice(0, i).join('.') || 'the top level';
        const detail = isContainer(node)
          ? `${parent} has no key "${seg}" (keys there: ${listOrNone(childKeys(node))}).` +
            didYouMean(seg, childKeys(node), (k) => [...ref.slice(0, i), k].join('.'))
          : `${parent} is ${describeValue(node)}, not a mapping or list.`;
        throw new ConfigError(`unknown interpolation reference ${source}: ${detail}`, { configPath: holder });
      }
      const child = getChild(node, seg);
      // Strings on the way may themselves be references that lead into a mapping.
      node = i === ref.length - 1 || typeof child === 'string' ? this.resolveAt(upTo) : child;
    }
    return node;
  }
}

/**
 * Resolve `${path.to.key}` references in a copy of `config`. A string that is exactly one
 * reference takes the referenced value with its type; a reference inside a longer string is
 * replaced by the value's text. Targets are resolved first (recursively); a cycle is an error
 * naming it (`a -> b -> a`), and so is a reference to a key that does not exist.
 */
export function resolveInterpolations(config: Record<string, unknown>): Record<string, unknown> {
  const root = deepClone(config);
  const r = new Resolver(root);
  for (const k of Object.keys(root)) r.resolveAt([k]);
  return root;
}
