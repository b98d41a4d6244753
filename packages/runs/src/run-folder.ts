import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { configHash, parseYaml, toYaml } from '@vaelab/config';
import type { BackendSelection } from '@vaelab/core';
import { RunFolderError } from './errors.js';
import { RUN_FILES } from './files.js';
import { checkOutDir, makeFolders } from './out-dir.js';

/* The run folder of DESIGN §5. Files are written whole (temp file + rename), metrics appended. */

export { RUN_FILES } from './files.js';

/**
 * One line of metrics.jsonl: terms in nats per example. Structurally the trainer's
 * `MetricsRecord` (this package does not depend on @vaelab/trainers).
 */
export interface RunMetricsRecord {
  step: number;
  epoch: number;
  split: string;
  loss: number;
  /** Seconds since the run started, when the writer records it. */
  time?: number;
  /** Scalar terms are numbers; per-dimension vectors (e.g. kl_per_dim) are arrays. */
  [term: string]: number | string | number[] | undefined;
}

export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

/** More runs than this in one second under one name means something else is wrong. */
const MAX_RUN_DIR_TRIES = 1000;

/**
 * `<out>/<experiment>/<timestamp>[-<job>]`, made unique if a run started in the same second.
 * The out folder is checked first (`checkOutDir`), so a bad one fails at once with a reason.
 */
export function createRunDir(outDir: string, experiment: string, job?: number, now = new Date()): string {
  checkOutDir(outDir);
  const base = join(outDir, experiment, `${stamp(now)}${job === undefined ? '' : `-job${job}`}`);
  makeFolders(join(outDir, experiment));
  // mkdir without `recursive` fails when the folder exists, so two processes started in the same
  // second cannot share a folder (checking existsSync first would race).
  for (let i = 0; i < MAX_RUN_DIR_TRIES; i++) {
    const dir = i === 0 ? base : `${base}.${i}`;
    try {
      mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    mkdirSync(join(dir, RUN_FILES.checkpoints));
    return dir;
  }
  throw new RunFolderError(
    `cannot create a run folder: ${base} and ${MAX_RUN_DIR_TRIES - 1} numbered variants (${base}.1 …) all exist or mkdir keeps answering EEXIST`,
    base,
  );
}

const PACKAGES = [
  '@vaelab/core',
  '@vaelab/config',
  '@vaelab/data',
  '@vaelab/networks',
  '@vaelab/priors',
  '@vaelab/posteriors',
  '@vaelab/likelihoods',
  '@vaelab/objectives',
  '@vaelab/trainers',
  '@vaelab/eval',
  '@vaelab/runs',
  '@vaelab/cli',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-cpu',
];

export function packageVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const out: Record<string, string> = {};
  for (const name of PACKAGES) {
    try {
      out[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      out[name] = 'unknown';
    }
  }
  return out;
}

export function gitCommit(cwd: string): { commit: string | null; dirty: boolean | null } {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' });
  if (head.status !== 0) return { commit: null, dirty: null };
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' });
  return { commit: head.stdout.trim(), dirty: status.status === 0 ? status.stdout.trim().length > 0 : null };
}

export interface Meta {
  experiment: string;
  seed: number;
  /** threads: what the backend computes with (wasm's thread count, 1 for cpu; null for tensorflow). */
  backend: { requested: string; name: string; package: string | null; threads: number | null };
  versions: Record<string, string>;
  node: string;
  platform: string;
  git: { commit: string | null; dirty: boolean | null };
  config_hash: string;
  command: string[];
  started_at: string;
}

export function writeRunStart(
  dir: string,
  args: {
    experiment: string;
    config: Record<string, unknown>;
    overrides: string[];
    backend: BackendSelection;
    seed: number;
    command: string[];
    cwd: string;
  },
): Meta {
  writeFileAtomic(join(dir, RUN_FILES.config), toYaml(args.config));
  writeFileAtomic(join(dir, RUN_FILES.overrides), toYaml(args.overrides));
  const meta: Meta = {
    experiment: args.experiment,
    seed: args.seed,
    backend: {
      requested: args.backend.requested,
      name: args.backend.name,
      package: args.backend.package ?? null,
      threads: args.backend.threads ?? null,
    },
    versions: packageVersions(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    git: gitCommit(args.cwd),
    config_hash: configHash(args.config),
    command: args.command,
    started_at: new Date().toISOString(),
  };
  writeJson(join(dir, RUN_FILES.meta), meta);
  return meta;
}

export function appendMetrics(dir: string, record: RunMetricsRecord): void {
  appendFileSync(join(dir, RUN_FILES.metrics), `${JSON.stringify(record)}\n`);
}

export function readMetrics(dir: string): RunMetricsRecord[] {
  const path = join(dir, RUN_FILES.metrics);
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  const records: RunMetricsRecord[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      records.push(JSON.parse(line) as RunMetricsRecord);
    } catch (e) {
      // A crash in the middle of an append leaves a partial last line: drop it (resume rewrites
      // the file). A bad line anywhere else is damage to report.
      if (i === lines.length - 1) break;
      throw new RunFolderError(`${path}:${i + 1}: not a JSON line (${(e as Error).message})`, path, { cause: e });
    }
  }
  return records;
}

/** A run file's text; undefined when it is absent, an error naming the file when it cannot be read. */
function readTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RunFolderError(`cannot read ${path}: ${(e as Error).message}`, path, { cause: e });
  }
}

