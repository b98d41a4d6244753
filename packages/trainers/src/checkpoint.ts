import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type RandomStreams, VaeLabError, sizeOf } from '@vaelab/core';
import { CheckpointError } from './checkpoint-errors.js';
import { syncDir, writeFileDurable } from './durable-fs.js';

/*
 * One checkpoint is a folder: manifest.json (names, shapes, offsets, training state, the size and
 * sha256 of weights.bin, and a sha256 of its own body) and weights.bin (float32, little-endian,
 * model variables then optimizer slots). This file encodes, verifies and restores one folder;
 * `CheckpointStore` (checkpoint-store.ts) keeps a run's series of them crash-safe.
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
  /** The variable's layout tag (see CHECKPOINT_LAYOUT); absent for a plain variable. */
  layout?: string;
}

/**
 * A model variable may declare the layout of its values as `variable[CHECKPOINT_LAYOUT]`, a
 * `CheckpointLayout`. Its tag is written into the variable's manifest entry; a checkpoint whose
 * entry has no tag was written before the variable had that layout, and its value, and the
 * variable's optimizer slots, go through `fromUntagged` on load. A registry symbol
 * (`Symbol.for('vaelab.checkpoint.layout')`), so that a network package can set it without
 * depending on this one. @vaelab/networks' MLP kernels use it: stored [out, in] since they run
 * feature-major, saved as [in, out] before.
 */
export const CHECKPOINT_LAYOUT = Symbol.for('vaelab.checkpoint.layout');

export interface CheckpointLayout {
  /** Recorded as the variable's `layout` in the manifest. */
  readonly tag: string;
  /** A value saved without a tag (the layout before this one), converted to this layout. */
  fromUntagged(saved: tf.Tensor): tf.Tensor;
}

function layoutOf(v: tf.Variable): CheckpointLayout | undefined {
  const l = (v as unknown as Record<symbol, unknown>)[CHECKPOINT_LAYOUT];
  if (!isRecord(l) || typeof l.tag !== 'string' || typeof l.fromUntagged !== 'function') return undefined;
  return l as unknown as CheckpointLayout;
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

/** A checkpoint marked as a candidate for "best": kept by value (see CheckpointStore's keep_best). */
export interface BestMark {
  /** Metric name, e.g. 'validation.loss'. */
  metric: string;
  value: number;
  mode: 'min' | 'max';
}

export interface Manifest {
  format: 'vaelab-checkpoint';
  /** 1: written before checksums (size checked only); 2: with `files` and `checksum`. */
  version: 1 | 2;
  /** Folder name in the store (step-00000123), absent in legacy folders. */
  name?: string;
  savedAt?: string;
  /** Why it was written: 'epoch', 'steps', 'minutes', 'interrupt', 'non-finite', ... */
  reason?: string;
  best?: BestMark;
  state: TrainState;
  random: Record<string, number>;
  variables: TensorEntry[];
  optimizer: TensorEntry[];
  /** Float32 values of the optimizer's hidden scalars (see HIDDEN_OPTIMIZER_SCALARS). */
  optimizerScalars: Record<string, number>;
  extra?: Record<string, unknown>;
  /** Size and sha256 of each data file, as written. */
  files?: Record<string, { bytes: number; sha256: string }>;
  /** sha256 of this manifest's JSON (2-space indented) without this field. */
  checksum?: string;
}

export interface CheckpointParts {
  variables: [string, tf.Variable][];
  optimizer: tf.Optimizer;
  streams: RandomStreams;
}

export const WEIGHTS_FILE = 'weights.bin';
export const MANIFEST_FILE = 'manifest.json';

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function manifestBodyText(body: Omit<Manifest, 'checksum'>): string {
  return JSON.stringify(body, null, 2);
}

export interface EncodedCheckpoint {
  manifest: Manifest;
  manifestText: string;
  weights: Uint8Array;
}

/** Read the model, optimizer and streams into a manifest and a weights buffer; touches no file. */
export async function encodeCheckpoint(
  parts: CheckpointParts,
  state: TrainState,
  fields: { name?: string; reason?: string; best?: BestMark; extra?: Record<string, unknown> } = {},
): Promise<EncodedCheckpoint> {
  const optimizerWeights = await parts.optimizer.getWeights();
  const chunks: Float32Array[] = [];
  let offset = 0;
  const entry = (name: string, t: tf.Tensor, layout?: string): TensorEntry => {
    const data = t.dataSync() as Float32Array;
    chunks.push(Float32Array.from(data));
    const e = { name, shape: t.shape, offset, ...(layout !== undefined ? { layout } : {}) };
    offset += data.length;
    return e;
  };
  const variables = parts.variables.map(([name, v]) => entry(name, v, layoutOf(v)?.tag));
  // Slots are saved by position (tfjs names them after auto-generated variable ids, which differ
  // between processes); the order is that of the model's variables, which is fixed.
  const optimizer = optimizerWeights.map((w, i) => entry(`${i}`, w.tensor));
  const optimizerScalars = Object.fromEntries(
    Object.entries(hiddenScalars(parts.optimizer)).map(([k, v]) => [k, v.dataSync()[0]!]),
  );
  for (const w of optimizerWeights) if (w.name === 'iter') w.tensor.dispose();
  const buffer = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    buffer.set(c, at);
    at += c.length;
  }
  const weights = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const body: Omit<Manifest, 'checksum'> = {
    format: 'vaelab-checkpoint',
    version: 2,
    ...(fields.name !== undefined ? { name: fields.name } : {}),
    savedAt: new Date().toISOString(),
    ...(fields.reason !== undefined ? { reason: fields.reason } : {}),
    ...(fields.best !== undefined ? { best: fields.best } : {}),
    state,
    random: parts.streams.state(),
    variables,
    optimizer,
    optimizerScalars,
    ...(fields.extra !== undefined ? { extra: fields.extra } : {}),
    files: { [WEIGHTS_FILE]: { bytes: weights.byteLength, sha256: sha256(weights) } },
  };
  const manifest: Manifest = { ...body, checksum: sha256(manifestBodyText(body)) };
  return { manifest, manifestText: `${JSON.stringify(manifest, null, 2)}\n`, weights };
}

