import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toYaml } from '@vaelab/config';
import { VaeLabError } from '@vaelab/core';
import { renderRunReport, renderSweepReport } from '@vaelab/eval';
import { RUN_FILES, collectResults, isSweepDir, readRun, readRunImages } from '@vaelab/runs';
import type { Io } from './io.js';

/* `vaelab report <run|sweep>`: one self-contained HTML file (config, curves, evaluation, every image; or a sweep's table). */

export interface ReportFlags {
  out?: string;
  metrics?: string;
}

export const DEFAULT_REPORT_METRICS = ['loss', 'reconstruction', 'kl', 'eval.log_likelihood'];

export function parseReportFlags(flags: ReportFlags): { out: string | null; metrics: string[] } {
  if (flags.out !== undefined && !/\.html?$/i.test(flags.out)) throw new VaeLabError(`report: -o must name an .html file, got '${flags.out}'`);
  const metrics = flags.metrics === undefined ? DEFAULT_REPORT_METRICS : flags.metrics.split(',').map((m) => m.trim());
  if (metrics.some((m) => !/^[\w.]+$/.test(m))) throw new VaeLabError(`report: --metrics must be comma-separated metric names (e.g. loss,eval.log_likelihood), got '${flags.metrics}'`);
  return { out: flags.out ?? null, metrics };
}

/** Write the report of a run or sweep folder; returns the HTML file's path. */
export function writeReport(dir: string, opts: { out: string | null; metrics: string[] }): string {
  if (!existsSync(dir)) throw new VaeLabError(`report: ${dir} does not exist`);
  const out = opts.out ?? join(dir, 'report.html');
  let html: string;
  if (isSweepDir(dir)) {
    const table = collectResults([dir], { metrics: opts.metrics });
    html = renderSweepReport({
      title: `Sweep ${dir.split(/[\\/]/).slice(-2).join('/')}`,
      dir,
      columns: table.metrics,
      runs: table.rows.map((r) => ({ name: r.name, overrides: Object.entries(r.params).map(([k, v]) => `${k}=${v}`), status: r.state, values: r.values })),
    });
  } else {
    if (!existsSync(join(dir, RUN_FILES.config))) throw new VaeLabError(`report: ${dir} is neither a run folder (no ${RUN_FILES.config}) nor a sweep folder`);
    const run = readRun(dir);
    html = renderRunReport({
      title: `${String(run.meta.experiment ?? 'run')} — ${dir.split(/[\\/]/).at(-1)}`,
      dir,
      configYaml: toYaml(run.config),
      overrides: run.overrides,
      meta: run.meta as unknown as Record<string, unknown>,
      summary: run.summary,
      eval: run.eval,
      metrics: run.metrics as unknown as Record<string, unknown>[],
      images: readRunImages(dir).map((img) => ({ name: img.name, caption: img.caption, png: new Uint8Array(readFileSync(img.path)) })),
    });
  }
  writeFileSync(out, html);
  return out;
}

export async function reportCommand(dirArg: string, flags: ReportFlags, io: Io): Promise<number> {
  const s = parseReportFlags(flags);
  const out = writeReport(resolve(io.cwd, dirArg), { out: s.out === null ? null : resolve(io.cwd, s.out), metrics: s.metrics });
  io.out(`wrote ${out}`);
  return 0;
}