/** Parse a JSON file of the run; undefined when it is absent, an error naming the file when it is damaged. */
export function readJsonFile(path: string): unknown {
  const text = readTextFile(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new RunFolderError(`${path}: not valid JSON (${(e as Error).message})`, path, { cause: e });
  }
}

function readJsonObject(path: string): Record<string, unknown> | undefined {
  const value = readJsonFile(path);
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new RunFolderError(`${path}: expected a JSON object, found ${Array.isArray(value) ? 'an array' : String(value)}`, path);
  }
  return value as Record<string, unknown>;
}

/** Parse a YAML file of the run; undefined when it is absent, an error naming the file (and line) when it is damaged. */
export function readYamlValue(path: string): unknown {
  const text = readTextFile(path);
  if (text === undefined) return undefined;
  try {
    return parseYaml(text, path).value;
  } catch (e) {
    // ConfigError's message already starts with the file and line.
    throw new RunFolderError((e as Error).message, path, { cause: e });
  }
}

/** summary.json, or `{}` before the run has finished. */
export function readSummary(dir: string): Record<string, unknown> {
  return readJsonObject(join(dir, RUN_FILES.summary)) ?? {};
}

/** eval.json (written by `vaelab eval`), or undefined when the run has not been evaluated. */
export function readEval(dir: string): Record<string, unknown> | undefined {
  return readJsonObject(join(dir, RUN_FILES.eval));
}

/** Everything a tool reads from a run folder, parsed. */
export interface RunRecord {
  dir: string;
  /** config.yaml: the resolved config. */
  config: Record<string, unknown>;
  /** overrides.yaml: what the command line changed (`[]` when absent). */
  overrides: string[];
  meta: Meta;
  /** summary.json, `{}` before the run finished. */
  summary: Record<string, unknown>;
  /** eval.json, when the run has been evaluated. */
  eval: Record<string, unknown> | undefined;
  metrics: RunMetricsRecord[];
}

/**
 * Read a run folder. config.yaml and meta.json must exist (they are written when the run starts);
 * the rest may be missing. Every error is a `RunFolderError` naming the file.
 */
export function readRun(dir: string): RunRecord {
  let stats;
  try {
    stats = statSync(dir);
  } catch {
    throw new RunFolderError(`no run folder at ${dir}`, dir);
  }
  if (!stats.isDirectory()) throw new RunFolderError(`${dir} is not a run folder (it is a file)`, dir);

  const configPath = join(dir, RUN_FILES.config);
  const config = readYamlValue(configPath);
  if (config === undefined) throw new RunFolderError(`${configPath} is missing: ${dir} is not a run folder (or its start was interrupted)`, configPath);
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new RunFolderError(`${configPath}: expected a mapping at the top level`, configPath);
  }

  const overridesPath = join(dir, RUN_FILES.overrides);
  const overrides = readYamlValue(overridesPath) ?? [];
  if (!Array.isArray(overrides) || !overrides.every((o) => typeof o === 'string')) {
    throw new RunFolderError(`${overridesPath}: expected a list of override strings`, overridesPath);
  }

  return {
    dir,
    config: config as Record<string, unknown>,
    overrides: overrides as string[],
    meta: readMeta(dir),
    summary: readSummary(dir),
    eval: readEval(dir),
    metrics: readMetrics(dir),
  };
}

/** A run folder's meta.json; a `RunFolderError` naming the file when it is missing or not an object. */
export function readMeta(dir: string): Meta {
  const metaPath = join(dir, RUN_FILES.meta);
  const meta = readJsonObject(metaPath);
  if (meta === undefined) throw new RunFolderError(`${metaPath} is missing: ${dir} is not a run folder (or its start was interrupted)`, metaPath);
  return meta as unknown as Meta;
}

/** On resume: drop records logged after the checkpoint (a crash between metrics and checkpoint). */
export function truncateMetrics(dir: string, upToStep: number): void {
  const kept = readMetrics(dir).filter((r) => r.step <= upToStep);
  writeFileAtomic(join(dir, RUN_FILES.metrics), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
}
