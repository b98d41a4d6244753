import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import {
  type BestMark,
  type CheckpointParts,
  MANIFEST_FILE,
  type Manifest,
  type TrainState,
  type VerifiedCheckpoint,
  encodeCheckpoint,
  readManifest,
  restoreCheckpoint,
  verifyCheckpoint,
  withOthers,
  writeCheckpointFiles,
} from './checkpoint.js';
import { CheckpointError, CheckpointWriteError } from './checkpoint-errors.js';
import { makeDir, removeTree, renamePath, syncDir, writeFileDurable } from './durable-fs.js';

/*
 * A run's checkpoints/ folder:
 *   step-00000123/{weights.bin, manifest.json}   one folder per checkpoint (step-00000123-2, -3 ...
 *                                                 when a step is saved again)
 *   latest.json                                  pointer: the newest, the best, the ones kept
 *   .tmp-<pid>-...                               a save (or removal) in progress, or a leftover
 * A save writes a temp folder, fsyncs its files and itself, renames it to its final name, fsyncs
 * checkpoints/, rewrites latest.json the same way, and only then removes old checkpoints. Loading
 * verifies folders newest first (by step) and restores the first complete one, so the pointer is
 * a convenience for people and tools, never needed to resume.
 */

export const checkpointSchema = z
  .object({
    every_steps: z
      .number()
      .int()
      .min(1)
      .nullable()
      .default(null)
      .describe('write a checkpoint every this many optimizer steps; null: not by step count'),
    every_minutes: z
      .number()
      .positive()
      .nullable()
      .default(10)
      .describe('write a checkpoint when this many minutes have passed since the last one; null: not by time'),
    keep_last: z.number().int().min(1).default(2).describe('how many of the newest checkpoints to keep (older ones are removed)'),
    keep_best: z
      .number()
      .int()
      .min(0)
      .default(1)
      .describe('how many best checkpoints (by `metric`) to keep besides the newest; used only when `metric` is set'),
    metric: z
      .string()
      .nullable()
      .default(null)
      .describe("metric that ranks checkpoints for keep_best, e.g. 'validation.loss'; null: no best checkpoints"),
    mode: z.enum(['min', 'max']).default('min').describe('whether a smaller (min) or larger (max) `metric` is better'),
  })
  .strict();

export type CheckpointOptions = z.output<typeof checkpointSchema>;

/** What the store knows about one checkpoint folder from its manifest (weights.bin is not read). */
export interface CheckpointInfo {
  name: string;
  path: string;
  step: number;
  epoch: number | null;
  reason: string | null;
  best: BestMark | null;
  savedAt: string | null;
  /** A folder of the single-folder layout of earlier versions (latest, latest.tmp, latest.old). */
  legacy: boolean;
  /** Set when the manifest cannot be read or trusted: what is wrong. */
  problem?: string;
}

export interface SaveOptions {
  /** Why: 'epoch', 'steps', 'minutes', 'interrupt', 'non-finite', ... (recorded in the manifest). */
  reason?: string;
  /** The metric of this checkpoint, making it a candidate for keep_best. */
  best?: BestMark;
  extra?: Record<string, unknown>;
}

export interface SaveResult {
  name: string;
  path: string;
  /** Checkpoints removed by retention. */
  removed: string[];
  /** Things that went wrong after the checkpoint was committed (an old one could not be removed). */
  warnings: string[];
}

export interface LoadResult {
  state: TrainState;
  extra?: Record<string, unknown>;
  /** The checkpoint restored, and its folder. */
  name: string;
  path: string;
  /** Damaged checkpoints skipped, odd pointers: one sentence each, for the user. */
  warnings: string[];
}

interface Pointer {
  format: 'vaelab-checkpoints';
  version: 1;
  latest: string;
  step: number;
  best: string | null;
  checkpoints: { name: string; step: number; epoch: number | null; reason: string | null; best: BestMark | null }[];
}

const STEP_NAME = /^step-(\d{8,})(?:-(\d+))?$/;
const LEGACY_NAMES = ['latest', 'latest.tmp', 'latest.old'];
const TEMP_PREFIX = '.tmp-';
const POINTER_FILE = 'latest.json';

interface Candidate {
  name: string;
  path: string;
  /** [step, repeat] for step folders; legacy folders sort after all of them. */
  key: [number, number] | null;
}

function compareKeys(a: Candidate, b: Candidate): number {
  if (a.key && b.key) return b.key[0] - a.key[0] || b.key[1] - a.key[1];
  if (a.key) return -1;
  if (b.key) return 1;
  return LEGACY_NAMES.indexOf(a.name) - LEGACY_NAMES.indexOf(b.name);
}

