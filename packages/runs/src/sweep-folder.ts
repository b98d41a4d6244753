import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { toYaml } from '@vaelab/config';
import { RunFolderError } from './errors.js';
import { RUN_FILES } from './files.js';
import { checkOutDir, makeFolders } from './out-dir.js';
import { type RunRecord, readJsonFile, readRun, readYamlValue, writeFileAtomic, writeJson } from './run-folder.js';

/*
 * A sweep folder (DESIGN §5): `<out>/<experiment>/<timestamp>/` holding the manifest `sweep.yaml`
 * and one run folder per job, each with a `status.json` that the launcher keeps. The launcher is
 * the only writer of a job's status; the job itself writes its run files as any run does.
 */

/** The names a sweep adds: the manifest in the sweep folder, a status file in each job's run folder. */
export const SWEEP_FILES = {
  manifest: 'sweep.yaml',
  status: 'status.json',
} as const;

/** Where a job stands. `running` in a folder whose launcher is gone means it was killed hard. */
export type JobState = 'pending' | 'running' | 'completed' | 'failed' | 'interrupted';
export const JOB_STATES: readonly JobState[] = ['pending', 'running', 'completed', 'failed', 'interrupted'];

/** One swept parameter: the key as written on the command line and its values in job order. */
export interface SweepParameter {
  key: string;
  /** How it was written: list, choice, range or glob. */
  form: string;
  /** The values as written (`1e-3`, `vamp`), one per distinct value, in order. */
  values: string[];
}

export interface SweepJob {
  index: number;
  /** Also the name of the job's run folder inside the sweep folder. */
  name: string;
  /** Every override of this job (the common ones and one value per swept parameter), as command-line text. */
  overrides: string[];
  /** The swept parameters' values for this job, as written: `{ seed: '2', 'objective.beta': '4' }`. */
  params: Record<string, string>;
}

/** `sweep.yaml`. */
export interface SweepManifest {
  /** Format version of this file. */
  version: 1;
  experiment: string;
  /** The command line that created the sweep (without node and the script). */
  command: string[];
  /** The project root the jobs run from. */
  cwd: string;
  created_at: string;
  /** Overrides shared by every job. */
  overrides: string[];
  parameters: SweepParameter[];
  jobs: SweepJob[];
}

