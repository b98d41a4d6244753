import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { isMapping } from './util.js';

/**
 * YAML text of a value: keys in their insertion order, long strings never folded, and repeated
 * objects written out in full (no `&anchor`/`*alias`), so the text reads back to the same data.
 */
export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * JSON with the keys of every mapping sorted, so that two configs that differ only in key order
 * give the same text. Keys whose value is `undefined` are left out, as JSON does.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v: unknown) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (isMapping(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** sha256 (hex) of {@link canonicalJson}: a config's identity, independent of key order. */
export function configHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
