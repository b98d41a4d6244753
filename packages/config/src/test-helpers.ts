import { expect } from 'vitest';
import { ConfigError } from './errors.js';

/** Runs `fn`, which must throw a ConfigError, and returns it (for assertions on its fields). */
export function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}
