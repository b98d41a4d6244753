import * as tf from '@tensorflow/tfjs-core';
import { decodeCodes, encodeMeans, squaredError } from '@vaelab/eval';
import type { Io } from './io.js';
import { labelledGrid, savePicture } from './pictures.js';
import { type SplitName, condition, examples, loadTrainedRun, splitOf } from './trained.js';
import { SPLITS, choiceFlag, indexListFlag, intFlag } from './use-flags.js';

/* `vaelab reconstruct <run>`: inputs above their reconstructions (the likelihood's mean at the posterior mean). */

export interface ReconstructFlags {
  split?: string;
  indices?: string;
  columns?: string;
}

export function parseReconstructFlags(flags: ReconstructFlags): { split: SplitName; indices: number[] | null; columns: number } {
  const c = 'reconstruct';
  return {
    split: choiceFlag(c, '--split', flags.split, SPLITS, 'test'),
    indices: indexListFlag(c, '--indices', flags.indices),
    columns: intFlag(c, '--columns', flags.columns) ?? 8,
  };
}

export async function reconstructCommand(runArg: string, flags: ReconstructFlags, io: Io): Promise<number> {
  const s = parseReconstructFlags(flags);
  const run = await loadTrainedRun(runArg, io, 'reconstruct');
  try {
    const indices = s.indices ?? Array.from({ length: Math.min(16, splitOf(run, s.split).size) }, (_, i) => i);
    const x = examples(run, s.split, indices, 'reconstruct');
    const labels = splitOf(run, s.split).labels;
    const cond = condition(run, labels ? indices.map((i) => labels[i]!) : null);
    const z = encodeMeans(run.exp.model, x, { cond, rng: run.exp.streams.stream('use') });
    const xHat = decodeCodes(run.exp.model, z, { cond });
    const mse = tf.tidy(() => tf.mean(squaredError(x, xHat)).dataSync()[0]!);
    // rows: originals, then their reconstructions, pair by pair
    const columns = Math.min(s.columns, indices.length);
    const rows = Math.ceil(indices.length / columns);
    const tiles = tf.tidy(() => {
      const pad = rows * columns - indices.length;
      const blank = (t: tf.Tensor) => (pad ? tf.concat([t, tf.onesLike(tf.slice(t, 0, pad))]) : t);
      const [a, b] = [blank(x), blank(xHat)];
      const pieces: tf.Tensor[] = [];
      for (let r = 0; r < rows; r++) pieces.push(tf.slice(a, r * columns, columns), tf.slice(b, r * columns, columns));
      return tf.concat(pieces);
    });
    const rowLabels = Array.from({ length: 2 * rows }, (_, r) => (r % 2 ? 'recon' : 'input'));
    const grid = labelledGrid(tiles, { columns, title: `${s.split} ${indices.length > 8 ? `${indices[0]}..${indices.at(-1)}` : indices.join(',')}`, rowLabels });
    savePicture(
      run,
      `reconstructions-${s.split}.png`,
      grid,
      `${s.split} examples ${indices.join(', ')} (rows 'input') above their reconstructions (rows 'recon': the likelihood's mean at the posterior mean); mean squared error ${mse.toExponential(3)}; checkpoint at step ${run.step}.`,
      io,
    );
    io.out(`reconstruction MSE ${mse.toExponential(3)} over ${indices.length} ${s.split} examples`);
    tf.dispose([x, z, xHat, tiles, ...(cond ? [cond] : [])]);
    return 0;
  } finally {
    run.dispose();
  }
}
