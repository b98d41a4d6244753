import { VaeLabError } from '@vaelab/core';

/**
 * A checkpoint file that cannot be trusted: missing, empty, truncated, changed after it was
 * written, or not a checkpoint at all. `path` is the file, `problem` says what is wrong with it.
 */
export class CheckpointError extends VaeLabError {
  static override readonly errorKey: string = '@vaelab/trainers/CheckpointError';

  constructor(
    readonly path: string,
    readonly problem: string,
    message = `${path}: ${problem}`,
  ) {
    super(message);
  }
}

/** Errno codes in words a user can act on. */
const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a file is in the way (a part of the path is a file, not a folder)',
  EEXIST: 'a file is in the way',
  EISDIR: 'a folder is in the way',
  ENOENT: 'no such file or folder (was it removed while writing?)',
  EIO: 'input/output error (the disk may be failing)',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the path is too long',
};

export function causeInWords(code: string, fallback?: string): string {
  return CAUSES[code] ?? fallback ?? code;
}

/**
 * A checkpoint could not be written (full disk, no permission, read-only file system, a file
 * where a folder should be, ...). `path` is the file or folder the failing operation touched,
 * `code` the errno code (ENOSPC, EACCES, ...). When a save throws it, the half-written files are
 * removed and the previous checkpoint and the pointer are untouched.
 */
export class CheckpointWriteError extends CheckpointError {
  static override readonly errorKey: string = '@vaelab/trainers/CheckpointWriteError';

  constructor(
    path: string,
    readonly code: string,
    readonly op: string,
    detail?: string,
  ) {
    const problem = `${causeInWords(code, detail)} (${code})`;
    super(path, problem, `cannot write checkpoint: ${path}: ${problem}`);
  }
}
