/*
 * One self-contained HTML page for a run or a sweep: no network, no CDN, no script — charts are
 * inline SVG, images are inline PNG (data: URLs), styles are inline. It opens from a file, offline,
 * in any browser, and can be mailed as one attachment.
 */

export interface ReportImage {
  /** File name inside the run's images/ folder. */
  name: string;
  caption: string;
  png: Uint8Array;
}

/** One learning-curve series: a metric of one split over steps. */
export interface CurveSeries {
  name: string;
  points: [number, number][];
}

export interface RunReportInput {
  title: string;
  /** Where the run folder is (shown, not linked). */
  dir: string;
  configYaml: string;
  overrides: string[];
  meta: Record<string, unknown>;
  summary: Record<string, unknown>;
  eval?: Record<string, unknown> | undefined;
  /** metrics.jsonl records. */
  metrics: Record<string, unknown>[];
  images: ReportImage[];
}

export interface SweepRun {
  name: string;
  /** The overrides that tell this job from the others. */
  overrides: string[];
  status: string;
  values: Record<string, number | null>;
}

export interface SweepReportInput {
  title: string;
  dir: string;
  runs: SweepRun[];
  /** Metric columns of the table, in order; the first is plotted. */
  columns: string[];
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4);
  if (v === null || v === undefined) return '—';
  if (Array.isArray(v)) return v.length > 12 ? `[${v.slice(0, 12).map(fmt).join(', ')}, … ${v.length} values]` : `[${v.map(fmt).join(', ')}]`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/** A line chart as inline SVG, with axes, ticks, labels and a legend. */
