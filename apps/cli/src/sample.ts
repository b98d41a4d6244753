import * as tf from '@tensorflow/tfjs-core';
import { VaeLabError } from '@vaelab/core';
import { samplePrior, shortNumber } from '@vaelab/eval';
import type { Io } from './io.js';
import { labelledGrid, savePicture } from './pictures.js';
import { type TrainedRun, commandStream, condition, loadTrainedRun } from './trained.js';
import { intFlag, numberFlag } from './use-flags.js';

/* `vaelab sample <run>`: a grid of decoded samples from the prior. */

export interface SampleFlags {
  n?: string;
  temperature?: string;
  label?: string;
  seed?: string;
  draw?: boolean;
  columns?: string;
}

export interface SampleSettings {
  n: number;
  temperature: number;
  label: number | null;
  seed: number | null;
  draw: boolean;
  columns: number;
}

export function parseSampleFlags(flags: SampleFlags): SampleSettings {
  const c = 'sample';
  return {
    n: intFlag(c, '--n', flags.n, { max: 1024 }) ?? 64,
    temperature: numberFlag(c, '--temperature', flags.temperature, { min: 0 }) ?? 1,
    label: intFlag(c, '--label', flags.label, { min: 0 }),
    seed: intFlag(c, '--seed', flags.seed, { min: 0 }),
    draw: Boolean(flags.draw),
    columns: intFlag(c, '--columns', flags.columns) ?? 8,
  };
}

/** Refuse --label on an unconditional model, and a label outside the classes. */
export function checkLabel(run: TrainedRun, label: number | null, command: string): void {
  if (label === null) return;
  if (run.conditionClasses === null) {
    throw new VaeLabError(`${command}: --label needs a conditional model (a config whose encoder/decoder is conditioned on labels); ${run.dir} is unconditional`);
  }
  if (label >= run.conditionClasses) throw new VaeLabError(`${command}: --label must be in 0..${run.conditionClasses - 1}, got ${label}`);
}

export async function sampleCommand(runArg: string, flags: SampleFlags, io: Io): Promise<number> {
  const s = parseSampleFlags(flags);
  const run = await loadTrainedRun(runArg, io, 'sample');
  try {
    checkLabel(run, s.label, 'sample');
    const cond = condition(run, s.label === null ? null : new Array<number>(s.n).fill(s.label));
    const { z, x } = samplePrior(run.exp.model, s.n, { rng: commandStream(run, 'sample', s.seed), temperature: s.temperature, draw: s.draw, cond });
    const what = s.draw ? 'draws from p(x|z)' : 'means of p(x|z)';
    const title = `${s.n} samples, T ${shortNumber(s.temperature)}${s.label === null ? '' : `, label ${run.classNames[s.label] ?? s.label}`}`;
    const name = `samples${s.label === null ? '' : `-label${s.label}`}${s.draw ? '-draw' : ''}${s.temperature === 1 ? '' : `-t${shortNumber(s.temperature)}`}.png`;
    const caption = `${s.n} samples from the prior at temperature ${s.temperature} (z = μ + T·σ·ε), decoded to the ${what}${s.label === null ? '' : `, conditioned on label ${s.label}`}; checkpoint at step ${run.step}, seed ${s.seed ?? run.exp.config.seed}.`;
    savePicture(run, name, labelledGrid(x, { columns: s.columns, title }), caption, io);
    tf.dispose([z, x, ...(cond ? [cond] : [])]);
    return 0;
  } finally {
    run.dispose();
  }
}
