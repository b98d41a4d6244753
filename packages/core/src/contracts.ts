import type * as tf from '@tensorflow/tfjs-core';
import type { Distribution } from './distribution.js';
import type { RandomStream, RandomStreams } from './random.js';

/* The contracts every component implements (DESIGN §3). Shapes are per example unless noted. */

/** Something that owns trainable variables; it is their only owner and disposes them. */
export interface Owner {
  /** Trainable variables, updated by the optimizer. */
  readonly variables: tf.Variable[];
  /**
   * Non-trainable state saved in checkpoints but never given to the optimizer (e.g. a VQ-VAE's EMA
   * codebook statistics). Absent when there is none.
   */
  readonly state?: tf.Variable[];
  /**
   * Told the global step before each training step and each evaluation, for anything that follows
   * a schedule (a relaxed categorical's temperature). It must depend on the step alone, so that a
   * resumed run sees the same values.
   */
  setStep?(step: number): void;
  /**
   * Told whether the next calls are training steps (true) or evaluation (false), for layers that
   * behave differently in the two (batch normalization uses the batch's statistics and updates
   * its running averages in training, and the running averages in evaluation). A component starts
   * in evaluation mode; the trainer switches it before each training step and back for evaluation.
   */
  setTraining?(training: boolean): void;
  dispose(): void;
}

export interface LatentSpec {
  /** Number of latent dimensions. */
  readonly dim: number;
}

/** What a prior may use of the model it belongs to (the VampPrior evaluates q(z | u) at pseudo-inputs). */
export interface PriorModelAccess {
  /** Shape of one example, e.g. [28, 28, 1]. */
  readonly dataShape: number[];
  /** q(z | x) for inputs x: [n, ...dataShape]: the encoder, then the posterior family. */
  encode(x: tf.Tensor): Distribution;
  /** The posterior family's name, for error messages. */
  readonly posteriorName: string;
}

export interface Prior extends Owner {
  /** p(z) for `batch` examples: batch shape [batch], event shape [latentDim]. */
  distribution(batch: number): Distribution;
  /** Called once by the model that owns this prior, before any `distribution` call. */
  bind?(model: PriorModelAccess): void;
}

export interface PosteriorFamily extends Owner {
  /** Whether `distribution(...).rsample` exists (pathwise gradients). */
  readonly reparameterized: boolean;
  /** What the encoder must emit per example, e.g. [2 * latentDim] for mean and log-scale. */
  paramShape(latent: LatentSpec): number[];
  /** q(z | x) from the encoder output: params [batch, ...paramShape]. */
  distribution(params: tf.Tensor): Distribution;
}

export interface Likelihood extends Owner {
  /** Whether the distribution is over discrete values (then bits/dim are meaningful). */
  readonly discrete: boolean;
  /**
   * When discrete, how many values per dimension it assigns probability to (2 for a Bernoulli,
   * 256 for a 256-way categorical). Bits per dimension are reported only when this equals the
   * dataset's `levels`: a Bernoulli on grey-level pixels is not a distribution over the data.
   */
  readonly levels?: number;
  /** What the decoder must emit per example for data of shape `dataShape`. */
  paramShape(dataShape: number[]): number[];
  /** p(x | z) from the decoder output: params [batch, ...paramShape]; event shape = dataShape. */
  distribution(params: tf.Tensor): Distribution;
  /**
   * Checks that stored data lies in the support (e.g. integers 0..255 for a 256-way categorical,
   * [0, 1] for a Bernoulli) before training starts; throws an error naming the component, the
   * split and an offending value. `values` holds a split's examples row-major, or, for a split held
   * as bytes (`DataSplit.bytes`), the 256 levels k/255 first: the check must judge each value on
   * its own (a split is re-checked value by value when a level fails, to name the place).
   */
  checkData?(values: Float32Array, info: { split: string; dataset: string; levels: number | null }): void;
}

export interface Encoder extends Owner {
  /** x: [batch, ...inputShape] -> [batch, ...outputShape]. */
  apply(x: tf.Tensor, cond?: tf.Tensor): tf.Tensor;
}

export interface Decoder extends Owner {
  /** z: [batch, latentDim] -> [batch, ...outputShape]. */
  apply(z: tf.Tensor, cond?: tf.Tensor): tf.Tensor;
}

/** One forward pass, recorded so that any objective can read what it needs. */
export interface Forward {
  readonly x: tf.Tensor;
  readonly cond?: tf.Tensor;
  /** Encoder output. */
  readonly qParams: tf.Tensor;
  readonly q: Distribution;
  /** One sample z ~ q (reparameterized when the family allows it). */
  readonly z: tf.Tensor;
  /** Decoder output at z. */
  readonly pParams: tf.Tensor;
  readonly px: Distribution;
  readonly prior: Distribution;
  /** p(x | z) at other samples, for objectives that draw more than one (IWAE). */
  decode(z: tf.Tensor): Distribution;
  readonly extras: Record<string, tf.Tensor>;
}

export interface StepContext {
  readonly step: number;
  readonly epoch: number;
  readonly training: boolean;
  /** The run's reparameterization-noise stream. */
  readonly noise: RandomStream;
}

