import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type Decoder, type Encoder, RandomStreams } from '@vaelab/core';
import { BernoulliLikelihood } from '@vaelab/likelihoods';
import { Dense, Mlp, type MlpOptions, activate } from '@vaelab/networks';
import { Elbo, VaeModel } from '@vaelab/objectives';
import { DiagonalGaussianPosterior } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';
import { afterAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_LAYOUT } from './checkpoint.js';
import { CheckpointStore } from './checkpoint-store.js';
import { FusedAdamOptimizer } from './fused-adam.js';
import { initialState, trainStep } from './trainer.js';

/*
 * Variables that declare a layout (CHECKPOINT_LAYOUT): the MLP's kernels, stored [out, in] since
 * its layers run feature-major. A run folder written before, with [in, out] kernels and no layout
 * tags, still loads and resumes: the kernels and their optimizer slots are transposed on load.
 * The "before" model here is the MLP as it was: batch-major `Dense` layers, the same draws.
 */

const DATA = [6];
const LATENT = 3;
const ENC: MlpOptions = { hidden: [8, 8], activation: 'relu', init: 'uniform_fan_in' }; // an 8×8 kernel: its shape cannot tell the layouts apart
const DEC: MlpOptions = { hidden: [5], activation: 'tanh', init: 'uniform_fan_in' };

/** The MLP before the feature-major layout: y = act(x W + b), W [in, out], untagged. */
class LegacyMlp implements Encoder, Decoder {
  readonly layers: Dense[];
  constructor(
    readonly inputSize: number,
    readonly outputSize: number,
    readonly options: MlpOptions,
    rng: ReturnType<RandomStreams['stream']>,
  ) {
    const sizes = [inputSize, ...options.hidden, outputSize];
    this.layers = sizes.slice(1).map((out, i) => new Dense(sizes[i]!, out, options.init, rng));
  }
  apply(x: tf.Tensor): tf.Tensor {
    let h = x as tf.Tensor2D;
    this.layers.forEach((layer, i) => {
      h = layer.apply(h);
      if (i < this.layers.length - 1) h = activate(h, this.options.activation) as tf.Tensor2D;
    });
    return h;
  }
  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.variables);
  }
  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

type OptimizerKind = 'adam' | 'fused-adam' | 'momentum';
const makeOptimizer = (kind: OptimizerKind): tf.Optimizer =>
  kind === 'adam' ? tf.train.adam(0.01) : kind === 'fused-adam' ? new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8) : tf.train.momentum(0.01, 0.9);

/** A model, its optimizer and streams; the networks created in the given order. */
function setup(layout: 'legacy' | 'feature-major', kind: OptimizerKind, decoderFirst = false) {
  const streams = new RandomStreams(1);
  const posterior = new DiagonalGaussianPosterior('log_var');
  const likelihood = new BernoulliLikelihood(DATA);
  const encoder = () =>
    layout === 'legacy'
      ? new LegacyMlp(DATA[0]!, 2 * LATENT, ENC, streams.stream('init/encoder'))
      : new Mlp(DATA, posterior.paramShape({ dim: LATENT }), ENC, streams.stream('init/encoder'));
  const decoder = () => (layout === 'legacy' ? new LegacyMlp(LATENT, DATA[0]!, DEC, streams.stream('init/decoder')) : new Mlp([LATENT], DATA, DEC, streams.stream('init/decoder')));
  const [dec, enc] = decoderFirst ? [decoder(), encoder()] : [undefined, encoder()];
  const model = new VaeModel({
    encoder: enc,
    posterior,
    decoder: dec ?? decoder(),
    likelihood,
    prior: new StandardNormalPrior(LATENT),
    latentDim: LATENT,
    dataShape: DATA,
  });
  const x = tf.tidy(() => tf.round(streams.stream('data').uniform([4, ...DATA])));
  const optimizer = makeOptimizer(kind);
  const noise = streams.stream('noise');
  const parts = { variables: model.checkpointVariables(), optimizer, streams };
  const objective = new Elbo({ samples: 1, klSamples: 1 });
  let step = 0;
  const train = (n: number): number[] => {
    const losses: number[] = [];
    for (let i = 0; i < n; i++, step++) losses.push(trainStep({ model, objective, optimizer, options: { clip_norm: null } }, x, noise, { step, epoch: 0 }).values[0]!);
    return losses;
  };
  const dispose = () => {
    model.dispose();
    optimizer.dispose();
    x.dispose();
  };
  return { model, parts, optimizer, train, dispose, setStep: (s: number) => (step = s) };
}

