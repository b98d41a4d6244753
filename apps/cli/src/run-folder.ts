import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { configHash, toYaml } from '@vaelab/config';
import type { BackendSelection } from '@vaelab/core';
import type { MetricsRecord } from '@vaelab/trainers';

/* The run folder of DESIGN §5. Files are written whole (temp file + rename), metrics appended. */

export const RUN_FILES = {
  config: 'config.yaml',
  overrides: 'overrides.yaml',
  meta: 'meta.json',
  metrics: 'metrics.jsonl',
  summary: 'summary.json',
  checkpoint: join('checkpoints', 'latest'),
} as const;

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

/** `<out>/<experiment>/<timestamp>[-<job>]`, made unique if a run started in the same second. */
export function createRunDir(outDir: string, experiment: string, job?: number, now = new Date()): string {
  const base = join(outDir, experiment, `${stamp(now)}${job === undefined ? '' : `-job${job}`}`);
  mkdirSync(join(outDir, experiment), { recursive: true });
  // mkdir without `recursive` fails when the folder exists, so two processes started in the same
  // second cannot share a folder (checking existsSync first would race).
  for (let i = 0; ; i++) {
    const dir = i === 0 ? base : `${base}.${i}`;
    try {
      mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    mkdirSync(join(dir, 'checkpoints'));
    return dir;
  }
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
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
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
  backend: { requested: string; name: string; package: string | null };
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
    backend: { requested: args.backend.requested, name: args.backend.name, package: args.backend.package ?? null },
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

export function appendMetrics(dir: string, record: MetricsRecord): void {
  appendFileSync(join(dir, RUN_FILES.metrics), `${JSON.stringify(record)}\n`);
}

export function readMetrics(dir: string): MetricsRecord[] {
  const path = join(dir, RUN_FILES.metrics);
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  const records: MetricsRecord[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      records.push(JSON.parse(line) as MetricsRecord);
    } catch (e) {
      // A crash in the middle of an append leaves a partial last line: drop it (resume rewrites
      // the file). A bad line anywhere else is damage to report.
      if (i === lines.length - 1) break;
      throw new Error(`${path}:${i + 1}: not a JSON line (${(e as Error).message})`);
    }
  }
  return records;
}

export function readSummary(dir: string): Record<string, unknown> {
  const path = join(dir, RUN_FILES.summary);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
}

/** On resume: drop records logged after the checkpoint (a crash between metrics and checkpoint). */
export function truncateMetrics(dir: string, upToStep: number): void {
  const kept = readMetrics(dir).filter((r) => r.step <= upToStep);
  writeFileAtomic(join(dir, RUN_FILES.metrics), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
}
