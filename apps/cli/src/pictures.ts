import { type GridImage, encodePng, imageGrid, labelGrid, readableFactor, upscale } from '@vaelab/eval';
import { writeRunImage } from '@vaelab/runs';
import type * as tf from '@tensorflow/tfjs-core';
import type { Io } from './io.js';
import type { TrainedRun } from './trained.js';

/** Grid padding in pixels before upscaling. */
const PAD = 1;

/**
 * A grid of images [n, ...shape], upscaled to be readable, with a title and labelled rows and
 * columns. Labels are drawn at scale 2 on the upscaled picture.
 */
export function labelledGrid(images: tf.Tensor, opts: { columns: number; title: string; rowLabels?: string[]; columnLabels?: string[] }): GridImage {
  const grid = imageGrid(images, { columns: opts.columns, padding: PAD });
  // readable (about 200 px on the shorter side) but at most about 1200 px wide
  const factor = Math.max(1, Math.min(readableFactor(grid, 200), Math.floor(1200 / grid.width)));
  const [h, w] = images.shape.slice(1) as [number, number];
  return labelGrid(upscale(grid, factor), {
    title: opts.title,
    ...(opts.rowLabels ? { rowLabels: opts.rowLabels } : {}),
    ...(opts.columnLabels ? { columnLabels: opts.columnLabels } : {}),
    tile: { height: h * factor, width: w * factor, padding: PAD * factor },
  });
}

/** Write a picture into the run's images/ with its caption, and say where. */
export function savePicture(run: TrainedRun, name: string, image: GridImage, caption: string, io: Io): string {
  const path = writeRunImage(run.dir, name, encodePng(image), caption);
  io.out(`wrote ${path} (${image.width}×${image.height})`);
  return path;
}