/** Each variable's values in the feature-major layout (legacy kernels transposed). */
function asFeatureMajor(vars: tf.Variable[] | tf.Tensor[], legacy: boolean): number[][] {
  return vars.map((v) => Array.from(tf.tidy(() => (legacy && v.rank === 2 ? tf.transpose(v) : v).dataSync())));
}

/** The optimizer's slots ([iteration count, slots...] from getWeights, less the count), feature-major. */
async function slotValues(optimizer: tf.Optimizer, legacy: boolean): Promise<number[][]> {
  const weights = await optimizer.getWeights();
  const values = asFeatureMajor(weights.slice(1).map((w) => w.tensor), legacy);
  weights[0]!.tensor.dispose(); // the count is a new tensor; the slots are the optimizer's own
  return values;
}

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'vaelab-ckpt-layout-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function close(a: number[][], b: number[][], tol: number): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    const scale = Math.max(1e-3, ...b[i]!.map(Math.abs));
    const err = Math.max(0, ...x.map((v, j) => Math.abs(v - b[i]![j]!)));
    expect(err / scale, `tensor ${i}`).toBeLessThan(tol);
  });
}

describe('checkpoints across the MLP layouts', () => {
  it.each([
    ['adam', false],
    ['fused-adam', false],
    ['momentum', false],
    ['adam', true],
    ['fused-adam', true],
  ] as [OptimizerKind, boolean][])('an old-layout checkpoint (%s, decoder created first: %s) loads transposed and resumes', async (kind, decoderFirst) => {
    const dir = tempDir();
    const old = setup('legacy', kind, decoderFirst);
    old.train(3);
    await new CheckpointStore(dir).save(old.parts, { ...initialState(), step: 3, batch: 3 });
    const savedVariables = asFeatureMajor(old.model.variables, true);
    const savedSlotValues = await slotValues(old.optimizer, true);
    const manifest = JSON.parse(readFileSync(join(new CheckpointStore(dir).latest()!.path, 'manifest.json'), 'utf8'));
    expect(manifest.variables[0].shape).toEqual([6, 8]); // [in, out], no layout tag: as written before
    expect(manifest.variables.some((e: { layout?: string }) => e.layout)).toBe(false);
    const reference = old.train(3);
    const referenceVariables = asFeatureMajor(old.model.variables, true);

    const now = setup('feature-major', kind, decoderFirst);
    const before = tf.memory().numTensors;
    const loaded = await new CheckpointStore(dir).load(now.parts);
    expect(loaded?.state.step).toBe(3);
    // the optimizer's slot variables, and no leftovers of the conversion
    expect(tf.memory().numTensors - before).toBe(savedSlotValues.length);
    // values and optimizer slots arrive transposed, bit for bit
    expect(asFeatureMajor(now.model.variables, false)).toEqual(savedVariables);
    expect(await slotValues(now.optimizer, false)).toEqual(savedSlotValues);
    // resuming continues the old run (float32: the same sums in another layout)
    now.setStep(3);
    const resumed = now.train(3);
    close([resumed], [reference], 1e-5);
    close(asFeatureMajor(now.model.variables, false), referenceVariables, 1e-5);
    old.dispose();
    now.dispose();
  });

  it('a new checkpoint tags the kernels, round-trips bit-exactly, and an old model refuses it with a clear error', async () => {
    const dir = tempDir();
    const a = setup('feature-major', 'adam');
    a.train(2);
    await new CheckpointStore(dir).save(a.parts, { ...initialState(), step: 2, batch: 2 });
    const manifest = JSON.parse(readFileSync(join(new CheckpointStore(dir).latest()!.path, 'manifest.json'), 'utf8'));
    const enc0 = manifest.variables.find((e: { name: string }) => e.name === 'encoder/0');
    expect(enc0).toMatchObject({ shape: [8, 6], layout: 'dense_kernel_out_in' });
    expect(manifest.variables.find((e: { name: string }) => e.name === 'encoder/1').layout).toBeUndefined();
    const kernel = a.model.parts.encoder.variables[0]!;
    expect((kernel as unknown as Record<symbol, { tag: string }>)[CHECKPOINT_LAYOUT]?.tag).toBe('dense_kernel_out_in');

    const b = setup('feature-major', 'adam');
    await new CheckpointStore(dir).load(b.parts);
    expect(asFeatureMajor(b.model.variables, false)).toEqual(asFeatureMajor(a.model.variables, false));
    a.setStep(2);
    b.setStep(2);
    expect(b.train(2)).toEqual(a.train(2));

    const old = setup('legacy', 'adam');
    await expect(new CheckpointStore(dir).load(old.parts)).rejects.toThrow(/encoder\/0 was saved in layout 'dense_kernel_out_in'.*newer version/);
    a.dispose();
    b.dispose();
    old.dispose();
  });
});