/** Write an encoded checkpoint's two files into an existing (empty) folder, durably. */
export function writeCheckpointFiles(dir: string, encoded: EncodedCheckpoint): void {
  writeFileDurable(join(dir, WEIGHTS_FILE), encoded.weights);
  writeFileDurable(join(dir, MANIFEST_FILE), new TextEncoder().encode(encoded.manifestText));
  syncDir(dir);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Read a checkpoint folder's manifest, checking that it parses, is a VAE Lab manifest and (version
 * 2) matches its own checksum. Does not read weights.bin. Throws CheckpointError naming the file.
 */
export function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new CheckpointError(path, 'missing (the checkpoint was not completely written, or was removed)');
    throw new CheckpointError(path, `cannot be read: ${(e as Error).message}`);
  }
  if (text.length === 0) throw new CheckpointError(path, 'empty (0 bytes)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(path, `not valid JSON, truncated or overwritten (${(e as Error).message})`);
  }
  if (!isRecord(parsed) || parsed.format !== 'vaelab-checkpoint') {
    throw new CheckpointError(path, 'not a VAE Lab checkpoint manifest (no "format": "vaelab-checkpoint")');
  }
  if (parsed.version !== undefined && parsed.version !== 1 && parsed.version !== 2) {
    throw new CheckpointError(path, `manifest version ${String(parsed.version)} is not supported (this version reads 1 and 2)`);
  }
  const manifest = { ...parsed, version: parsed.version ?? 1 } as unknown as Manifest;
  if (manifest.version === 2) {
    const { checksum, ...body } = manifest;
    if (typeof checksum !== 'string' || sha256(manifestBodyText(body)) !== checksum) {
      throw new CheckpointError(path, 'checksum mismatch (file changed after it was written)');
    }
  }
  const state = manifest.state as unknown;
  if (
    !isRecord(state) ||
    typeof state.step !== 'number' ||
    !Array.isArray(manifest.variables) ||
    !Array.isArray(manifest.optimizer) ||
    !isRecord(manifest.random)
  ) {
    throw new CheckpointError(path, 'incomplete manifest (state, random, variables or optimizer missing)');
  }
  for (const e of [...manifest.variables, ...manifest.optimizer] as unknown[]) {
    const ok =
      isRecord(e) &&
      typeof e.name === 'string' &&
      Number.isInteger(e.offset) &&
      Array.isArray(e.shape) &&
      e.shape.every((d) => Number.isInteger(d) && (d as number) >= 0) &&
      (e.layout === undefined || typeof e.layout === 'string');
    if (!ok) throw new CheckpointError(path, `malformed tensor entry ${JSON.stringify(e)?.slice(0, 80)}`);
  }
  return manifest;
}

