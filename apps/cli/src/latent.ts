import * as tf from '@tensorflow/tfjs-core';
import { RandomStream } from '@vaelab/core';
import { PROJECTIONS, type Projection, decodeCodes, encodeMeans, manifoldCodes, pca2, scatterPlot, shortNumber, umap2 } from '@vaelab/eval';
import type { Io } from './io.js';
import { labelledGrid, savePicture } from './pictures.js';
import { type SplitName, condition, examples, loadTrainedRun, splitOf } from './trained.js';
import { SPLITS, choiceFlag, intFlag } from './use-flags.js';

/* `vaelab latent <run>`: the test set's posterior means coloured by label; for a 2-D latent, the manifold picture too. */

export interface LatentFlags {
  split?: string;
  limit?: string;
  projection?: string;
  grid?: string;
  seed?: string;
}

export function parseLatentFlags(flags: LatentFlags) {
  const c = 'latent';
  return {
    split: choiceFlag(c, '--split', flags.split, SPLITS, 'test') as SplitName,
    limit: intFlag(c, '--limit', flags.limit, { min: 2 }),
    projection: choiceFlag(c, '--projection', flags.projection, PROJECTIONS, 'pca') as Projection,
    grid: intFlag(c, '--grid', flags.grid, { min: 2, max: 40 }) ?? 20,
    seed: intFlag(c, '--seed', flags.seed, { min: 0 }),
  };
}

export async function latentCommand(runArg: string, flags: LatentFlags, io: Io): Promise<number> {
  const s = parseLatentFlags(flags);
  const run = await loadTrainedRun(runArg, io, 'latent');
  try {
    const data = splitOf(run, s.split);
    const n = Math.min(s.limit ?? (s.projection === 'umap' ? 2000 : 5000), data.size);
    const dim = run.exp.config.latent_dim;
    const codes = new Float32Array(n * dim);
    for (let start = 0; start < n; start += 500) {
      const indices = Array.from({ length: Math.min(500, n - start) }, (_, i) => start + i);
      const x = examples(run, s.split, indices, 'latent');
      const cond = condition(run, data.labels ? indices.map((i) => data.labels![i]!) : null);
      const z = encodeMeans(run.exp.model, x, { cond, rng: run.exp.streams.stream('use') });
      codes.set(z.dataSync(), start * dim);
      tf.dispose([x, z, ...(cond ? [cond] : [])]);
    }
    const labels = data.labels ? data.labels.subarray(0, n) : null;
    let points: ArrayLike<number> = codes;
    let axes: [string, string] = ['z1', 'z2'];
    let how = 'the posterior means themselves (the latent is 2-D)';
    if (dim > 2) {
      if (s.projection === 'umap') {
        points = umap2(codes, dim, new RandomStream('latent/umap', s.seed ?? run.exp.config.seed));
        axes = ['umap 1', 'umap 2'];
        how = `UMAP (umap-js, 15 neighbours) of the ${dim}-D posterior means`;
      } else {
        const p = pca2(codes, dim);
        points = p.points;
        axes = [`pc1 ${shortNumber(100 * p.explained[0])}%`, `pc2 ${shortNumber(100 * p.explained[1])}%`];
        how = `the first two principal components of the ${dim}-D posterior means (${shortNumber(100 * (p.explained[0] + p.explained[1]))}% of their variance)`;
      }
    } else if (dim === 1) {
      points = Float32Array.from({ length: 2 * n }, (_, k) => (k % 2 ? 0 : codes[k >> 1]!));
    }
    const plot = scatterPlot(points, labels, { title: `${run.exp.config.name ?? 'run'}: ${n} ${s.split} codes`, axes, classNames: run.classNames });
    savePicture(run, 'latent-scatter.png', plot, `Posterior means of the first ${n} ${s.split} examples, plotted as ${how}, coloured by label (legend on the right).`, io);
    if (dim === 2) {
      const side = s.grid;
      const z = tf.tensor2d(manifoldCodes(side, [-3, 3], 2), [side * side, 2]);
      const images = decodeCodes(run.exp.model, z);
      const ticks = (reverse: boolean) => Array.from({ length: side }, (_, i) => (i === 0 || i === side - 1 || i === (side - 1) / 2 ? shortNumber(reverse ? 3 - (6 * i) / (side - 1) : -3 + (6 * i) / (side - 1)) : ''));
      const grid = labelledGrid(images, { columns: side, title: 'p(x|z) mean over z in [-3,3]2', rowLabels: ticks(true), columnLabels: ticks(false) });
      savePicture(run, 'manifold.png', grid, `The learned manifold: the likelihood's mean decoded at a ${side}×${side} grid of codes over [−3, 3]² (z1 left to right, z2 bottom to top), as in Kingma & Welling (2013), fig. 4.`, io);
      tf.dispose([z, images]);
    }
    return 0;
  } finally {
    run.dispose();
  }
}
