import {
  appendFileSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { CheckpointWriteError } from './checkpoint-errors.js';

/*
 * The file operations of a checkpoint write, each durable and each routed through `fileOp`, so that
 * a test can fail or kill the process at any one of them:
 * - `setCheckpointFaultHook((op, path, index) => ...)` is called before every operation; throwing
 *   from it makes that operation fail (an error with an errno `code` is reported as that fs error).
 * - env `VAELAB_CHECKPOINT_FAULT=<n>`: the process SIGKILLs itself just before its n-th operation
 *   (counted from 1 over the whole process), so operations 1..n-1 happened and n did not.
 * - env `VAELAB_CHECKPOINT_FAULT_LOG=<file>`: one line `<index> <op> <path>` is appended per
 *   operation (before it runs), so a script can count them and kill at every boundary.
 * The environment is read once, at the first operation.
 */

export type FileOp = 'mkdir' | 'open' | 'write' | 'fsync' | 'close' | 'rename' | 'unlink' | 'rmdir';
export type CheckpointFaultHook = (op: FileOp, path: string, index: number) => void;

let hook: CheckpointFaultHook | null = null;
let opCount = 0;
let env: { killAt: number | null; log: string | null } | undefined;

/** Install (or, with null, remove) the fault hook called before every checkpoint file operation. For tests. */
export function setCheckpointFaultHook(next: CheckpointFaultHook | null): void {
  hook = next;
}

/** How many checkpoint file operations this process has run (the index the next one gets, minus one). */
export function checkpointFileOps(): number {
  return opCount;
}

function readEnv(): { killAt: number | null; log: string | null } {
  const n = Number.parseInt(process.env.VAELAB_CHECKPOINT_FAULT ?? '', 10);
  return { killAt: Number.isFinite(n) && n > 0 ? n : null, log: process.env.VAELAB_CHECKPOINT_FAULT_LOG || null };
}

function errnoCode(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : null;
}

/** Run one file operation: count it, log it, maybe kill or fail, and turn an fs error into a CheckpointWriteError. */
function fileOp<T>(op: FileOp, path: string, run: () => T): T {
  opCount += 1;
  env ??= readEnv();
  if (env.log !== null) appendFileSync(env.log, `${opCount} ${op} ${path}\n`);
  if (env.killAt === opCount) process.kill(process.pid, 'SIGKILL');
  try {
    hook?.(op, path, opCount);
    return run();
  } catch (e) {
    if (e instanceof CheckpointWriteError) throw e;
    const code = errnoCode(e);
    if (code === null) throw e;
    throw new CheckpointWriteError(path, code, op, (e as Error).message);
  }
}

/** Create a folder (and its parents). A file where a folder should be is an error ("a file is in the way"). */
export function makeDir(path: string): void {
  fileOp('mkdir', path, () => mkdirSync(path, { recursive: true }));
}

/**
 * Open `path` with `flags`, run `body` on the fd, then close it (a close that fails is an error of
 * its own). If anything before the close fails, the fd is closed quietly and the first error stands.
 */
function withFd(path: string, flags: string, body: (fd: number) => void): void {
  const fd = fileOp('open', path, () => openSync(path, flags));
  try {
    body(fd);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already failing; the first error is the one to report
    }
    throw e;
  }
  fileOp('close', path, () => closeSync(fd));
}

/** Write a new file (it must not exist), fsync and close it. On failure the fd is closed; the file may remain. */
export function writeFileDurable(path: string, data: Uint8Array): void {
  withFd(path, 'wx', (fd) => {
    let at = 0;
    while (at < data.byteLength) {
      at += fileOp('write', path, () => writeSync(fd, data, at, data.byteLength - at));
    }
    fileOp('fsync', path, () => fsyncSync(fd));
  });
}

/** fsync a folder, so that the entries created or renamed in it survive a power loss. */
export function syncDir(path: string): void {
  withFd(path, 'r', (fd) =>
    fileOp('fsync', path, () => {
      try {
        fsyncSync(fd);
      } catch (e) {
        // Some file systems do not fsync folders; their entries are then as durable as they get.
        if (errnoCode(e) !== 'EINVAL') throw e;
      }
    }),
  );
}

/** Atomic rename (same file system). */
export function renamePath(from: string, to: string): void {
  fileOp('rename', to, () => renameSync(from, to));
}

export function unlinkPath(path: string): void {
  fileOp('unlink', path, () => unlinkSync(path));
}

/** Remove a folder tree file by file, each removal an operation of its own. A missing path is fine. */
export function removeTree(path: string): void {
  let entries;
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') {
      unlinkPath(path);
      return;
    }
    if (code !== null) throw new CheckpointWriteError(path, code, 'readdir', (e as Error).message);
    throw e;
  }
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) removeTree(child);
    else unlinkPath(child);
  }
  fileOp('rmdir', path, () => rmdirSync(path));
}