export interface VerifiedCheckpoint {
  dir: string;
  manifest: Manifest;
  /** weights.bin as float32 values, verified against the manifest. */
  values: Float32Array;
}

/**
 * Read and verify a checkpoint folder: the manifest (see readManifest), then weights.bin's size
 * and sha256 against the manifest (version 1: its size against the tensors listed). Throws a
 * CheckpointError naming the damaged file and what is wrong with it.
 */
export function verifyCheckpoint(dir: string): VerifiedCheckpoint {
  const manifest = readManifest(dir);
  const path = join(dir, WEIGHTS_FILE);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') throw new CheckpointError(path, 'missing (the checkpoint was not completely written, or was removed)');
    throw new CheckpointError(path, `cannot be read: ${(e as Error).message}`);
  }
  const recorded = manifest.files?.[WEIGHTS_FILE];
  const floats = [...manifest.variables, ...manifest.optimizer].reduce((n, e) => n + sizeOf(e.shape), 0);
  const expected = recorded?.bytes ?? floats * 4;
  if (bytes.byteLength !== expected) {
    const what = bytes.byteLength === 0 ? 'empty' : bytes.byteLength < expected ? 'truncated' : 'longer than written';
    throw new CheckpointError(path, `${bytes.byteLength} bytes, manifest says ${expected} (${what})`);
  }
  if (recorded && sha256(bytes) !== recorded.sha256) {
    throw new CheckpointError(path, 'sha256 mismatch (file changed after it was written)');
  }
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  for (const e of [...manifest.variables, ...manifest.optimizer]) {
    if (e.offset < 0 || e.offset + sizeOf(e.shape) > values.length) {
      throw new CheckpointError(join(dir, MANIFEST_FILE), `tensor ${e.name} lies outside weights.bin`);
    }
  }
  return { dir, manifest, values };
}

/**
 * Restore variables, optimizer slots and random streams in place from a verified checkpoint.
 * Everything is checked against the model before the first assignment, so a mismatch leaves the
 * model untouched.
 */
