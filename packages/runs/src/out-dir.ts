import { accessSync, constants, mkdirSync, mkdtempSync, rmdirSync, statSync, statfsSync, type Stats } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { RunFolderError } from './errors.js';

/*
 * Refuse an output folder early, with a reason, instead of failing (or spinning) deep inside a run.
 * Node 20's `mkdirSync(p, { recursive: true })` loops forever under /proc (ENOENT on the leaf,
 * the parent exists, retry), so the pseudo-filesystem check must come before any mkdir.
 */

/** Mount points of kernel pseudo-filesystems; /dev/shm is an ordinary tmpfs and allowed. */
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];
const PSEUDO_ALLOWED = ['/dev/shm'];

/** `statfs` f_type magic numbers (linux/magic.h) of filesystems a run cannot live on. */
const PSEUDO_MAGIC: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
]);

function under(path: string, root: string): boolean {
  return path === root || path.startsWith(root + sep);
}

function pseudoRoot(path: string): string | undefined {
  if (PSEUDO_ALLOWED.some((root) => under(path, root))) return undefined;
  return PSEUDO_ROOTS.find((root) => under(path, root));
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // ENOTDIR: a component of the path is a file; the walk up will find it.
    if (code === 'ENOTDIR') return undefined;
    throw new RunFolderError(`cannot inspect ${path}: ${(e as Error).message}`, path, { cause: e });
  }
}

function kindOf(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isSocket()) return 'a socket';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a folder';
}

/** The path itself when it exists, else its nearest existing ancestor (the folder mkdir would write into). */
function nearestExisting(path: string): { path: string; stats: Stats } {
  for (let current = path; ; current = dirname(current)) {
    const stats = statOrUndefined(current);
    if (stats !== undefined) return { path: current, stats };
    if (dirname(current) === current) throw new RunFolderError(`no part of ${path} exists`, path);
  }
}

/**
 * Check that runs can be written under `outDir`; returns its absolute path. Throws a
 * `RunFolderError` naming the path and the reason when the folder (or its nearest existing
 * ancestor) is not a folder, is on a kernel pseudo-filesystem (/proc, /sys, /dev or a statfs type
 * such as proc/sysfs/devpts), is not writable, or refuses a probe folder. The probe matters
 * because root passes `access(W_OK)` almost everywhere (read-only mounts and /proc excepted).
 */
export function checkOutDir(outDir: string): string {
  const absolute = resolve(outDir);
  const root = pseudoRoot(absolute);
  if (root !== undefined) {
    throw new RunFolderError(`cannot write runs to ${absolute}: it is under ${root}, a kernel pseudo-filesystem; choose a folder on a disk`, absolute);
  }
  const existing = nearestExisting(absolute);
  if (!existing.stats.isDirectory()) {
    const what = existing.path === absolute ? 'the out folder' : `its ancestor ${existing.path}`;
    throw new RunFolderError(`cannot write runs to ${absolute}: ${what} is ${kindOf(existing.stats)}, not a folder`, existing.path);
  }
  // Symlinks may lead into a pseudo-filesystem; statfs sees where they land.
  if (typeof statfsSync === 'function') {
    let type: number | undefined;
    try {
      type = Number(statfsSync(existing.path).type);
    } catch {
      type = undefined; // statfs unsupported here: the probe below still decides
    }
    const name = type === undefined ? undefined : PSEUDO_MAGIC.get(type);
    if (name !== undefined) {
      throw new RunFolderError(`cannot write runs to ${absolute}: ${existing.path} is on a ${name} pseudo-filesystem; choose a folder on a disk`, existing.path);
    }
  }
  try {
    accessSync(existing.path, constants.W_OK);
  } catch (e) {
    throw new RunFolderError(
      `cannot write runs to ${absolute}: ${existing.path} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      existing.path,
      { cause: e },
    );
  }
  let probe: string;
  try {
    probe = mkdtempSync(join(existing.path, '.vaelab-probe-'));
  } catch (e) {
    throw new RunFolderError(
      `cannot write runs to ${absolute}: cannot create a folder in ${existing.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      existing.path,
      { cause: e },
    );
  }
  rmdirSync(probe);
  return absolute;
}

/**
 * `mkdir -p` one level at a time. Unlike `mkdirSync(p, { recursive: true })` on Node 20 it cannot
 * loop forever: each level is tried once, and EEXIST is accepted only for a folder.
 */
export function makeFolders(path: string): void {
  const missing: string[] = [];
  let current = resolve(path);
  while (statOrUndefined(current) === undefined) {
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(dir).isDirectory()) continue;
      throw new RunFolderError(`cannot create folder ${dir}: ${(e as Error).message}`, dir, { cause: e });
    }
  }
  const stats = statSync(resolve(path));
  if (!stats.isDirectory()) throw new RunFolderError(`${resolve(path)} is ${kindOf(stats)}, not a folder`, resolve(path));
}
