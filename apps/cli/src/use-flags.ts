import { VaeLabError } from '@vaelab/core';

/* Flag parsing shared by the commands on a trained run: each error names the flag and what is allowed. */

export function intFlag(command: string, flag: string, value: string | undefined, opts: { min?: number; max?: number } = {}): number | null {
  if (value === undefined) return null;
  const min = opts.min ?? 1;
  const v = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || v < min || (opts.max !== undefined && v > opts.max)) {
    throw new VaeLabError(`${command}: ${flag} must be an integer ${opts.max !== undefined ? `in ${min}..${opts.max}` : `>= ${min}`}, got '${value}'`);
  }
  return v;
}

export function numberFlag(command: string, flag: string, value: string | undefined, opts: { min?: number; exclusiveMin?: boolean } = {}): number | null {
  if (value === undefined) return null;
  const v = Number(value);
  const ok = value.trim() !== '' && Number.isFinite(v) && (opts.min === undefined || (opts.exclusiveMin ? v > opts.min : v >= opts.min));
  if (!ok) {
    const bound = opts.min === undefined ? 'a finite number' : `a number ${opts.exclusiveMin ? '>' : '>='} ${opts.min}`;
    throw new VaeLabError(`${command}: ${flag} must be ${bound}, got '${value}'`);
  }
  return v;
}

export function choiceFlag<T extends string>(command: string, flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new VaeLabError(`${command}: ${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

/** A comma-separated list of non-negative integers ('0,3,7'). */
export function indexListFlag(command: string, flag: string, value: string | undefined): number[] | null {
  if (value === undefined) return null;
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new VaeLabError(`${command}: ${flag} must be a comma-separated list of non-negative integers (e.g. 0,3,7), got '${value}'`);
  }
  return parts.map(Number);
}

/** 'low,high' with low < high. */
export function rangeFlag(command: string, flag: string, value: string | undefined): [number, number] | null {
  if (value === undefined) return null;
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || parts.some((p) => !Number.isFinite(p)) || !(parts[0]! < parts[1]!)) {
    throw new VaeLabError(`${command}: ${flag} must be two numbers low,high with low < high (e.g. -3,3), got '${value}'`);
  }
  return [parts[0]!, parts[1]!];
}

export const SPLITS = ['test', 'train'] as const;
