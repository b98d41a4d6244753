import { displayPath, type ConfigErrorLocation } from './errors.js';
import { isMapping } from './util.js';

/**
 * Where a value of a composed config came from: a command-line override (as written), or a
 * config file (absolute path) and, where known, the 1-based line of its key.
 */
export type ValueOrigin = { kind: 'override'; text: string } | { kind: 'file'; file: string; line?: number };

/**
 * The origin of the value at a config path (`['trainer', 'batch_size']`; list indices as
 * numbers or strings). For a path below the last recorded value (a list item, a key that is
 * missing) it is the origin of the closest recorded parent; undefined when not even the
 * top-level key was recorded.
 */
export type OriginLookup = (path: readonly (string | number)[]) => ValueOrigin | undefined;

/** `trainer.batch_size=0 (command line)` or `experiments/conf/trainer/default.yaml:3`, for message prefixes. */
export function describeOrigin(origin: ValueOrigin): string {
  if (origin.kind === 'override') return `${origin.text} (command line)`;
  return displayPath(origin.file) + (origin.line === undefined ? '' : `:${origin.line}`);
}

/** The ConfigError location fields for an origin. */
export function originLocation(origin: ValueOrigin | undefined): Pick<ConfigErrorLocation, 'file' | 'line' | 'override'> {
  if (origin === undefined) return {};
  if (origin.kind === 'override') return { override: origin.text };
  return origin.line === undefined ? { file: origin.file } : { file: origin.file, line: origin.line };
}

interface OriginNode {
  origin: ValueOrigin | undefined;
  children: Map<string, OriginNode>;
}

type Source = (sub: readonly string[]) => ValueOrigin;

function newNode(origin: ValueOrigin | undefined): OriginNode {
  return { origin, children: new Map() };
}

function entries(value: unknown): [string, unknown][] {
  if (Array.isArray(value)) return value.map((v, i) => [String(i), v]);
  if (isMapping(value)) return Object.entries(value);
  return [];
}

/**
 * A tree parallel to the config that records, for every key and list item, which file or
 * override gave it. It follows the merge rules: mappings merge key by key, anything else
 * replaces the whole subtree.
 */
export class OriginTree {
  private readonly root = newNode(undefined);

  /** The node at `path`, created (with `origin`) where missing. */
  private nodeAt(path: readonly string[], origin: ValueOrigin | undefined): OriginNode {
    let node = this.root;
    for (const seg of path) {
      let child = node.children.get(seg);
      if (child === undefined) {
        child = newNode(origin);
        node.children.set(seg, child);
      }
      node = child;
    }
    return node;
  }

  /**
   * Record that `value`, from `source`, was merged at `path` onto `before` (the value there
   * before the merge). `source` maps a path inside `value` to its origin.
   */
  merge(path: readonly string[], before: unknown, value: unknown, source: Source): void {
    const node = this.nodeAt(path, undefined);
    this.mergeNode(node, before, value, source, [], path.length === 0);
  }

  private mergeNode(node: OriginNode, before: unknown, value: unknown, source: Source, sub: string[], isRoot: boolean): void {
    if (!isRoot) node.origin = source(sub);
    if (isMapping(before) && isMapping(value)) {
      for (const [k, v] of Object.entries(value)) {
        let child = node.children.get(k);
        if (child === undefined) {
          child = newNode(undefined);
          node.children.set(k, child);
        }
        this.mergeNode(child, Object.prototype.hasOwnProperty.call(before, k) ? before[k] : undefined, v, source, [...sub, k], false);
      }
      return;
    }
    node.children = new Map();
    this.fill(node, value, source, sub);
  }

  private fill(node: OriginNode, value: unknown, source: Source, sub: string[]): void {
    for (const [k, v] of entries(value)) {
      const child = newNode(source([...sub, k]));
      node.children.set(k, child);
      this.fill(child, v, source, [...sub, k]);
    }
  }

  /** `value` now stands at `path` (an override's set or add); parents created on the way get the same origin. */
  replace(path: readonly string[], value: unknown, origin: ValueOrigin): void {
    const node = this.nodeAt(path, origin);
    node.origin = origin;
    node.children = new Map();
    this.fill(node, value, () => origin, []);
  }

  /** The entry at `path` was deleted; in a list, the items after it move up one place. */
  delete(path: readonly string[], inList: boolean): void {
    const last = path[path.length - 1];
    if (last === undefined) return;
    let parent: OriginNode | undefined = this.root;
    for (const seg of path.slice(0, -1)) parent = parent?.children.get(seg);
    if (parent === undefined) return;
    parent.children.delete(last);
    if (!inList) return;
    const index = Number(last);
    const moved = [...parent.children.entries()]
      .map(([k, n]) => [Number(k), n] as const)
      .filter(([i]) => i > index)
      .sort((a, b) => a[0] - b[0]);
    for (const [i, n] of moved) {
      parent.children.delete(String(i));
      parent.children.set(String(i - 1), n);
    }
  }

  /** See {@link OriginLookup}. */
  lookup(path: readonly (string | number)[]): ValueOrigin | undefined {
    let node = this.root;
    let found: ValueOrigin | undefined;
    for (const seg of path) {
      const child = node.children.get(String(seg));
      if (child === undefined) break;
      node = child;
      found = child.origin ?? found;
    }
    return found;
  }
}