function errnoCode(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

/** Checkpoint folders (step-*, and the legacy ones) of a checkpoints/ folder, newest first. */
function candidates(dir: string): Candidate[] {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new CheckpointError(dir, `cannot be listed: ${(e as Error).message}`);
  }
  const out: Candidate[] = [];
  for (const name of names) {
    const m = STEP_NAME.exec(name);
    if (m) out.push({ name, path: join(dir, name), key: [Number(m[1]), m[2] ? Number(m[2]) : 1] });
    else if (LEGACY_NAMES.includes(name)) out.push({ name, path: join(dir, name), key: null });
  }
  return out.sort(compareKeys);
}

function infoOf(c: Candidate): CheckpointInfo {
  const base = { name: c.name, path: c.path, legacy: c.key === null };
  try {
    const m: Manifest = readManifest(c.path);
    return {
      ...base,
      step: m.state.step,
      epoch: typeof m.state.epoch === 'number' ? m.state.epoch : null,
      reason: m.reason ?? (typeof m.extra?.reason === 'string' ? m.extra.reason : null),
      best: m.best ?? null,
      savedAt: m.savedAt ?? null,
    };
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    return { ...base, step: c.key?.[0] ?? -1, epoch: null, reason: null, best: null, savedAt: null, problem: e.message };
  }
}

/** Whether `a` ranks above `b` as a best checkpoint. */
function better(a: BestMark, b: BestMark): boolean {
  return a.mode === 'max' ? a.value > b.value : a.value < b.value;
}

function verifyFirst(list: Candidate[], damaged: CheckpointError[]): { candidate: Candidate; verified: VerifiedCheckpoint } | null {
  for (const candidate of list) {
    try {
      return { candidate, verified: verifyCheckpoint(candidate.path) };
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      damaged.push(e);
    }
  }
  return null;
}

/** The path of the newest complete, verified checkpoint folder in a run's checkpoints/ folder, or null. */
export function findCheckpoint(checkpointsDir: string): string | null {
  return verifyFirst(candidates(checkpointsDir), [])?.candidate.path ?? null;
}

/**
 * The checkpoints of one run, in its checkpoints/ folder: crash-safe saves, verified loads with
 * fallback to an older complete checkpoint, and retention of the newest and the best.
 */
export class CheckpointStore {
  readonly options: CheckpointOptions;

  constructor(
    readonly dir: string,
    options: Partial<CheckpointOptions> = {},
  ) {
    this.options = checkpointSchema.parse(options);
  }

  /** Whether `dir` holds any checkpoint folder (complete or not; `load` decides). */
  static exists(dir: string): boolean {
    return candidates(dir).length > 0;
  }

  /** Every checkpoint folder, newest first, as its manifest describes it (weights are not verified). */
  list(): CheckpointInfo[] {
    return candidates(this.dir).map(infoOf);
  }

  /** The newest checkpoint that is complete and verifies, or null. */
  latest(): CheckpointInfo | null {
    const found = verifyFirst(candidates(this.dir), []);
    return found ? infoOf(found.candidate) : null;
  }

  /** The name of the best checkpoint kept (by `metric`), or null. */
  bestName(): string | null {
    let best: CheckpointInfo | null = null;
    for (const info of this.list()) {
      if (!info.problem && info.best && this.ranks(info.best) && (!best?.best || better(info.best, best.best))) best = info;
    }
    return best?.name ?? null;
  }

  /** The checkpoint named by latest.json, or null when it is missing or unreadable. */
  pointer(): Pointer | null {
    try {
      const p = JSON.parse(readFileSync(join(this.dir, POINTER_FILE), 'utf8')) as Pointer;
      return p.format === 'vaelab-checkpoints' && typeof p.latest === 'string' ? p : null;
    } catch {
      return null;
    }
  }

  /**
   * Restore the newest complete, verified checkpoint into `parts` (verified before anything is
   * assigned). Damaged newer ones are skipped and named in `warnings`. Returns null when the folder
   * holds no checkpoint at all; throws CheckpointError (naming the file) when all are damaged.
   */
  async load(parts: CheckpointParts): Promise<LoadResult | null> {
    const list = candidates(this.dir);
    if (list.length === 0) return null;
    this.removeLeftovers(true);
    const warnings = this.pointerWarnings(list);
    const damaged: CheckpointError[] = [];
    const found = verifyFirst(list, damaged);
    if (!found) throw withOthers(damaged);
    const { candidate, verified } = found;
    for (const d of damaged) {
      warnings.push(`checkpoint ${basename(dirname(d.path))} is damaged (${d.message}); falling back to ${candidate.name}`);
    }
    const restored = await restoreCheckpoint(parts, verified);
    return { ...restored, name: candidate.name, path: candidate.path, warnings };
  }

