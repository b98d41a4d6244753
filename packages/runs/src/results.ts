import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RunFolderError } from './errors.js';
import { RUN_FILES } from './files.js';
import { type RunRecord, readRun } from './run-folder.js';
import { type JobState, isSweepDir, listSweeps, readSweep } from './sweep-folder.js';

/*
 * Results over runs: one row per run (its swept values and chosen metrics), then groups over
 * seeds with mean, standard deviation and n. Pure functions over the folders' files, so that the
 * CLI's `results`, reports and a browser explorer compute the same numbers.
 */

/** One run in a results table. */
export interface ResultRow {
  /** The run folder. */
  dir: string;
  /** The job's name in its sweep, or the run folder's name. */
  name: string;
  /** The job's status (sweeps), or the run's summary status; `unknown` while a run has no summary. */
  state: JobState | 'unknown';
  /** Swept values as written on the command line (`'4'`, `'vamp'`); '' where a run did not set the key. */
  params: Record<string, string>;
  /** The chosen metrics; null where the run has no finite number for one. */
  values: Record<string, number | null>;
  /** Why a failed run failed, in one line. */
  error: string | null;
}

export interface ResultTable {
  /** The swept keys, in the order they were swept. */
  params: string[];
  metrics: string[];
  rows: ResultRow[];
}

/** Statistics of one metric over the completed runs of a group. */
export interface MetricStats {
  mean: number | null;
  /** Sample standard deviation (n − 1 in the denominator); null when n < 2. */
  std: number | null;
  n: number;
}

export interface ResultGroup {
  /** The group's values of the swept keys that are not averaged over. */
  params: Record<string, string>;
  rows: ResultRow[];
  stats: Record<string, MetricStats>;
  completed: number;
  failed: number;
  /** Runs neither completed nor failed: pending, running, interrupted or without a summary. */
  unfinished: number;
}

