import { version as CORE_VERSION_FROM_PACKAGE } from '../package.json';

/*
 * Class identity that survives duplicate installs.
 *
 * npm may nest a second copy of a package (two versions wanted by two dependants, or a link), and
 * then two classes named Normal exist: `instanceof` and a Map keyed by class objects tell them
 * apart. VAE Lab's classes therefore carry a stable string key as an own static property
 * (`static readonly distributionKey = '@vaelab/core/Normal'`, `static readonly errorKey = ...`),
 * and identity is decided by those keys up the prototype chain. A class without an own key (a
 * user's subclass) is identified by the class object itself, as before.
 */

/** The version of this copy of @vaelab/core (from its package.json, inlined at build time). */
export const CORE_VERSION: string = CORE_VERSION_FROM_PACKAGE;

/** The own static key `prop` of a class, or undefined (inherited keys do not count). */
export function ownKey(cls: unknown, prop: string): string | undefined {
  if (cls === null || (typeof cls !== 'function' && typeof cls !== 'object')) return undefined;
  if (!Object.prototype.hasOwnProperty.call(cls, prop)) return undefined;
  const key = (cls as Record<string, unknown>)[prop];
  return typeof key === 'string' ? key : undefined;
}

/**
 * The identity of each class on x's prototype chain, nearest first: its own static key `prop` when
 * it has one, else the constructor itself.
 */
export function classIdentities(x: unknown, prop: string): Array<string | object> {
  const out: Array<string | object> = [];
  if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return out;
  for (let proto = Object.getPrototypeOf(x) as object | null; proto; proto = Object.getPrototypeOf(proto) as object | null) {
    const ctor = Object.prototype.hasOwnProperty.call(proto, 'constructor') ? (proto as { constructor: unknown }).constructor : undefined;
    if (typeof ctor !== 'function') continue;
    out.push(ownKey(ctor, prop) ?? ctor);
  }
  return out;
}

/** The identity of a class as a registry key: its own static key `prop`, else the class object. */
export function classIdentity(cls: object, prop: string): string | object {
  return ownKey(cls, prop) ?? cls;
}

/**
 * `x instanceof cls`, also when x was made by another copy of the package that defines cls: true
 * when the ordinary check passes, or when cls has an own static key `prop` and a class on x's
 * prototype chain has the same key.
 */
export function isBrandedInstance(x: unknown, cls: object, prop: string): boolean {
  if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return false;
  if (typeof cls === 'function' && Function.prototype[Symbol.hasInstance].call(cls, x)) return true;
  const key = ownKey(cls, prop);
  return key !== undefined && classIdentities(x, prop).includes(key);
}

/** The property holding a distribution class's stable key. */
export const DISTRIBUTION_KEY = 'distributionKey';

/**
 * `x instanceof cls` for distribution classes, across duplicate copies of the package that defines
 * cls (see the file comment). Distribution classes also route `instanceof` here through a static
 * `Symbol.hasInstance`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function isDistributionInstance<T>(x: unknown, cls: abstract new (...args: any[]) => T): x is T {
  return isBrandedInstance(x, cls, DISTRIBUTION_KEY);
}

/* One record per loaded copy of @vaelab/core, shared through globalThis. */

const COPIES_SLOT = Symbol.for('vaelab.core.copies.v1');

export interface CoreCopy {
  readonly version: string;
  /** The module URL of the copy (its dist/index.js when installed). */
  readonly url: string;
}

type GlobalSlots = Record<symbol, unknown>;

/** Every copy of @vaelab/core loaded in this JavaScript realm, in load order. */
export function coreCopies(): readonly CoreCopy[] {
  return ((globalThis as GlobalSlots)[COPIES_SLOT] as CoreCopy[] | undefined) ?? [];
}

/**
 * Records this copy on globalThis. Copies of the same version share the KL registry and recognize
 * each other's classes, so they behave as one. Copies of different versions still share them, but
 * their rules and classes may differ: that is said loudly, naming both copies, never silently.
 */
function recordCopy(): void {
  const slots = globalThis as GlobalSlots;
  const copies = (slots[COPIES_SLOT] ??= []) as CoreCopy[];
  const self: CoreCopy = { version: CORE_VERSION, url: import.meta.url };
  if (copies.some((c) => c.url === self.url && c.version === self.version)) return;
  for (const other of copies) {
    if (other.version !== self.version) {
      console.warn(
        `@vaelab/core: two different versions are loaded: ${other.version} at ${other.url} and ${self.version} at ${self.url}. ` +
          'They share one KL registry and class keys, and the later copy\'s KL rules replace the earlier\'s. Deduplicate them ' +
          '(npm dedupe, or one version range for @vaelab/core in every package) so that every VAE Lab package uses the same copy.',
      );
    }
  }
  copies.push(self);
}

recordCopy();