  /**
   * Write a checkpoint of `parts` at `state` as a new folder, update latest.json, then apply
   * retention. Any file-system error becomes one CheckpointWriteError naming the path and the
   * cause; the half-written files are removed and the previous checkpoints and pointer are intact.
   */
  async save(parts: CheckpointParts, state: TrainState, opts: SaveOptions = {}): Promise<SaveResult> {
    const existing = candidates(this.dir);
    const name = this.nextName(state.step, existing);
    const encoded = await encodeCheckpoint(parts, state, { name, ...opts });
    const path = join(this.dir, name);
    const tmp = join(this.dir, `${TEMP_PREFIX}${process.pid}-${name}`);
    const previous = existing.find((c) => c.key !== null)?.name ?? existing[0]?.name;
    const failed = (e: CheckpointWriteError, undo: () => void): CheckpointWriteError => {
      try {
        undo();
      } catch {
        // the write error is the one to report; a leftover temp folder is removed by the next save
      }
      e.message += `; checkpoint ${name} was not written${previous ? `, ${previous} is intact` : ''}`;
      return e;
    };

    try {
      makeDir(this.dir);
      this.removeLeftovers(false);
      makeDir(tmp);
      writeCheckpointFiles(tmp, encoded);
      renamePath(tmp, path);
      syncDir(this.dir);
    } catch (e) {
      if (e instanceof CheckpointWriteError) throw failed(e, () => removeTree(tmp));
      throw e;
    }

    const infos = candidates(this.dir).map(infoOf);
    const keep = this.retained(infos, name, state.step);
    const best = this.bestOf(infos.filter((i) => keep.has(i.name)));
    const pointer: Pointer = {
      format: 'vaelab-checkpoints',
      version: 1,
      latest: name,
      step: state.step,
      best: best?.name ?? null,
      checkpoints: infos
        .filter((i) => keep.has(i.name))
        .map((i) => ({ name: i.name, step: i.step, epoch: i.epoch, reason: i.reason, best: i.best })),
    };
    const warnings: string[] = [];
    const pointerTmp = join(this.dir, `${TEMP_PREFIX}${process.pid}-${POINTER_FILE}`);
    let committed = false;
    try {
      writeFileDurable(pointerTmp, new TextEncoder().encode(`${JSON.stringify(pointer, null, 2)}\n`));
      renamePath(pointerTmp, join(this.dir, POINTER_FILE));
      committed = true;
      syncDir(this.dir);
    } catch (e) {
      if (!(e instanceof CheckpointWriteError)) throw e;
      if (committed) {
        warnings.push(`${e.message} (after latest.json was replaced; it may revert after a power loss, which loading tolerates)`);
      } else {
        // Undo the new folder so that a failed save changes nothing.
        throw failed(e, () => {
          removeTree(pointerTmp);
          const doomed = join(this.dir, `${TEMP_PREFIX}${process.pid}-undo-${name}`);
          renamePath(path, doomed);
          removeTree(doomed);
        });
      }
    }

    const removed: string[] = [];
    for (const info of infos) {
      if (keep.has(info.name)) continue;
      const doomed = join(this.dir, `${TEMP_PREFIX}${process.pid}-del-${info.name}`);
      try {
        // Renamed first, so that a half-removed folder never carries a checkpoint's name.
        renamePath(info.path, doomed);
        removeTree(doomed);
        removed.push(info.name);
      } catch (e) {
        if (!(e instanceof CheckpointWriteError)) throw e;
        warnings.push(`could not remove old checkpoint ${info.name}: ${e.message}`);
      }
    }
    return { name, path, removed, warnings };
  }

  /** Whether a best mark counts for this store's metric (any metric when none is configured). */
  private ranks(mark: BestMark): boolean {
    return Number.isFinite(mark.value) && (this.options.metric === null || mark.metric === this.options.metric);
  }

  private bestOf(infos: CheckpointInfo[]): CheckpointInfo | null {
    return this.bestRanked(infos)[0] ?? null;
  }

  private bestRanked(infos: CheckpointInfo[]): CheckpointInfo[] {
    const marked = infos.filter((i) => !i.problem && i.best && this.ranks(i.best));
    return marked.sort((a, b) => (better(a.best!, b.best!) ? -1 : better(b.best!, a.best!) ? 1 : 0));
  }

  /**
   * Names to keep after saving `name` at `step`: the keep_last newest (the new one first; folders
   * with a larger step are from a continuation that was abandoned when training resumed from an
   * older checkpoint, and are not counted) and the keep_best best by value. Folders whose manifest
   * cannot be read are not kept.
   */
  private retained(infos: CheckpointInfo[], name: string, step: number): Set<string> {
    const keep = new Set<string>([name]);
    const older = infos.filter((i) => i.name !== name && !i.problem && i.step <= step);
    for (const i of older.slice(0, this.options.keep_last - 1)) keep.add(i.name);
    for (const i of this.bestRanked(infos).slice(0, this.options.keep_best)) keep.add(i.name);
    return keep;
  }

