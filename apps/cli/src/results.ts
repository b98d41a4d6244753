import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VaeLabError } from '@vaelab/core';
import { collectResults, groupResults, isSweepDir, resultsCsv, resultsMarkdown } from '@vaelab/runs';
import type { Io } from './io.js';
import { curvesSpec, metricPlotSpec, writePlot } from './plot.js';

/** `vaelab results`: a table (and plots) over sweeps and runs; the numbers come from @vaelab/runs. */

export interface ResultsFlags {
  metrics?: string;
  over?: string;
  csv?: string;
  json?: string;
  plot?: string;
  x?: string;
  color?: string;
  curves?: string;
  split?: string;
  plotDir?: string;
  title?: string;
}

class ResultsUsageError extends VaeLabError {}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A file name from a metric or key: `eval.log_likelihood` stays, `a/b` does not. */
const fileSafe = (s: string) => s.replace(/[^A-Za-z0-9._=-]+/g, '-');

export async function resultsCommand(paths: string[], flags: ResultsFlags, io: Io): Promise<number> {
  const metrics = list(flags.metrics ?? 'test_loss');
  if (!metrics.length) throw new ResultsUsageError('--metrics names no metric');
  if (flags.plot && !flags.x) throw new ResultsUsageError('--plot needs --x: a swept key (objective.beta) or a metric (test.reconstruction)');
  if (flags.x && !flags.plot) throw new ResultsUsageError('--x goes with --plot METRIC');
  // Plotted metrics are read too, so `--plot test.kl --x test.reconstruction` needs no --metrics.
  if (flags.plot && !metrics.includes(flags.plot)) metrics.push(flags.plot);
  const over = flags.over === undefined ? ['seed'] : list(flags.over);
  const absolute = paths.map((p) => resolve(io.cwd, p));
  let table = collectResults(absolute, { metrics });
  if (flags.x && !table.params.includes(flags.x) && !metrics.includes(flags.x)) {
    metrics.push(flags.x); // --x names a metric (a rate-distortion plot), not a swept key
    table = collectResults(absolute, { metrics });
  }
  if (flags.plot && flags.x && !table.params.includes(flags.x) && !metrics.includes(flags.x)) {
    throw new ResultsUsageError(`--x ${flags.x} is neither a swept key (${table.params.join(', ') || 'none'}) nor a metric`);
  }
  if (!table.rows.length) throw new ResultsUsageError(`no runs in ${absolute.join(', ')}`);
  const groups = groupResults(table, { over });
  io.out(resultsMarkdown(table, groups, { over }));

  if (flags.csv) {
    writeFileSync(resolve(io.cwd, flags.csv), resultsCsv(table, groups, { over }));
    io.err(`wrote ${resolve(io.cwd, flags.csv)}`);
  }
  if (flags.json) {
    const json = { params: table.params, metrics: table.metrics, over, groups: groups.map(({ rows, ...g }) => ({ ...g, runs: rows.map((r) => r.name) })), rows: table.rows };
    writeFileSync(resolve(io.cwd, flags.json), `${JSON.stringify(json, null, 2)}\n`);
    io.err(`wrote ${resolve(io.cwd, flags.json)}`);
  }
  if (flags.plot || flags.curves) {
    const plotDir = resolve(io.cwd, flags.plotDir ?? (absolute.length === 1 && isSweepDir(absolute[0]!) ? join(absolute[0]!, 'plots') : 'plots'));
    mkdirSync(plotDir, { recursive: true });
    if (flags.plot) {
      const spec = metricPlotSpec(table, { metric: flags.plot, x: flags.x!, color: flags.color, title: flags.title });
      for (const f of await writePlot(spec, join(plotDir, fileSafe(`${flags.plot}_vs_${flags.x}`)))) io.err(`wrote ${f}`);
    }
    if (flags.curves) {
      const spec = curvesSpec(table, { metric: flags.curves, split: flags.split ?? 'test', color: flags.color, over, title: flags.title });
      for (const f of await writePlot(spec, join(plotDir, fileSafe(`curves_${flags.split ?? 'test'}_${flags.curves}`)))) io.err(`wrote ${f}`);
    }
  }
  return 0;
}
