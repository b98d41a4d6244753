import * as tf from '@tensorflow/tfjs-core';
import { RandomStreams } from '@vaelab/core';
import type { CheckpointParts, TrainState } from './checkpoint.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { setCheckpointFaultHook } from './durable-fs.js';

/*
 * A tiny model for the checkpoint tests: two variables, Adam, random streams. Not exported from
 * the package (index.ts does not re-export it).
 */

/** `seed` sets the initial values; the streams use the run seed 1, as a resumed run's config would. */
export function tinyParts(seed: number, size = 12): CheckpointParts {
  const values = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + k * 100 + i));
  const a = tf.variable(tf.tensor2d(values(size, 1), [3, size / 3]));
  const b = tf.variable(tf.tensor1d(values(4, 2)));
  return { variables: [['layer/a', a], ['layer/b', b]], optimizer: tf.train.adam(0.01), streams: new RandomStreams(1) };
}

/** Optimizer steps on a loss that draws from a random stream, so every part of the state moves. */
export function trainSteps(parts: CheckpointParts, steps: number): void {
  const [[, a], [, b]] = parts.variables as [[string, tf.Variable], [string, tf.Variable]];
  for (let i = 0; i < steps; i += 1) {
    const noise = parts.streams.stream('noise').normal(a.shape);
    parts.optimizer.minimize(() => tf.add(tf.sum(tf.square(tf.sub(a, noise))), tf.sum(tf.square(b))) as tf.Scalar);
    noise.dispose();
  }
}

export function stateAt(step: number): TrainState {
  return { epoch: Math.floor(step / 10), batch: step % 10, step, epochSums: { loss: step * 1.5 }, epochCount: step % 10 };
}

const bits = (t: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(t.dataSync() as Float32Array).buffer));

/** Every number of the state a checkpoint must restore, as float32 bit patterns. */
export async function snapshot(parts: CheckpointParts): Promise<unknown> {
  const weights = await parts.optimizer.getWeights();
  const out = {
    variables: parts.variables.map(([name, v]) => [name, bits(v)]),
    optimizer: weights.map((w) => bits(w.tensor)),
    hidden: ['accBeta1', 'accBeta2'].map((k) => {
      const v = (parts.optimizer as unknown as Record<string, tf.Variable | undefined>)[k];
      return v ? bits(v) : null;
    }),
    streams: parts.streams.state(),
  };
  for (const w of weights) if (w.name === 'iter') w.tensor.dispose();
  return out;
}

export function disposeParts(parts: CheckpointParts): void {
  for (const [, v] of parts.variables) v.dispose();
  parts.optimizer.dispose();
}

/**
 * For a test file: a maker of temporary folders (each removed after the file's tests), and the
 * checkpoint fault hook reset after every test. Call at the file's top level.
 */
export function checkpointTestDirs(prefix: string): () => string {
  const roots: string[] = [];
  afterEach(() => setCheckpointFaultHook(null));
  afterAll(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });
  return () => {
    const root = mkdtempSync(join(tmpdir(), prefix));
    roots.push(root);
    return root;
  };
}
