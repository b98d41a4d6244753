import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { VaeLabError } from '@vaelab/core';
import { INTERPOLATION_MODES, type InterpolationMode, interpolate } from '@vaelab/eval';
import type { Io } from './io.js';
import { labelledGrid, savePicture } from './pictures.js';
import { type SplitName, type TrainedRun, condition, examples, loadTrainedRun, pngExample, splitOf } from './trained.js';
import { SPLITS, choiceFlag, intFlag } from './use-flags.js';

/* `vaelab interpolate <run> --from I --to J`: the decoded path between two examples' posterior means. */

export interface InterpolateFlags {
  from?: string;
  to?: string;
  steps?: string;
  mode?: string;
  split?: string;
}

/** An endpoint: an index in the split, or a PNG file. */
export type Endpoint = { index: number } | { file: string };

function endpoint(flag: string, value: string | undefined): Endpoint {
  if (value === undefined) throw new VaeLabError(`interpolate: ${flag} is required: an index in the split (e.g. 0) or a PNG file`);
  if (/^\d+$/.test(value.trim())) return { index: Number(value) };
  if (/\.png$/i.test(value)) return { file: value };
  throw new VaeLabError(`interpolate: ${flag} must be an index in the split (a non-negative integer) or a .png file, got '${value}'`);
}

export function parseInterpolateFlags(flags: InterpolateFlags): { from: Endpoint; to: Endpoint; steps: number; mode: InterpolationMode; split: SplitName } {
  const c = 'interpolate';
  return {
    from: endpoint('--from', flags.from),
    to: endpoint('--to', flags.to),
    steps: intFlag(c, '--steps', flags.steps, { min: 2, max: 100 }) ?? 10,
    mode: choiceFlag(c, '--mode', flags.mode, INTERPOLATION_MODES, 'linear'),
    split: choiceFlag(c, '--split', flags.split, SPLITS, 'test'),
  };
}

function load(run: TrainedRun, e: Endpoint, split: SplitName, io: Io): { x: tf.Tensor; label: number | null; name: string } {
  if ('index' in e) {
    const labels = splitOf(run, split).labels;
    return { x: examples(run, split, [e.index], 'interpolate'), label: labels ? labels[e.index]! : null, name: String(e.index) };
  }
  const path = resolve(io.cwd, e.file);
  if (!existsSync(path)) throw new VaeLabError(`interpolate: ${path} does not exist`);
  return { x: pngExample(run, path, 'interpolate'), label: null, name: e.file.replace(/^.*[\\/]/, '').replace(/\.png$/i, '') };
}

export async function interpolateCommand(runArg: string, flags: InterpolateFlags, io: Io): Promise<number> {
  const s = parseInterpolateFlags(flags);
  const run = await loadTrainedRun(runArg, io, 'interpolate');
  try {
    const a = load(run, s.from, s.split, io);
    const b = load(run, s.to, s.split, io);
    if (run.conditionClasses !== null && a.label === null) throw new VaeLabError('interpolate: a conditional model needs labelled endpoints: give indices in the split, not PNG files');
    const cond = condition(run, a.label === null ? null : [a.label]);
    const path = interpolate(run.exp.model, a.x, b.x, { steps: s.steps, mode: s.mode, ...(cond ? { cond } : {}) });
    const grid = labelledGrid(path.images, { columns: s.steps, title: `${s.mode}: ${a.name} to ${b.name}`, columnLabels: Array.from({ length: s.steps }, (_, i) => (i === 0 ? 't=0' : i === s.steps - 1 ? '1' : '')) });
    savePicture(
      run,
      `interpolation-${a.name}-${b.name}-${s.mode}.png`,
      grid,
      `${s.mode === 'slerp' ? 'Spherical (slerp, White 2016)' : 'Linear'} interpolation in ${s.steps} steps between the posterior means of ${'index' in s.from ? `${s.split} example ${a.name}` : a.name} and ${'index' in s.to ? `${s.split} example ${b.name}` : b.name}, each decoded to the likelihood's mean; the end images are their reconstructions.`,
      io,
    );
    tf.dispose([a.x, b.x, path.codes, path.images, ...(cond ? [cond] : [])]);
    return 0;
  } finally {
    run.dispose();
  }
}
