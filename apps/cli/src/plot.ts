import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { type ResultRow, type ResultTable, meanStd, readMetrics } from '@vaelab/runs';
import type { TopLevelSpec } from 'vega-lite';

/*
 * Plots of results as vega-lite specs, rendered in Node without a browser: vega-lite compiles the
 * spec to vega, vega's headless view renders SVG, resvg rasterizes it to PNG. The means and
 * standard deviations are computed here (the same numbers as the table), not by vega-lite's
 * aggregates, so the plot and the table cannot disagree.
 */

export type VegaLiteSpec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const WIDTH = 420;
const HEIGHT = 300;

function asNumber(text: string): number | null {
  if (text.trim() === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** Numbers on a log axis when they are all positive and span at least a factor of 10. */
function logScale(values: number[]): boolean {
  const min = Math.min(...values);
  return min > 0 && Math.max(...values) / min >= 10;
}

interface Point {
  x: number | string;
  y: number;
  group: string;
  name: string;
}

/** A group's label: the values of the keys it is grouped by (`objective.beta=4`), or 'all'. */
function label(row: ResultRow, keys: string[]): string {
  if (keys.length === 1) return row.params[keys[0]!] ?? ''; // the legend's title names the key
  return keys.length ? keys.map((k) => `${k}=${row.params[k] ?? ''}`).join(' ') : 'all';
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    m.set(k, [...(m.get(k) ?? []), t]);
  }
  return m;
}

/**
 * `metric` against `x` (a swept key or another metric), one mark per group of `color` (a swept
 * key), mean ± std over the other keys that were averaged (seeds). With a metric on x (say
 * distortion against rate), each group's mean has error bars in x and y, and the line joins the
 * groups in sweep order: a rate–distortion curve.
 */
export function metricPlotSpec(
  table: ResultTable,
  opts: { metric: string; x: string; color?: string | undefined; title?: string | undefined },
): VegaLiteSpec {
  const { metric, x, color } = opts;
  const xIsMetric = !table.params.includes(x);
  if (xIsMetric && !table.metrics.includes(x)) throw new Error(`--x ${x} is neither a swept key (${table.params.join(', ') || 'none'}) nor a metric`);
  if (color !== undefined && !table.params.includes(color)) throw new Error(`--color ${color} is not a swept key (${table.params.join(', ') || 'none'})`);
  const rows = table.rows.filter((r) => r.state === 'completed' && r.values[metric] != null && (!xIsMetric || r.values[x] != null));
  if (!rows.length) throw new Error(`no completed run has a value for ${metric}${xIsMetric ? ` and ${x}` : ''}`);
  const colorKeys = color ? [color] : [];
  const xNumeric = !xIsMetric && rows.every((r) => asNumber(r.params[x] ?? '') !== null);
  const xOf = (r: ResultRow): number | string => (xIsMetric ? r.values[x]! : xNumeric ? asNumber(r.params[x]!)! : r.params[x]!);
  const points: Point[] = rows.map((r) => ({ x: xOf(r), y: r.values[metric]!, group: label(r, colorKeys), name: r.name }));
  // One mean per (x, colour) for a swept x; per colour for a metric x.
  const groupKey = (r: ResultRow) => (xIsMetric ? label(r, colorKeys) : `${label(r, colorKeys)}\u0000${String(xOf(r))}`);
  const means = [...groupBy(rows, groupKey).values()].map((g, order) => {
    const y = meanStd(g.map((r) => r.values[metric]!));
    const xs = xIsMetric ? meanStd(g.map((r) => r.values[x]!)) : undefined;
    const xMean = xs ? xs.mean! : xOf(g[0]!);
    return {
      x: xMean,
      y: y.mean!,
      y_lo: y.mean! - (y.std ?? 0),
      y_hi: y.mean! + (y.std ?? 0),
      ...(xs ? { x_lo: xs.mean! - (xs.std ?? 0), x_hi: xs.mean! + (xs.std ?? 0) } : {}),
      group: label(g[0]!, colorKeys),
      n: y.n,
      order,
    };
  });
  const numericX = xIsMetric || xNumeric;
  const xValues = points.map((p) => p.x).filter((v): v is number => typeof v === 'number');
  const xScale = xIsMetric ? { scale: { zero: false } } : numericX && logScale(xValues) ? { scale: { type: 'log' } } : {};
  const xField = { field: 'x', type: numericX ? 'quantitative' : 'ordinal', title: x, ...xScale, ...(numericX ? {} : { sort: null, axis: { labelAngle: 0 } }) };
  const yField = { field: 'y', type: 'quantitative', title: metric, scale: { zero: false } };
  const colorField = color ? { color: { field: 'group', type: 'nominal', title: color, sort: null, legend: { labelLimit: 400 } } } : {};
  const layers: Record<string, unknown>[] = [
    { data: { values: points }, mark: { type: 'point', opacity: 0.4, size: 25 }, encoding: { x: xField, y: yField, ...colorField, tooltip: [{ field: 'name' }] } },
    {
      data: { values: means },
      mark: { type: 'rule' },
      encoding: { x: xField, y: { field: 'y_lo', type: 'quantitative', title: metric }, y2: { field: 'y_hi' }, ...colorField },
    },
  ];
  if (xIsMetric) {
    layers.push({
      data: { values: means },
      mark: { type: 'rule' },
      encoding: { y: yField, x: { field: 'x_lo', type: 'quantitative', title: x, scale: { zero: false } }, x2: { field: 'x_hi' }, ...colorField },
    });
  }
  layers.push({
    data: { values: means },
    mark: { type: 'line', point: { filled: true, size: 50 } },
    encoding: { x: xField, y: yField, ...(xIsMetric ? { order: { field: 'order' } } : {}), ...(xIsMetric ? {} : colorField), tooltip: [{ field: 'group' }, { field: 'y' }, { field: 'n' }] },
  });
  if (xIsMetric && color) {
    // The curve is one line through the groups in sweep order; the points carry the colour.
    layers.push({ data: { values: means }, mark: { type: 'point', filled: true, size: 80 }, encoding: { x: xField, y: yField, ...colorField } });
  }
  return {
    $schema: SCHEMA,
    title: opts.title ?? `${metric} against ${x} (mean ± std over seeds)`,
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    layer: layers,
  };
}

/**
 * Learning curves: `metric` of the `split` records of each run's metrics.jsonl against the epoch,
 * one line per group (mean over the runs averaged over, a band of ± std).
 */
export function curvesSpec(
  table: ResultTable,
  opts: { metric: string; split: string; color?: string | undefined; over: readonly string[]; title?: string | undefined },
): VegaLiteSpec {
  const keys = opts.color ? [opts.color] : table.params.filter((k) => !opts.over.includes(k));
  const perRun = table.rows.filter((row) => row.state === 'completed').map((row) => ({
    row,
    records: readMetrics(row.dir).filter((r) => r.split === opts.split && typeof r[opts.metric] === 'number' && Number.isFinite(r[opts.metric])),
  }));
  const points = perRun.flatMap(({ row, records }) => records.map((r) => ({ epoch: r.epoch, group: label(row, keys), y: r[opts.metric] as number })));
  if (!points.length) throw new Error(`no run has ${opts.split} records with a number for ${opts.metric} in metrics.jsonl`);
  const bands = [...groupBy(points, (p) => `${p.group}\u0000${p.epoch}`).values()].map((g) => {
    const s = meanStd(g.map((p) => p.y));
    return { epoch: g[0]!.epoch, group: g[0]!.group, y: s.mean!, y_lo: s.mean! - (s.std ?? 0), y_hi: s.mean! + (s.std ?? 0), n: s.n };
  });
  const color = { color: { field: 'group', type: 'nominal', title: keys.join(' ') || 'runs', sort: null, legend: { labelLimit: 400 } } };
  const x = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } };
  return {
    $schema: SCHEMA,
    title: opts.title ?? `${opts.split} ${opts.metric} per epoch (mean ± std over seeds)`,
    width: WIDTH,
    height: HEIGHT,
    background: 'white',
    data: { values: bands },
    layer: [
      { mark: { type: 'area', opacity: 0.2 }, encoding: { x, y: { field: 'y_lo', type: 'quantitative', title: opts.metric, scale: { zero: false } }, y2: { field: 'y_hi' }, ...color } },
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'y', type: 'quantitative', scale: { zero: false } }, ...color } },
    ],
  };
}

/**
 * SVG of a vega-lite spec, rendered headless by vega. vega and vega-lite are imported here, when a
 * plot is drawn, not when the command starts: loading them costs ~0.25 s, which every `vaelab
 * train` would otherwise pay.
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG of an SVG at twice its size, on white, with the system's fonts (DejaVu Sans when there). */
export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 2 },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

/** Write `<base>.vl.json`, `<base>.svg` and `<base>.png`; returns the three paths. */
export async function writePlot(spec: VegaLiteSpec, base: string): Promise<string[]> {
  const svg = await renderSvg(spec);
  const files = [`${base}.vl.json`, `${base}.svg`, `${base}.png`];
  writeFileSync(files[0]!, `${JSON.stringify(spec, null, 2)}\n`);
  writeFileSync(files[1]!, svg);
  writeFileSync(files[2]!, svgToPng(svg));
  return files;
}