export interface LossResult {
  /** The quantity minimized: nats per example, averaged over the batch. */
  loss: tf.Scalar;
  /** Named terms, each averaged over the batch, in nats per example (or as the name says, e.g. bits_per_dim). */
  terms: Record<string, tf.Scalar>;
  /** Named per-dimension quantities averaged over the batch, e.g. `kl_per_dim`: [latentDim], nats. */
  vectors?: Record<string, tf.Tensor1D>;
}

export interface Objective {
  readonly name: string;
  /** Rejected at config time when paired with a posterior without rsample. */
  readonly needsReparameterization: boolean;
  loss(fwd: Forward, ctx: StepContext): LossResult;
  /**
   * Input corruption for denoising variants: the encoder sees corrupt(x) during training while the
   * likelihood scores the clean x. Not applied in evaluation.
   */
  corrupt?(x: tf.Tensor, rng: RandomStream): tf.Tensor;
  /** Says how each term is computed (e.g. "kl: analytic (Normal ‖ Normal)"), after a first loss. */
  describe?(): string[];
}

/** One split of a dataset held in memory, examples flattened row-major. */
export interface DataSplit {
  readonly size: number;
  /** [size * prod(shape)] values. */
  readonly x: Float32Array;
  readonly labels?: Int32Array;
  /**
   * The same values as 8-bit levels (x = bytes / 255 in float32) when the split was read from
   * 8-bit data. Readers that copy examples (batches, subsets) read these, so that a byte split
   * builds its float32 `x` only if something else asks for it.
   */
  readonly bytes?: Uint8Array;
}

export interface Dataset {
  readonly name: string;
  /** Shape of one example, e.g. [28, 28, 1]. */
  readonly shape: number[];
  /** Number of distinct values per dimension when the data is discrete (256 for 8-bit), else null. */
  readonly levels: number | null;
  readonly train: DataSplit;
  readonly test: DataSplit;
  /** Number of classes its labels take (0..numClasses-1), when it has labels. */
  readonly numClasses?: number;
  /**
   * Turns a batch of stored values into model inputs, e.g. dynamic binarization draws Bernoulli
   * samples here. Identity when absent.
   */
  transform?(x: tf.Tensor, rng: RandomStream, training: boolean): tf.Tensor;
}

/* Build contexts, one per component kind. */

export interface BaseContext {
  readonly streams: RandomStreams;
  /** Directory relative paths in options are resolved against. */
  readonly cwd: string;
}
export interface PriorContext extends BaseContext {
  readonly latentDim: number;
  readonly dataShape: number[];
}
export interface PosteriorContext extends BaseContext {
  readonly latentDim: number;
}
export interface LikelihoodContext extends BaseContext {
  readonly dataShape: number[];
  /** The dataset's number of levels per value (256 for 8-bit images), null when continuous. */
  readonly levels: number | null;
}
export interface EncoderContext extends BaseContext {
  readonly inputShape: number[];
  readonly outputShape: number[];
  /**
   * Size of the condition vector each example comes with (a one-hot label: the number of classes)
   * in a conditional model; absent or 0 for an unconditional one. `apply` then takes cond: [batch, condDim].
   */
  readonly condDim?: number;
}
export interface DecoderContext extends BaseContext {
  readonly latentDim: number;
  readonly outputShape: number[];
  /** As `EncoderContext.condDim`. */
  readonly condDim?: number;
}
export interface ObjectiveContext extends BaseContext {
  /** Shape of one example. */
  readonly dataShape: number[];
  readonly latentDim: number;
  /** True when the likelihood is over discrete values, so that bits per dimension mean something. */
  readonly discrete: boolean;
}
export type DataContext = BaseContext;
export type OptimizerContext = BaseContext;

/** Kind -> (context, instance). Extend by declaration merging to add a kind. */
export interface ComponentKinds {
  prior: { context: PriorContext; instance: Prior };
  posterior: { context: PosteriorContext; instance: PosteriorFamily };
  likelihood: { context: LikelihoodContext; instance: Likelihood };
  encoder: { context: EncoderContext; instance: Encoder };
  decoder: { context: DecoderContext; instance: Decoder };
  objective: { context: ObjectiveContext; instance: Objective };
  data: { context: DataContext; instance: Dataset | Promise<Dataset> };
  optimizer: { context: OptimizerContext; instance: tf.Optimizer };
}
export type ComponentKind = keyof ComponentKinds;
export const COMPONENT_KINDS: readonly ComponentKind[] = [
  'data',
  'encoder',
  'decoder',
  'prior',
  'posterior',
  'likelihood',
  'objective',
  'optimizer',
];

/**
 * Whether bits per dimension mean something for this likelihood on data with `dataLevels` levels:
 * the likelihood must be a distribution over exactly the data's values (a Bernoulli on binary
 * data, a 256-way categorical on 8-bit data), not, say, a Bernoulli on grey levels.
 */
export function reportsBitsPerDim(likelihood: Pick<Likelihood, 'discrete' | 'levels'>, dataLevels: number | null): boolean {
  return likelihood.discrete && likelihood.levels !== undefined && likelihood.levels === dataLevels;
}
