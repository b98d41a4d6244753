import { VaeLabError } from '@vaelab/core';

/** A data file is malformed or does not fit the dataset (bad IDX header, wrong size, count mismatch). */
export class DataFormatError extends VaeLabError {
  constructor(
    message: string,
    /** The file concerned, when there is one. */
    readonly file?: string,
  ) {
    super(message);
  }
}

/** Files a dataset needs are not where they were looked for. */
export class DatasetNotFoundError extends VaeLabError {
  constructor(
    message: string,
    /** The folder that was searched (null when no folder could be found at all). */
    readonly folder: string | null,
    /** The files (canonical names) that are missing. */
    readonly missing: readonly string[],
  ) {
    super(message);
  }
}