/** `<job>/status.json`, written by the launcher. */
export interface JobStatus {
  index: number;
  name: string;
  state: JobState;
  /** How many times a launcher has started the job (a resume adds one). */
  attempts: number;
  pid?: number | null;
  exit_code?: number | null;
  signal?: string | null;
  /** Why a failed job failed, in one line. */
  error?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
  seconds?: number | null;
  updated_at: string;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

/** Characters kept in a job folder's name; anything else (`/`, spaces, quotes, brackets) becomes `-`. */
const UNSAFE = /[^A-Za-z0-9._=,+@-]+/g;
/** Keeps names well under the 255-byte limit of most filesystems, with room for the index. */
const MAX_NAME = 120;

/**
 * A job folder's name: the zero-padded index, then each swept `key=value`, e.g.
 * `003_latent_dim=8_seed=2`. The index alone keeps names unique and in job order; the rest lets
 * a person tell the folders apart. Characters unsafe in a path are replaced by `-`.
 */
export function jobName(index: number, total: number, params: Record<string, string> | [string, string][]): string {
  const width = Math.max(3, String(Math.max(0, total - 1)).length);
  const entries = Array.isArray(params) ? params : Object.entries(params);
  const label = entries.map(([k, v]) => `${k}=${v}`.replace(UNSAFE, '-')).join('_');
  const name = `${String(index).padStart(width, '0')}${label ? `_${label}` : ''}`;
  return name.length > MAX_NAME ? name.slice(0, MAX_NAME) : name;
}

/**
 * Short names for swept keys in job folder names: the last part of each dotted key
 * (`trainer.optimizer.lr` → `lr`) when those are unique among the swept keys, else the whole key.
 */
export function shortKeys(keys: readonly string[]): Record<string, string> {
  const last = keys.map((k) => k.split('.').at(-1)!);
  const unique = new Set(last).size === last.length;
  return Object.fromEntries(keys.map((k, i) => [k, unique ? last[i]! : k]));
}

/** More sweeps than this in one second under one name means something else is wrong. */
const MAX_TRIES = 1000;

/** `<out>/<experiment>/<timestamp>` for a new sweep, made unique (`.1`, `.2`) when one started in the same second. */
export function createSweepDir(outDir: string, experiment: string, now = new Date()): string {
  checkOutDir(outDir);
  makeFolders(join(outDir, experiment));
  const base = join(outDir, experiment, stamp(now));
  for (let i = 0; i < MAX_TRIES; i++) {
    const dir = i === 0 ? base : `${base}.${i}`;
    try {
      mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new RunFolderError(`cannot create a sweep folder: ${base} and ${MAX_TRIES - 1} numbered variants all exist`, base);
}

export function writeSweepManifest(sweepDir: string, manifest: SweepManifest): void {
  writeFileAtomic(
    join(sweepDir, SWEEP_FILES.manifest),
    `# A vaelab sweep: the command, the swept parameters and the jobs. Results: vaelab results ${sweepDir}\n${toYaml(manifest)}`,
  );
}

/** Whether `dir` is a sweep folder (holds sweep.yaml). */
export function isSweepDir(dir: string): boolean {
  return existsSync(join(dir, SWEEP_FILES.manifest));
}

export function readSweepManifest(sweepDir: string): SweepManifest {
  const path = join(sweepDir, SWEEP_FILES.manifest);
  const value = readYamlValue(path);
  if (value === undefined) throw new RunFolderError(`${sweepDir} is not a sweep folder (cannot read ${SWEEP_FILES.manifest}: ENOENT)`, path);
  const m = value as Partial<SweepManifest> | null;
  if (!m || typeof m !== 'object' || !Array.isArray(m.jobs) || !Array.isArray(m.parameters) || typeof m.experiment !== 'string') {
    throw new RunFolderError(`${path}: expected a sweep manifest with experiment, parameters and jobs`, path);
  }
  return m as SweepManifest;
}

/** Create a job's run folder (with its checkpoints folder) and mark it pending. */
export function createJobDir(sweepDir: string, job: Pick<SweepJob, 'index' | 'name'>): string {
  const dir = join(sweepDir, job.name);
  mkdirSync(dir);
  mkdirSync(join(dir, RUN_FILES.checkpoints));
  writeJobStatus(dir, { index: job.index, name: job.name, state: 'pending', attempts: 0 });
  return dir;
}

export function writeJobStatus(jobDir: string, status: Omit<JobStatus, 'updated_at'>): JobStatus {
  const full: JobStatus = { ...status, updated_at: new Date().toISOString() };
  writeJson(join(jobDir, SWEEP_FILES.status), full);
  return full;
}

/** A job's status.json, or undefined when there is none (a run folder made outside a sweep). */
export function readJobStatus(jobDir: string): JobStatus | undefined {
  return readJsonFile(join(jobDir, SWEEP_FILES.status)) as JobStatus | undefined;
}

/** One job of a sweep as read back: its manifest entry, folder, status and (once started) its run. */
export interface SweepJobRecord {
  job: SweepJob;
  dir: string;
  status: JobStatus;
  /** The run folder's files, once the job has written config.yaml and meta.json. */
  run: RunRecord | undefined;
}

export interface SweepRecord {
  dir: string;
  manifest: SweepManifest;
  jobs: SweepJobRecord[];
}

/** Read a sweep folder: the manifest, and for each job its status and run files (a job not yet started has none). */
export function readSweep(sweepDir: string): SweepRecord {
  const manifest = readSweepManifest(sweepDir);
  const jobs = manifest.jobs.map((job): SweepJobRecord => {
    const dir = join(sweepDir, job.name);
    const status = (existsSync(dir) ? readJobStatus(dir) : undefined) ?? {
      index: job.index,
      name: job.name,
      state: 'pending' as const,
      attempts: 0,
      updated_at: manifest.created_at,
    };
    const started = existsSync(join(dir, RUN_FILES.config)) && existsSync(join(dir, RUN_FILES.meta));
    return { job, dir, status, run: started ? readRun(dir) : undefined };
  });
  return { dir: sweepDir, manifest, jobs };
}

/** The sweep folders directly under `dir` (for `vaelab results <out>/<experiment>`), newest last. */
export function listSweeps(dir: string): string[] {
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((p) => statSync(p).isDirectory() && isSweepDir(p))
    .sort();
}