  private nextName(step: number, existing: Candidate[]): string {
    const base = `step-${String(step).padStart(8, '0')}`;
    const taken = new Set(existing.map((c) => c.name));
    if (!taken.has(base) && !existsSync(join(this.dir, base))) return base;
    for (let n = 2; ; n += 1) {
      const name = `${base}-${n}`;
      if (!taken.has(name) && !existsSync(join(this.dir, name))) return name;
    }
  }

  /**
   * Remove temp folders and files left by saves that died: those of this process (no save of this
   * store is running now) and of processes that no longer exist. When `quiet`, errors are ignored
   * (loading from a read-only copy must work).
   */
  private removeLeftovers(quiet: boolean): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const entry of names) {
      if (!entry.startsWith(TEMP_PREFIX)) continue;
      const pid = Number(/^\.tmp-(\d+)-/.exec(entry)?.[1]);
      if (Number.isInteger(pid) && pid !== process.pid && processIsAlive(pid)) continue;
      try {
        removeTree(join(this.dir, entry));
      } catch (e) {
        if (!quiet || !(e instanceof CheckpointWriteError)) throw e;
      }
    }
  }

  private pointerWarnings(list: Candidate[]): string[] {
    const path = join(this.dir, POINTER_FILE);
    if (!existsSync(path)) return [];
    const pointer = this.pointer();
    if (!pointer) return [`${path} is unreadable; ignored (checkpoints are found by their folders)`];
    if (!list.some((c) => c.name === pointer.latest)) {
      return [`${path} names ${pointer.latest}, which is missing; using the newest complete checkpoint instead`];
    }
    return [];
  }
}

/*
 * The single-folder API of earlier versions, kept for its callers: `dir` is the checkpoint folder
 * itself (the CLI used `<run>/checkpoints/latest`). saveCheckpoint writes `<dir>.tmp` durably, then
 * renames `<dir>` to `<dir>.old` and `<dir>.tmp` to `<dir>`; loadCheckpoint takes the first of
 * `<dir>`, `<dir>.tmp`, `<dir>.old` that verifies, so a kill between the renames loses nothing.
 * When none of them exists and `dir` is `<run>/checkpoints/latest`, both fall through to a
 * CheckpointStore over `<run>/checkpoints`.
 */

function legacyCandidates(dir: string): [string, string, string] {
  return [dir, `${dir}.tmp`, `${dir}.old`];
}

export async function saveCheckpoint(
  dir: string,
  parts: CheckpointParts,
  state: TrainState,
  extra?: Record<string, unknown>,
): Promise<void> {
  const encoded = await encodeCheckpoint(parts, state, extra ? { extra } : {});
  const [, tmp, old] = legacyCandidates(dir);
  const parent = dirname(dir);
  try {
    makeDir(parent);
    // A leftover .tmp (a save killed before its renames) is never newer than `dir` or `dir.old`.
    removeTree(tmp);
    makeDir(tmp);
    writeCheckpointFiles(tmp, encoded);
    removeTree(old);
    if (existsSync(dir)) renamePath(dir, old);
    renamePath(tmp, dir);
    syncDir(parent);
  } catch (e) {
    if (e instanceof CheckpointWriteError) {
      try {
        removeTree(tmp);
      } catch {
        // the write error is the one to report
      }
    }
    throw e;
  }
  removeTree(old);
}

export function hasCheckpoint(dir: string): boolean {
  if (legacyCandidates(dir).some((d) => existsSync(join(d, MANIFEST_FILE)))) return true;
  return basename(dir) === 'latest' && CheckpointStore.exists(dirname(dir));
}

/** Restore variables, optimizer slots and random streams in place; returns the training state. */
export async function loadCheckpoint(
  dir: string,
  parts: CheckpointParts,
): Promise<{ state: TrainState; extra?: Record<string, unknown>; warnings: string[] }> {
  const present = legacyCandidates(dir).filter((d) => existsSync(d));
  if (present.length === 0) {
    const loaded = basename(dir) === 'latest' ? await new CheckpointStore(dirname(dir)).load(parts) : null;
    if (loaded) {
      const { state, extra, warnings } = loaded;
      return extra ? { state, extra, warnings } : { state, warnings };
    }
    throw new CheckpointError(join(dir, MANIFEST_FILE), 'missing', `no checkpoint at ${dir} (missing manifest.json)`);
  }
  const damaged: CheckpointError[] = [];
  for (const candidate of present) {
    let verified: VerifiedCheckpoint;
    try {
      verified = verifyCheckpoint(candidate);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      damaged.push(e);
      continue;
    }
    const restored = await restoreCheckpoint(parts, verified);
    const warnings = damaged.map((d) => `checkpoint ${dirname(d.path)} is damaged (${d.message}); falling back to ${candidate}`);
    return { ...restored, warnings };
  }
  throw withOthers(damaged);
}
