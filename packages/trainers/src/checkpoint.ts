import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type RandomStreams, VaeLabError, sizeOf } from '@vaelab/core';

/*
 * A checkpoint is a folder: manifest.json (names, shapes, offsets, training state) and
 * weights.bin (float32, little-endian, model variables then optimizer slots). It is written to a
 * temporary folder and renamed into place, so a crash mid-write leaves the previous one intact.
 */

export interface TrainState {
  /** Epoch being trained (0-based). */
  epoch: number;
  /** Next batch index within that epoch. */
  batch: number;
  /** Optimizer steps taken so far. */
  step: number;
  /** Running sums of the current epoch's training terms (weighted by batch size), for its average. */
  epochSums: Record<string, number>;
  epochCount: number;
}

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
}

/*
 * Optimizer state that tfjs's getWeights/setWeights do not round-trip exactly: Adam keeps
 * β₁ᵗ and β₂ᵗ in variables updated by repeated float32 multiplication, and setWeights recomputes
 * them as pow(β, t + 1), which differs in the last bit for some t. Saved and restored by value.
 */
const HIDDEN_OPTIMIZER_SCALARS = ['accBeta1', 'accBeta2'] as const;

function hiddenScalars(optimizer: tf.Optimizer): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const key of HIDDEN_OPTIMIZER_SCALARS) {
    const v = (optimizer as unknown as Record<string, unknown>)[key];
    if (v instanceof tf.Variable) out[key] = v;
  }
  return out;
}

interface Manifest {
  format: 'vaelab-checkpoint';
  version: 1;
  state: TrainState;
  random: Record<string, number>;
  variables: TensorEntry[];
  optimizer: TensorEntry[];
  /** Float32 values of the optimizer's hidden scalars (see HIDDEN_OPTIMIZER_SCALARS). */
  optimizerScalars: Record<string, number>;
  extra?: Record<string, unknown>;
}

export interface CheckpointParts {
  variables: [string, tf.Variable][];
  optimizer: tf.Optimizer;
  streams: RandomStreams;
}

export async function saveCheckpoint(
  dir: string,
  parts: CheckpointParts,
  state: TrainState,
  extra?: Record<string, unknown>,
): Promise<void> {
  const optimizerWeights = await parts.optimizer.getWeights();
  const chunks: Float32Array[] = [];
  let offset = 0;
  const entry = (name: string, t: tf.Tensor): TensorEntry => {
    const data = t.dataSync() as Float32Array;
    chunks.push(Float32Array.from(data));
    const e = { name, shape: t.shape, offset };
    offset += data.length;
    return e;
  };
  const manifest: Manifest = {
    format: 'vaelab-checkpoint',
    version: 1,
    state,
    random: parts.streams.state(),
    variables: parts.variables.map(([name, v]) => entry(name, v)),
    // Slots are saved by position (tfjs names them after auto-generated variable ids, which differ
    // between processes); the order is that of the model's variables, which is fixed.
    optimizer: optimizerWeights.map((w, i) => entry(`${i}`, w.tensor)),
    optimizerScalars: Object.fromEntries(Object.entries(hiddenScalars(parts.optimizer)).map(([k, v]) => [k, v.dataSync()[0]!])),
  };
  if (extra) manifest.extra = extra;
  for (const w of optimizerWeights) if (w.name === 'iter') w.tensor.dispose();
  const buffer = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    buffer.set(c, at);
    at += c.length;
  }
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'weights.bin'), Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength));
  writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const old = `${dir}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'manifest.json'));
}

/** Restore variables, optimizer slots and random streams in place; returns the training state. */
export async function loadCheckpoint(
  dir: string,
  parts: CheckpointParts,
): Promise<{ state: TrainState; extra?: Record<string, unknown> }> {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new VaeLabError(`no checkpoint at ${dir} (missing manifest.json)`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  if (manifest.format !== 'vaelab-checkpoint') throw new VaeLabError(`${manifestPath}: not a VAE Lab checkpoint`);
  const bytes = readFileSync(join(dir, 'weights.bin'));
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const read = (e: TensorEntry): tf.Tensor => {
    return tf.tensor(all.subarray(e.offset, e.offset + sizeOf(e.shape)), e.shape);
  };
  const byName = new Map(manifest.variables.map((e) => [e.name, e]));
  if (byName.size !== parts.variables.length) {
    throw new VaeLabError(
      `${manifestPath}: checkpoint holds ${byName.size} variables, the model has ${parts.variables.length}; was the config changed?`,
    );
  }
  for (const [name, v] of parts.variables) {
    const e = byName.get(name);
    if (!e || e.shape.join(',') !== v.shape.join(',')) {
      throw new VaeLabError(
        `${manifestPath}: variable ${name} has shape [${e?.shape.join(', ') ?? 'missing'}] in the checkpoint, [${v.shape.join(', ')}] in the model; was the config changed?`,
      );
    }
    const t = read(e);
    v.assign(t);
    t.dispose();
  }
  if (manifest.optimizer.length > 0) {
    // tfjs's setWeights reads the iteration count first and the slots by position; names are unused.
    const restored = manifest.optimizer.map((e, i) => ({ name: i === 0 ? 'iter' : `slot_${i}`, tensor: read(e) }));
    await parts.optimizer.setWeights(restored);
    for (const r of restored) r.tensor.dispose();
    const hidden = hiddenScalars(parts.optimizer);
    for (const [key, value] of Object.entries(manifest.optimizerScalars ?? {})) {
      const t = tf.scalar(value);
      hidden[key]?.assign(t);
      t.dispose();
    }
  }
  parts.streams.restore(manifest.random);
  return manifest.extra ? { state: manifest.state, extra: manifest.extra } : { state: manifest.state };
}
