import { VaeLabError } from '@vaelab/core';

/** A run folder (or the folder runs go into) cannot be read or written; `path` names the file or folder. */
export class RunFolderError extends VaeLabError {
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Another live process holds the run's `.lock` (or the lock cannot be read). */
export class RunLockedError extends VaeLabError {
  constructor(
    message: string,
    readonly dir: string,
    readonly holder: RunLockInfo | undefined,
  ) {
    super(message);
  }
}

/** What `<run>/.lock` holds. */
export interface RunLockInfo {
  pid: number;
  host: string;
  started_at: string;
  command: string;
}
