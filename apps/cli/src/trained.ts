import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadProjectConfig } from '@vaelab/config';
import { type DataSplit, RandomStreams, VaeLabError } from '@vaelab/core';
import { SYNTHETIC_PATTERNS, gatherBatch } from '@vaelab/data';
import { RUN_FILES, type RunRecord, readRun } from '@vaelab/runs';
import { CheckpointStore } from '@vaelab/trainers';
import { decodePngImage } from '@vaelab/eval';
import { readFileSync } from 'node:fs';
import { type Experiment, buildExperiment, checkConfig } from './build.js';
import type { Io } from './io.js';
import { builtinRegistry, loadPlugins } from './registry.js';

/*
 * A trained run, ready to use: its experiment built from config.yaml exactly as `vaelab eval` does
 * (same registry, same plugins, same backend choice), the newest complete checkpoint restored, and
 * helpers for picking examples. Every command on a trained run (sample, reconstruct, interpolate,
 * traverse, edit, compress, latent) starts here.
 */

export interface TrainedRun {
  dir: string;
  record: RunRecord;
  exp: Experiment;
  /** The step and epoch of the restored checkpoint. */
  step: number;
  epoch: number;
  /** meta.json's config hash: names the model in compressed files. */
  configHash: string;
  /** Number of classes a conditional model is conditioned on (one-hot labels); null when unconditional. */
  conditionClasses: number | null;
  /** Class names by label (digits for MNIST, pattern names for the synthetic data). */
  classNames: string[];
  dispose(): void;
}

/**
 * Whether a config describes a conditional (label-conditioned) model, and on how many classes:
 * the encoder or decoder block says `conditional: true` (or names `classes`/`num_classes`/`cond_dim`).
 */
export function conditionClassesOf(config: Record<string, unknown>, datasetClasses: number | undefined): number | null {
  for (const part of ['decoder', 'encoder']) {
    const block = config[part] as Record<string, unknown> | undefined;
    if (!block) continue;
    for (const key of ['cond_dim', 'num_classes', 'classes']) if (typeof block[key] === 'number' && (block[key] as number) > 0) return block[key] as number;
    if (block.conditional === true || block.conditional === 'label') return datasetClasses ?? 10;
  }
  if (config.conditional === true) return datasetClasses ?? 10;
  return null;
}

/** Load a run folder's model with its newest checkpoint. Bad input (no run, no checkpoint) is a VaeLabError (exit 2). */
export async function loadTrainedRun(runDirArg: string, io: Io, command: string): Promise<TrainedRun> {
  const dir = resolve(io.cwd, runDirArg);
  const record = readRun(dir);
  const ckptDir = join(dir, RUN_FILES.checkpoints);
  if (!CheckpointStore.exists(ckptDir)) {
    throw new VaeLabError(`${command}: ${dir} has no checkpoint (${ckptDir} holds none); train the run first, or resume it`);
  }
  const project = await loadProjectConfig(io.cwd);
  const registry = builtinRegistry();
  await loadPlugins(registry, project.plugins, project.root, project.filepath);
  const file = join(dir, RUN_FILES.config);
  const config = checkConfig(record.config, registry, file);
  const info = (line: string) => {
    if (!io.quiet) io.err(line);
  };
  const exp = await buildExperiment(config, registry, project.root, info);
  try {
    const parts = { variables: exp.model.checkpointVariables(), optimizer: exp.optimizer, streams: exp.streams };
    const loaded = await new CheckpointStore(ckptDir, config.trainer.checkpoint).load(parts);
    if (!loaded) throw new VaeLabError(`${command}: no complete checkpoint in ${ckptDir}`);
    for (const w of loaded.warnings) io.err(`warning: ${w}`);
    exp.model.setStep(loaded.state.step);
    const numClasses = (exp.dataset as { numClasses?: number }).numClasses;
    const labels = exp.dataset.test.labels ?? exp.dataset.train.labels;
    const classes = numClasses ?? (labels ? Math.max(0, ...labels) + 1 : 0);
    const classNames =
      config.data.name === 'synthetic' ? [...SYNTHETIC_PATTERNS] : Array.from({ length: classes }, (_, k) => String(k));
    return {
      dir,
      record,
      exp,
      step: loaded.state.step,
      epoch: loaded.state.epoch,
      configHash: String(record.meta.config_hash ?? ''),
      // the model says (VaeParts.numClasses, the conditional VAE's parts); else the config does
      conditionClasses: (exp.model.parts as { numClasses?: number }).numClasses || conditionClassesOf(record.config, numClasses),
      classNames,
      dispose: () => exp.dispose(),
    };
  } catch (e) {
    exp.dispose();
    throw e;
  }
}

export type SplitName = 'train' | 'test';

/** The split by name. */
export function splitOf(run: TrainedRun, split: SplitName): DataSplit {
  return run.exp.dataset[split];
}

/** Examples of a split by index, as the model sees them (through the dataset's transform, not training): [n, ...shape]. */
export function examples(run: TrainedRun, split: SplitName, indices: number[], command: string): tf.Tensor {
  const data = splitOf(run, split);
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= data.size) throw new VaeLabError(`${command}: index ${i} is outside the ${split} split (0..${data.size - 1})`);
  }
  const { dataset } = run.exp;
  return tf.tidy(() => {
    const { x } = gatherBatch(data, dataset.shape, indices);
    return dataset.transform ? dataset.transform(x, run.exp.streams.stream('use'), false) : x;
  });
}

/** Labels of examples, or an error saying the dataset has none. */
export function labelsOf(run: TrainedRun, split: SplitName, command: string): Int32Array {
  const labels = splitOf(run, split).labels;
  if (!labels) throw new VaeLabError(`${command}: the ${split} split of ${run.exp.dataset.name} has no labels`);
  return labels;
}

/** A PNG file as one example [1, ...shape] in [0, 1], checked against the dataset's shape. */
export function pngExample(run: TrainedRun, path: string, command: string): tf.Tensor {
  let image;
  try {
    image = decodePngImage(readFileSync(path));
  } catch (e) {
    throw new VaeLabError(`${command}: cannot read ${path} as a PNG (${(e as Error).message})`);
  }
  const shape = run.exp.dataset.shape;
  const [h, w, c = 1] = shape;
  if (image.height !== h || image.width !== w) throw new VaeLabError(`${command}: ${path} is ${image.width}×${image.height}; the model takes ${w}×${h} images`);
  const max = image.depth === 16 ? 65535 : 255;
  const values = new Float32Array(h! * w! * c);
  const channels = image.channels;
  for (let p = 0; p < h! * w!; p++) {
    for (let k = 0; k < c; k++) {
      // grey from RGB(A) by the mean of the colour channels; alpha is ignored
      const v = c === 1 && channels >= 3 ? (image.data[p * channels]! + image.data[p * channels + 1]! + image.data[p * channels + 2]!) / 3 : image.data[p * channels + Math.min(k, channels - 1)]!;
      values[p * c + k] = v / max;
    }
  }
  return tf.tensor(values, [1, ...shape]);
}

/** One-hot labels [n, classes] for a conditional model; undefined for an unconditional one. */
export function condition(run: TrainedRun, labels: ArrayLike<number> | null): tf.Tensor | undefined {
  if (run.conditionClasses === null || labels === null) return undefined;
  const k = run.conditionClasses;
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), k), 'float32'));
}

/** A random stream for a command: seeded by --seed, else by the run's seed. */
export function commandStream(run: TrainedRun, name: string, seed: number | null): ReturnType<RandomStreams['stream']> {
  return new RandomStreams(seed ?? run.exp.config.seed).stream(name);
}
