import { closeSync, openSync, readFileSync, renameSync, linkSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { RunLockedError, type RunLockInfo } from './errors.js';
import { RUN_FILES } from './files.js';

/*
 * One process at a time per run folder: `<run>/.lock` is created exclusively (O_EXCL) and holds
 * who took it. A lock left by a process that died is recognized (same host, pid gone) and taken
 * over; a lock from another host cannot be checked, so it is reported and left alone.
 */

/** A held lock. */
export interface RunLock {
  /** `<dir>/.lock`. */
  path: string;
  info: RunLockInfo;
  /** Set when a stale lock (dead pid on this host) was taken over: says whose. */
  note?: string;
  /** Remove the lock if it is still ours; safe to call more than once. */
  release: () => void;
}

export interface AcquireRunLockOptions {
  /** Recorded in the lock for the error another process shows; default: this process's argv. */
  command?: string;
}

/** Alive as far as this host can tell: signal 0 checks existence (EPERM: alive, someone else's). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function defaultCommand(): string {
  const [, script, ...args] = process.argv;
  return [script === undefined ? basename(process.execPath) : basename(script), ...args].join(' ');
}

function parseLock(text: string): RunLockInfo | undefined {
  try {
    const value = JSON.parse(text) as Partial<RunLockInfo>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return undefined;
    return {
      pid: value.pid,
      host: value.host,
      started_at: String(value.started_at ?? 'an unknown time'),
      command: String(value.command ?? 'an unknown command'),
    };
  } catch {
    return undefined;
  }
}

function readLockText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function describeHolder(info: RunLockInfo): string {
  return `pid ${info.pid} on host ${info.host} since ${info.started_at} (${info.command})`;
}

/** Create the lock file with O_EXCL; false when it already exists. */
function tryCreate(path: string, info: RunLockInfo): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, `${JSON.stringify(info)}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Move a stale lock out of the way without ever deleting a fresh one. Two processes may judge the
 * same lock stale; a plain unlink by the slower one would remove the lock the faster one just
 * created. Renaming first and comparing what was moved makes that visible, and `link` (which
 * fails when the name exists) puts a wrongly moved lock back without overwriting anything.
 */
function removeStale(path: string, staleText: string): void {
  const aside = `${path}.stale-${process.pid}-${Date.now()}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else moved it
    throw e;
  }
  if (readFileSync(aside, 'utf8') !== staleText) {
    try {
      linkSync(aside, path);
    } catch {
      // A third process created a lock meanwhile; it holds the run, and ours was moved aside only.
    }
  }
  unlinkSync(aside);
}

/**
 * Take `<dir>/.lock`. Throws `RunLockedError` when a live process holds it (or the file cannot be
 * read), naming the holder and how to clear a lock whose process is gone.
 */
export function acquireRunLock(dir: string, options: AcquireRunLockOptions = {}): RunLock {
  const path = join(dir, RUN_FILES.lock);
  const host = hostname();
  const info: RunLockInfo = {
    pid: process.pid,
    host,
    started_at: new Date().toISOString(),
    command: options.command ?? defaultCommand(),
  };
  let note: string | undefined;
  // Each round either creates the lock, throws, or removes a stale lock; a few rounds cover races.
  for (let round = 0; round < 5; round++) {
    if (tryCreate(path, info)) {
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        const text = readLockText(path);
        const current = text === undefined ? undefined : parseLock(text);
        if (current?.pid === info.pid && current.host === info.host && current.started_at === info.started_at) unlinkSync(path);
      };
      return { path, info, release, ...(note === undefined ? {} : { note }) };
    }
    const text = readLockText(path);
    if (text === undefined) continue; // released between our open and our read
    const holder = parseLock(text);
    if (holder === undefined) {
      throw new RunLockedError(
        `run ${dir} is locked by ${path}, which cannot be read as a lock (${JSON.stringify(text.slice(0, 80))}); if no process is using the run, remove ${path}`,
        dir,
        undefined,
      );
    }
    if (holder.host === host && !isProcessAlive(holder.pid)) {
      removeStale(path, text);
      note = `took over a stale lock of run ${dir}: ${describeHolder(holder)} is no longer running`;
      continue;
    }
    throw new RunLockedError(
      `run ${dir} is in use by ${describeHolder(holder)}; if that process is gone, remove ${path}`,
      dir,
      holder,
    );
  }
  throw new RunLockedError(`run ${dir}: could not take ${path} (it keeps changing hands); try again`, dir, undefined);
}