export async function restoreCheckpoint(
  parts: CheckpointParts,
  checkpoint: VerifiedCheckpoint,
): Promise<{ state: TrainState; extra?: Record<string, unknown> }> {
  const { manifest, values } = checkpoint;
  const manifestPath = join(checkpoint.dir, MANIFEST_FILE);
  const byName = new Map(manifest.variables.map((e) => [e.name, e]));
  if (byName.size !== parts.variables.length) {
    throw new VaeLabError(
      `${manifestPath}: checkpoint holds ${byName.size} variables, the model has ${parts.variables.length}; was the config changed?`,
    );
  }
  const read = (e: TensorEntry): tf.Tensor => tf.tensor(values.subarray(e.offset, e.offset + sizeOf(e.shape)), e.shape);
  // Variables saved in an older layout (see CHECKPOINT_LAYOUT), by name, with their conversion.
  const legacy = new Map<string, CheckpointLayout>();
  for (const [name, v] of parts.variables) {
    const e = byName.get(name);
    const layout = layoutOf(v);
    if (e && e.layout !== undefined && e.layout !== layout?.tag) {
      throw new VaeLabError(
        `${manifestPath}: variable ${name} was saved in layout '${e.layout}', which this version of the model ` +
          `${layout ? `does not read (it stores '${layout.tag}')` : 'does not know'}; was the checkpoint written by a newer version of VAE Lab?`,
      );
    }
    if (e && e.layout === undefined && layout) legacy.set(name, layout);
  }
  // Every value to assign, converted where needed, checked against the model before the first assignment.
  const pending: tf.Tensor[] = [];
  const converted = (e: TensorEntry, layout: CheckpointLayout | undefined): tf.Tensor => {
    const t = read(e);
    pending.push(t);
    if (!layout) return t;
    const c = tf.tidy(() => layout.fromUntagged(t));
    pending.push(c);
    return c;
  };
  try {
    const assignments: [tf.Variable, tf.Tensor][] = [];
    for (const [name, v] of parts.variables) {
      const e = byName.get(name);
      const t = e ? converted(e, legacy.get(name)) : undefined;
      if (!e || !t || t.shape.join(',') !== v.shape.join(',')) {
        const older = e && legacy.has(name) ? ` (an older layout, [${t?.shape.join(', ')}] converted)` : '';
        throw new VaeLabError(
          `${manifestPath}: variable ${name} has shape [${e?.shape.join(', ') ?? 'missing'}]${older} in the checkpoint, [${v.shape.join(', ')}] in the model; was the config changed?`,
        );
      }
      assignments.push([v, t]);
    }
    const slots = legacy.size > 0 ? legacySlotLayouts(parts, manifest, legacy, manifestPath) : [];
    const optimizerValues = manifest.optimizer.map((e, i) => converted(e, slots[i]));
    for (const [v, t] of assignments) v.assign(t);
    if (manifest.optimizer.length > 0) {
      // tfjs's setWeights reads the iteration count first and the slots by position; names are unused.
      await parts.optimizer.setWeights(optimizerValues.map((tensor, i) => ({ name: i === 0 ? 'iter' : `slot_${i}`, tensor })));
      const hidden = hiddenScalars(parts.optimizer);
      for (const [key, value] of Object.entries(manifest.optimizerScalars ?? {})) {
        const t = tf.scalar(value);
        hidden[key]?.assign(t);
        t.dispose();
      }
    }
  } finally {
    tf.dispose(pending);
  }
  parts.streams.restore(manifest.random);
  return manifest.extra ? { state: manifest.state, extra: manifest.extra } : { state: manifest.state };
}

/**
 * The conversion of each optimizer entry (by position) that belongs to a variable saved in an
 * older layout. tfjs's optimizers, and the fused ones, keep one slot per kind per trainable
 * variable, in the order of the keys of the gradient map they were given: tfjs names variables
 * with integers, which a JavaScript object orders by value, so that is the order in which the
 * variables were created. Saved as [iteration count, kind 0's slots..., kind 1's slots...]. Every
 * slot's saved shape must equal its variable's saved shape, or the match is refused.
 */
function legacySlotLayouts(
  parts: CheckpointParts,
  manifest: Manifest,
  legacy: Map<string, CheckpointLayout>,
  manifestPath: string,
): (CheckpointLayout | undefined)[] {
  const slotCount = manifest.optimizer.length - 1;
  if (slotCount <= 0) return [];
  const trainable = parts.variables.filter(([, v]) => v.trainable);
  const order = Object.values(Object.fromEntries(trainable.map(([name, v]) => [v.name, name])));
  const byName = new Map(manifest.variables.map((e) => [e.name, e]));
  const refuse = (why: string): never => {
    throw new VaeLabError(
      `${manifestPath}: this checkpoint stores ${[...legacy.keys()].join(', ')} in an older layout, and its optimizer state ` +
        `cannot be matched to the model's variables to convert it (${why})`,
    );
  };
  if (order.length === 0 || slotCount % order.length !== 0) refuse(`${slotCount} slots for ${order.length} trainable variables`);
  const out: (CheckpointLayout | undefined)[] = [undefined];
  for (let i = 0; i < slotCount; i++) {
    const name = order[i % order.length]!;
    const slot = manifest.optimizer[i + 1]!;
    const saved = byName.get(name)!;
    if (slot.shape.join(',') !== saved.shape.join(',')) {
      refuse(`slot ${i + 1} has shape [${slot.shape.join(', ')}], its variable ${name} [${saved.shape.join(', ')}]`);
    }
    out.push(legacy.get(name));
  }
  return out;
}

/** The first error, with the others (older candidates, also damaged) named in its message. */
export function withOthers(damaged: CheckpointError[]): CheckpointError {
  const [first, ...rest] = damaged as [CheckpointError, ...CheckpointError[]];
  if (rest.length === 0) return first;
  const others = rest.map((r) => r.message).join('; ');
  return new CheckpointError(first.path, first.problem, `${first.message} (older checkpoints are damaged too: ${others})`);
}