function at(value: unknown, path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * A metric of a run, by name. `summary.<path>`, `eval.<path>` and `last.<key>` (the last record
 * of metrics.jsonl) say where to look; a bare name is looked up in summary.json, then eval.json,
 * then the last test record, then the last record of metrics.jsonl. Dots walk into objects:
 * `test.kl` is summary.json's `test.kl`, `eval.log_likelihood` eval.json's `log_likelihood`.
 */
export function metricValue(run: Pick<RunRecord, 'summary' | 'eval' | 'metrics'>, metric: string): number | null {
  const path = metric.split('.');
  const [head, ...rest] = path;
  const last = run.metrics.at(-1);
  const lastTest = run.metrics.filter((r) => r.split === 'test').at(-1);
  if (head === 'summary' && rest.length) return finite(at(run.summary, rest));
  if (head === 'eval' && rest.length) return finite(at(run.eval, rest));
  if (head === 'last' && rest.length) return finite(at(last, rest));
  for (const source of [run.summary, run.eval, lastTest, last]) {
    const value = finite(at(source, path));
    if (value !== null) return value;
  }
  return null;
}

/** `key=value`, `+key=value` → [key, value]; deletes and experiment= are not parameters. */
function splitOverride(raw: string): [string, string] | undefined {
  const m = /^\+?([^=~+][^=]*)=(.*)$/s.exec(raw.trim());
  if (!m || m[1] === 'experiment') return undefined;
  return [m[1]!.trim(), m[2]!.trim()];
}

function stateOfSummary(summary: Record<string, unknown>): ResultRow['state'] {
  const status = summary.status;
  if (status === 'completed' || status === 'interrupted' || status === 'failed') return status;
  if (status === 'non-finite') return 'failed';
  return 'unknown';
}

function summaryError(summary: Record<string, unknown>): string | null {
  return typeof summary.error === 'string' ? summary.error.split('\n')[0]! : null;
}

/** The run folders and sweep folders that `paths` name: a sweep, a run, or a folder of sweeps (`<out>/<experiment>`). */
function expand(paths: string[]): { sweeps: string[]; runs: string[] } {
  const sweeps: string[] = [];
  const runs: string[] = [];
  for (const p of paths.map((x) => resolve(x))) {
    if (!existsSync(p) || !statSync(p).isDirectory()) throw new RunFolderError(`no run or sweep folder at ${p}`, p);
    if (isSweepDir(p)) sweeps.push(p);
    else if (existsSync(join(p, RUN_FILES.config))) runs.push(p);
    else {
      const inside = listSweeps(p);
      if (!inside.length) throw new RunFolderError(`${p} is neither a run folder (no ${RUN_FILES.config}) nor a sweep folder (no sweep.yaml), and holds no sweep folders`, p);
      sweeps.push(...inside);
    }
  }
  return { sweeps, runs };
}

/**
 * One row per run of the sweeps and run folders in `paths`, with the chosen metrics. The
 * parameters are the swept keys of the sweeps; for loose run folders, the override keys whose
 * values differ between them.
 */
export function collectResults(paths: string[], opts: { metrics: string[] }): ResultTable {
  const { sweeps, runs } = expand(paths);
  const params: string[] = [];
  const addParam = (k: string) => {
    if (!params.includes(k)) params.push(k);
  };
  const rows: ResultRow[] = [];
  const values = (run: RunRecord | undefined) =>
    Object.fromEntries(opts.metrics.map((m) => [m, run ? metricValue(run, m) : null])) as Record<string, number | null>;

  for (const dir of sweeps) {
    const sweep = readSweep(dir);
    for (const p of sweep.manifest.parameters) addParam(p.key);
    for (const j of sweep.jobs) {
      rows.push({
        dir: j.dir,
        name: j.job.name,
        state: j.status.state,
        params: { ...j.job.params },
        values: values(j.run),
        error: j.status.error ?? (j.run ? summaryError(j.run.summary) : null),
      });
    }
  }

  const loose = runs.map((dir) => readRun(dir));
  const overrides = loose.map((r) => new Map(r.overrides.map(splitOverride).filter((x): x is [string, string] => x !== undefined)));
  const keys = [...new Set(overrides.flatMap((m) => [...m.keys()]))];
  const varying = keys.filter((k) => new Set(overrides.map((m) => m.get(k) ?? '')).size > 1);
  for (const k of varying) addParam(k);
  loose.forEach((run, i) => {
    rows.push({
      dir: run.dir,
      name: run.dir.split(/[\\/]/).at(-1)!,
      state: stateOfSummary(run.summary),
      params: Object.fromEntries(varying.map((k) => [k, overrides[i]!.get(k) ?? ''])),
      values: values(run),
      error: summaryError(run.summary),
    });
  });
  for (const row of rows) for (const k of params) row.params[k] ??= '';
  return { params, metrics: [...opts.metrics], rows };
}

/** Mean, sample standard deviation (n − 1) and n of the numbers; mean null for none, std null for fewer than two. */
export function meanStd(values: readonly number[]): MetricStats {
  const n = values.length;
  if (n === 0) return { mean: null, std: null, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, std: null, n };
  const ss = values.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}

/**
 * Rows grouped by every parameter except those in `over` (default: `seed`), in the order groups
 * first appear. Statistics use the completed runs only; failed and unfinished runs are counted.
 */
export function groupResults(table: ResultTable, opts: { over?: readonly string[] } = {}): ResultGroup[] {
  const over = new Set(opts.over ?? ['seed']);
  const keys = table.params.filter((k) => !over.has(k));
  const groups = new Map<string, ResultGroup>();
  for (const row of table.rows) {
    const params = Object.fromEntries(keys.map((k) => [k, row.params[k] ?? '']));
    const id = JSON.stringify(keys.map((k) => params[k]));
    let group = groups.get(id);
    if (!group) {
      group = { params, rows: [], stats: {}, completed: 0, failed: 0, unfinished: 0 };
      groups.set(id, group);
    }
    group.rows.push(row);
  }
  for (const group of groups.values()) {
    const done = group.rows.filter((r) => r.state === 'completed');
    group.completed = done.length;
    group.failed = group.rows.filter((r) => r.state === 'failed').length;
    group.unfinished = group.rows.length - group.completed - group.failed;
    for (const m of table.metrics) {
      group.stats[m] = meanStd(done.map((r) => r.values[m]).filter((v): v is number => v !== null && v !== undefined));
    }
  }
  return [...groups.values()];
}

/**
 * A number for a table: two decimals, or three significant digits when it is small. With `like`,
 * as many decimals as `like` gets (a standard deviation printed like its mean).
 */
export function formatNumber(x: number, like: number = x): string {
  if (!Number.isFinite(x)) return String(x);
  if (like === 0 || Math.abs(like) >= 0.1) return x.toFixed(2);
  return like === x ? x.toPrecision(3) : x.toFixed(Math.max(2, 3 - Math.floor(Math.log10(Math.abs(like))) - 1));
}

function cell(s: MetricStats, completed: number): string {
  if (s.mean === null) return '—';
  const text = s.std === null ? formatNumber(s.mean) : `${formatNumber(s.mean)} ± ${formatNumber(s.std, s.mean)}`;
  return s.n !== completed ? `${text} (n=${s.n})` : text;
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|');

/**
 * A markdown table: the parameters that were not averaged over, each metric as mean ± std, n
 * (completed runs) and the failed or unfinished runs; below it, each failed job with its error.
 */
export function resultsMarkdown(table: ResultTable, groups: ResultGroup[], opts: { over?: readonly string[] } = {}): string {
  const over = new Set(opts.over ?? ['seed']);
  const keys = table.params.filter((k) => !over.has(k));
  const anyUnfinished = groups.some((g) => g.unfinished > 0);
  const header = [...keys.map((k) => `\`${k}\``), ...table.metrics, 'n', 'failed', ...(anyUnfinished ? ['unfinished'] : [])];
  const align = [...keys.map(() => '---'), ...table.metrics.map(() => '---:'), '---:', '---:', ...(anyUnfinished ? ['---:'] : [])];
  const lines = [`| ${header.join(' | ')} |`, `| ${align.join(' | ')} |`];
  for (const g of groups) {
    const cells = [
      ...keys.map((k) => escapeCell(g.params[k] ?? '')),
      ...table.metrics.map((m) => cell(g.stats[m]!, g.completed)),
      String(g.completed),
      g.failed ? `**${g.failed}**` : '0',
      ...(anyUnfinished ? [String(g.unfinished)] : []),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const failed = table.rows.filter((r) => r.state !== 'completed');
  if (failed.length) {
    lines.push('');
    for (const r of failed) lines.push(`- ${r.name}: ${r.state}${r.error ? ` — ${r.error}` : ''}`);
  }
  return lines.join('\n');
}

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const s = String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line per group: the parameters, `<metric>_mean`, `<metric>_std`, `<metric>_n`, completed, failed, unfinished. */
export function resultsCsv(table: ResultTable, groups: ResultGroup[], opts: { over?: readonly string[] } = {}): string {
  const over = new Set(opts.over ?? ['seed']);
  const keys = table.params.filter((k) => !over.has(k));
  const header = [...keys, ...table.metrics.flatMap((m) => [`${m}_mean`, `${m}_std`, `${m}_n`]), 'completed', 'failed', 'unfinished'];
  const lines = [header.map(csvField).join(',')];
  for (const g of groups) {
    lines.push(
      [
        ...keys.map((k) => g.params[k] ?? ''),
        ...table.metrics.flatMap((m) => [g.stats[m]!.mean, g.stats[m]!.std, g.stats[m]!.n]),
        g.completed,
        g.failed,
        g.unfinished,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
