import * as tf from '@tensorflow/tfjs-core';
import { ActiveUnits, decodeCodes, dimensionsByKl, encodeMeans, klPerDimension, shortNumber, traversalCodes } from '@vaelab/eval';
import { gatherBatch } from '@vaelab/data';
import type { Io } from './io.js';
import { labelledGrid, savePicture } from './pictures.js';
import { type SplitName, type TrainedRun, condition, examples, loadTrainedRun, splitOf } from './trained.js';
import { SPLITS, choiceFlag, indexListFlag, intFlag, rangeFlag } from './use-flags.js';
import { VaeLabError } from '@vaelab/core';

/* `vaelab traverse <run>`: each latent dimension varied alone around a code, one row per dimension. */

export interface TraverseFlags {
  dims?: string;
  range?: string;
  steps?: string;
  index?: string;
  split?: string;
}

export function parseTraverseFlags(flags: TraverseFlags) {
  const c = 'traverse';
  return {
    dims: indexListFlag(c, '--dims', flags.dims),
    range: rangeFlag(c, '--range', flags.range) ?? ([-3, 3] as [number, number]),
    steps: intFlag(c, '--steps', flags.steps, { min: 2, max: 50 }) ?? 9,
    index: intFlag(c, '--index', flags.index, { min: 0 }),
    split: choiceFlag(c, '--split', flags.split, SPLITS, 'test') as SplitName,
  };
}

/**
 * Mean KL(q ‖ p) per latent dimension over the first `limit` examples of a split; for posteriors
 * without a closed form per dimension, the variance of the posterior mean (the active-units statistic).
 */
export function latentActivity(run: TrainedRun, split: SplitName, limit = 1000): { values: number[]; kind: 'KL' | 'var' } {
  const data = splitOf(run, split);
  const n = Math.min(limit, data.size);
  const { model, dataset } = run.exp;
  const rng = run.exp.streams.stream('use');
  let sums: Float64Array | null = null;
  let closedForm = true;
  const active = new ActiveUnits();
  for (let start = 0; start < n; start += 250) {
    const indices = Array.from({ length: Math.min(250, n - start) }, (_, i) => start + i);
    tf.tidy(() => {
      const { x: stored } = gatherBatch(data, dataset.shape, indices);
      const x = dataset.transform ? dataset.transform(stored, rng, false) : stored;
      const cond = condition(run, data.labels ? indices.map((i) => data.labels![i]!) : null);
      const q = model.parts.posterior.distribution(model.parts.encoder.apply(x, cond));
      const perDim = klPerDimension(q, model.parts.prior.distribution(indices.length));
      if (perDim && closedForm) {
        const v = tf.sum(tf.reshape(perDim, [indices.length, -1]), 0).dataSync();
        sums ??= new Float64Array(v.length);
        v.forEach((s, j) => (sums![j]! += s));
      } else closedForm = false;
      active.add(encodeMeans(model, x, { cond, rng }));
    });
  }
  if (closedForm && sums) return { values: Array.from(sums as Float64Array, (s) => s / n), kind: 'KL' };
  return { values: active.variances(), kind: 'var' };
}

export async function traverseCommand(runArg: string, flags: TraverseFlags, io: Io): Promise<number> {
  const s = parseTraverseFlags(flags);
  const run = await loadTrainedRun(runArg, io, 'traverse');
  try {
    const latentDim = run.exp.config.latent_dim;
    const activity = latentActivity(run, s.split);
    for (const d of s.dims ?? []) if (d >= latentDim) throw new VaeLabError(`traverse: --dims ${d} is not a latent dimension (0..${latentDim - 1})`);
    const dims = s.dims ?? dimensionsByKl(activity.values, Math.min(10, latentDim));
    let base: Float32Array;
    let label: number | null = null;
    if (s.index !== null) {
      const x = examples(run, s.split, [s.index], 'traverse');
      const labels = splitOf(run, s.split).labels;
      label = labels ? labels[s.index]! : null;
      const cond = condition(run, label === null ? null : [label]);
      const z = encodeMeans(run.exp.model, x, { cond, rng: run.exp.streams.stream('use') });
      base = z.dataSync() as Float32Array;
      tf.dispose([x, z, ...(cond ? [cond] : [])]);
    } else {
      base = tf.tidy(() => {
        const p = run.exp.model.parts.prior.distribution(1);
        return p.mean ? (tf.reshape(p.mean(), [-1]).dataSync() as Float32Array) : new Float32Array(latentDim);
      });
    }
    const codes = tf.tensor2d(traversalCodes(base, dims, s.range, s.steps), [dims.length * s.steps, latentDim]);
    const cond = condition(run, label === null ? null : new Array<number>(dims.length * s.steps).fill(label));
    const images = decodeCodes(run.exp.model, codes, { cond });
    // 'dim' rather than 'z': in the 3×5 font a Z reads like a 2
    const rowLabels = dims.map((d) => `dim ${d}: ${activity.kind} ${shortNumber(activity.values[d] ?? 0)}`);
    const mid = (s.steps - 1) / 2;
    const columnLabels = Array.from({ length: s.steps }, (_, i) => (i === 0 || i === s.steps - 1 || i === mid ? shortNumber(s.range[0] + ((s.range[1] - s.range[0]) * i) / (s.steps - 1)) : ''));
    const around = s.index === null ? 'the prior mean' : `${s.split} example ${s.index}`;
    const grid = labelledGrid(images, { columns: s.steps, title: `traversal around ${around}`, rowLabels, columnLabels });
    savePicture(
      run,
      s.index === null ? 'traversal.png' : `traversal-${s.split}${s.index}.png`,
      grid,
      `Latent traversal around ${around}: each row varies one latent dimension alone over [${s.range.join(', ')}] (columns), the others held at the code; rows ordered by ${activity.kind === 'KL' ? 'mean KL per dimension (nats, on up to 1000 ' + s.split + ' examples)' : 'the variance of the posterior mean'}, largest first, so the active dimensions come first.`,
      io,
    );
    tf.dispose([codes, images, ...(cond ? [cond] : [])]);
    return 0;
  } finally {
    run.dispose();
  }
}