export function lineChart(series: CurveSeries[], opts: { title: string; xLabel: string; yLabel: string; width?: number; height?: number }): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 320;
  const m = { left: 64, right: 150, top: 28, bottom: 44 };
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (all.length === 0) return `<p class="empty">${escapeHtml(opts.title)}: no finite values to plot.</p>`;
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ((y1 - y) / (y1 - y0)) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(opts.title)}">`);
  parts.push(`<text x="${m.left}" y="18" font-size="14" font-weight="bold">${escapeHtml(opts.title)}</text>`);
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${(sy(t) + 4).toFixed(1)}" font-size="11" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1)) {
    parts.push(`<text x="${sx(t).toFixed(1)}" y="${m.top + ph + 16}" font-size="11" text-anchor="middle">${fmt(t)}</text>`);
  }
  parts.push(`<text x="${m.left + pw / 2}" y="${height - 6}" font-size="12" text-anchor="middle">${escapeHtml(opts.xLabel)}</text>`);
  parts.push(`<text x="14" y="${m.top + ph / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${m.top + ph / 2})">${escapeHtml(opts.yLabel)}</text>`);
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
    if (pts.length <= 40) for (const [x, y] of pts) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${colour}"/>`);
    const ly = m.top + 10 + i * 18;
    parts.push(`<line x1="${m.left + pw + 12}" x2="${m.left + pw + 32}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<text x="${m.left + pw + 38}" y="${ly + 4}" font-size="12">${escapeHtml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** A horizontal bar chart as inline SVG (one bar per named value; null values are skipped). */
export function barChart(bars: { name: string; value: number | null }[], opts: { title: string; label: string }): string {
  const shown = bars.filter((b): b is { name: string; value: number } => b.value !== null && Number.isFinite(b.value));
  if (shown.length === 0) return `<p class="empty">${escapeHtml(opts.title)}: no values to plot.</p>`;
  const rowH = 22;
  const left = Math.min(360, 12 + 7 * Math.max(...shown.map((b) => b.name.length)));
  const pw = 360;
  const width = left + pw + 90;
  const height = 40 + rowH * shown.length + 30;
  const lo = Math.min(0, ...shown.map((b) => b.value));
  const hi = Math.max(0, ...shown.map((b) => b.value));
  const sx = (v: number) => left + ((v - lo) / (hi - lo || 1)) * pw;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(opts.title)}">`];
  parts.push(`<text x="8" y="18" font-size="14" font-weight="bold">${escapeHtml(opts.title)}</text>`);
  shown.forEach((b, i) => {
    const y = 32 + i * rowH;
    const [a, c] = [sx(Math.min(0, b.value)), sx(Math.max(0, b.value))];
    parts.push(`<text x="${left - 6}" y="${y + 14}" font-size="12" text-anchor="end">${escapeHtml(b.name)}</text>`);
    parts.push(`<rect x="${a.toFixed(1)}" y="${y + 3}" width="${Math.max(1, c - a).toFixed(1)}" height="${rowH - 6}" fill="${PALETTE[0]}"/>`);
    parts.push(`<text x="${(c + 4).toFixed(1)}" y="${y + 14}" font-size="11">${fmt(b.value)}</text>`);
  });
  parts.push(`<text x="${left + pw / 2}" y="${height - 8}" font-size="12" text-anchor="middle">${escapeHtml(opts.label)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

const STYLE = `
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; font-size: .9rem; }
th { background: #f5f5f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; padding: .8rem; overflow: auto; font-size: .85rem; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; image-rendering: pixelated; border: 1px solid #ddd; }
figcaption { font-size: .9rem; color: #444; margin-top: .3rem; max-width: 900px; } .empty { color: #777; } .muted { color: #777; font-size: .85rem; }
`;

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">` +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>\n${body}\n</body></html>\n`;
}

function keyValueTable(rows: [string, unknown][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td class="${typeof v === 'number' ? 'num' : ''}">${escapeHtml(fmt(v))}</td></tr>`).join('')}</table>`;
}

/** The learning curves of metrics.jsonl: loss per split over steps, and each term of the test split. */
export function learningCurves(metrics: Record<string, unknown>[]): string[] {
  const splits = [...new Set(metrics.map((r) => String(r.split)))];
  const series = (key: string) =>
    splits
      .map((split) => ({
        name: split,
        points: metrics.filter((r) => r.split === split && typeof r[key] === 'number' && typeof r.step === 'number').map((r) => [r.step as number, r[key] as number] as [number, number]),
      }))
      .filter((s) => s.points.length > 0);
  const charts = [lineChart(series('loss'), { title: 'Loss (nats per example) by split', xLabel: 'step', yLabel: 'loss' })];
  const skip = new Set(['step', 'epoch', 'split', 'loss', 'time', 'lr', 'learning_rate']);
  const terms = [...new Set(metrics.flatMap((r) => Object.keys(r).filter((k) => !skip.has(k) && typeof r[k] === 'number')))];
  for (const term of terms.slice(0, 8)) {
    const s = series(term);
    if (s.some((x) => x.points.length > 1)) charts.push(lineChart(s, { title: `${term} by split`, xLabel: 'step', yLabel: term }));
  }
  return charts;
}

/** The HTML report of one run: what it was, how it trained, how it evaluates, and every picture it has. */
export function renderRunReport(input: RunReportInput): string {
  const { meta } = input;
  const git = meta.git as { commit?: string | null; dirty?: boolean | null } | undefined;
  const backend = meta.backend as { name?: string } | undefined;
  const about: [string, unknown][] = [
    ['run folder', input.dir],
    ['experiment', meta.experiment],
    ['seed', meta.seed],
    ['backend', backend?.name],
    ['config hash', meta.config_hash],
    ['git commit', git?.commit ? `${git.commit}${git.dirty ? ' (with uncommitted changes)' : ''}` : null],
    ['started', meta.started_at],
    ['node', meta.node],
    ['overrides', input.overrides.join(' ') || '(none)'],
  ];
  const sections: string[] = [`<h1>${escapeHtml(input.title)}</h1>`, `<p class="muted">VAE Lab run report, written ${escapeHtml(new Date().toISOString())}.</p>`];
  sections.push('<h2>Run</h2>', keyValueTable(about));
  const summaryRows = Object.entries(input.summary).filter(([, v]) => typeof v !== 'object' || v === null);
  sections.push('<h2>Result</h2>', summaryRows.length ? keyValueTable(summaryRows) : '<p class="empty">No summary.json: the run has not finished.</p>');
  if (input.eval) {
    const { kl_per_dim: klPerDim, latent_variances: variances, ...rest } = input.eval;
    sections.push('<h2>Evaluation (vaelab eval)</h2>', keyValueTable(Object.entries(rest)));
    if (Array.isArray(klPerDim)) {
      sections.push(barChart((klPerDim as number[]).map((v, j) => ({ name: `z${j + 1}`, value: v })), { title: 'KL per latent dimension', label: 'nats per example' }));
    }
    if (Array.isArray(variances)) {
      sections.push(barChart((variances as number[]).map((v, j) => ({ name: `z${j + 1}`, value: v })), { title: 'Variance of the posterior mean per dimension (active units: > 0.01)', label: 'Var_x E_q[z_j]' }));
    }
  }
  sections.push('<h2>Learning curves</h2>');
  sections.push(input.metrics.length ? learningCurves(input.metrics).map((c) => `<figure>${c}</figure>`).join('\n') : '<p class="empty">No metrics.jsonl records.</p>');
  sections.push('<h2>Images</h2>');
  if (input.images.length === 0) sections.push('<p class="empty">No images yet: vaelab eval, sample, interpolate, traverse, edit and latent write them.</p>');
  for (const img of input.images) {
    sections.push(
      `<figure><img src="data:image/png;base64,${base64(img.png)}" alt="${escapeHtml(img.caption)}"><figcaption><b>${escapeHtml(img.name)}</b> — ${escapeHtml(img.caption)}</figcaption></figure>`,
    );
  }
  sections.push('<h2>Config</h2>', `<pre>${escapeHtml(input.configYaml)}</pre>`);
  return page(input.title, sections.join('\n'));
}

/** The HTML report of a sweep: one row per job with its overrides and metrics, and a chart of the first metric. */
export function renderSweepReport(input: SweepReportInput): string {
  const sections: string[] = [`<h1>${escapeHtml(input.title)}</h1>`, `<p class="muted">VAE Lab sweep report for ${escapeHtml(input.dir)}, written ${escapeHtml(new Date().toISOString())}.</p>`];
  sections.push('<h2>Results</h2>');
  const head = `<tr><th>run</th><th>overrides</th><th>status</th>${input.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const rows = input.runs.map(
    (r) =>
      `<tr><td>${escapeHtml(r.name)}</td><td>${escapeHtml(r.overrides.join(' '))}</td><td>${escapeHtml(r.status)}</td>${input.columns
        .map((c) => `<td class="num">${escapeHtml(fmt(r.values[c] ?? null))}</td>`)
        .join('')}</tr>`,
  );
  sections.push(`<table>${head}${rows.join('')}</table>`);
  for (const column of input.columns.slice(0, 3)) {
    sections.push(`<figure>${barChart(input.runs.map((r) => ({ name: r.overrides.join(' ') || r.name, value: r.values[column] ?? null })), { title: column, label: column })}</figure>`);
  }
  return page(input.title, sections.join('\n'));
}
