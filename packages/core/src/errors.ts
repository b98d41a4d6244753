/**
 * Errors a user can act on. Each says what was wrong, where (config path, component, step) and,
 * where there is a closed set, what is allowed.
 */
export class VaeLabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A config value names no registered component, or its options do not validate. */
export class ComponentConfigError extends VaeLabError {
  constructor(
    message: string,
    readonly configPath: string,
  ) {
    super(message);
  }
}

/** Tensors whose shapes do not fit together (decoder output vs data, parameters vs event). */
export class ShapeError extends VaeLabError {}

/** A loss or one of its terms became NaN or ±Inf. */
export class NonFiniteLossError extends VaeLabError {
  constructor(
    readonly step: number,
    readonly terms: string[],
    detail: string,
  ) {
    super(`non-finite loss at step ${step}: ${detail}`);
  }
}

/** A distribution's parameter or a value outside its support (a negative σ, a non-integer category). */
export class SupportError extends VaeLabError {}
