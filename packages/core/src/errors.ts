import { isBrandedInstance } from './brand.js';

/** The property holding an error class's stable key (see brand.ts). */
const ERROR_KEY = 'errorKey';

/** A brand on every VaeLabError, from any copy of @vaelab/core. */
const ERROR_BRAND = Symbol.for('vaelab.error');

/**
 * Errors a user can act on. Each says what was wrong, where (config path, component, step) and,
 * where there is a closed set, what is allowed.
 *
 * `instanceof` works across duplicate copies of @vaelab/core: the classes carry a stable
 * `errorKey` and `Symbol.hasInstance` compares those keys up the prototype chain. A subclass
 * defined elsewhere may add its own `static readonly errorKey = '<package>/<Name>'` to be
 * recognized across copies of its own package too.
 */
export class VaeLabError extends Error {
  static readonly errorKey: string = '@vaelab/core/VaeLabError';

  static override [Symbol.hasInstance](x: unknown): boolean {
    return isBrandedInstance(x, this, ERROR_KEY);
  }

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
Object.defineProperty(VaeLabError.prototype, ERROR_BRAND, { value: true });

/** True for an error made by any copy of @vaelab/core's VaeLabError (or a subclass). */
export function isVaeLabError(e: unknown): e is VaeLabError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[ERROR_BRAND] === true;
}

/** A config value names no registered component, or its options do not validate. */
export class ComponentConfigError extends VaeLabError {
  static override readonly errorKey: string = '@vaelab/core/ComponentConfigError';

  constructor(
    message: string,
    readonly configPath: string,
  ) {
    super(message);
  }
}

/** Tensors whose shapes do not fit together (decoder output vs data, parameters vs event). */
export class ShapeError extends VaeLabError {
  static override readonly errorKey: string = '@vaelab/core/ShapeError';
}

/** A loss or one of its terms became NaN or ±Inf. */
export class NonFiniteLossError extends VaeLabError {
  static override readonly errorKey: string = '@vaelab/core/NonFiniteLossError';

  constructor(
    readonly step: number,
    readonly terms: string[],
    detail: string,
  ) {
    super(`non-finite loss at step ${step}: ${detail}`);
  }
}

/** A distribution's parameter or a value outside its support (a negative σ, a non-integer category). */
export class SupportError extends VaeLabError {
  static override readonly errorKey: string = '@vaelab/core/SupportError';
}

/** True for a NonFiniteLossError from any copy of @vaelab/core. */
export function isNonFiniteLossError(e: unknown): e is NonFiniteLossError {
  return isBrandedInstance(e, NonFiniteLossError, ERROR_KEY);
}

/** True for a ShapeError from any copy of @vaelab/core. */
export function isShapeError(e: unknown): e is ShapeError {
  return isBrandedInstance(e, ShapeError, ERROR_KEY);
}
