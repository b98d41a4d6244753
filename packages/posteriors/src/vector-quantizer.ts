import * as tf from '@tensorflow/tfjs-core';
import {
  ComponentConfigError,
  type Distribution,
  type LatentSpec,
  type PosteriorFamily,
  type RandomStream,
  ShapeError,
  assertValues,
  defineComponent,
  isDistributionInstance,
  stopGradient,
  validationEnabled,
} from '@vaelab/core';
import { z } from 'zod';

/*
 * The vector quantizer of VQ-VAE (van den Oord et al. 2017, "Neural Discrete Representation
 * Learning"). The encoder emits latentDim values per example, read as N = latentDim / D vectors
 * z_e of D values; each is replaced by its nearest code e_k of a codebook of K codes. The decoder
 * sees z_q = z_e + sg[e − z_e]: e in the forward pass, the identity's gradient towards z_e in the
 * backward pass (the straight-through estimator, §3.2 of the paper).
 */

export interface VectorQuantizerOptions {
  /** Latent size: the encoder emits this many values per example. A multiple of `codeDim`. */
  latentDim: number;
  /** K, the number of codes. */
  numCodes: number;
  /** D, the size of one code vector. */
  codeDim: number;
  /** Update the codebook by exponential moving averages (appendix A.1) instead of by gradient. */
  ema: boolean;
  /** γ of the moving averages (cluster sizes, code sums, and the usage read by dead-code resets). */
  decay: number;
  /** ε of the Laplace smoothing of the cluster sizes. */
  epsilon: number;
  /** Reset a code whose moving-average count of assigned vectors per batch falls below this; 0 = never. */
  deadCodeThreshold: number;
}

/** Indices of the nearest codes by squared Euclidean distance. vectors: [M, D], codebook: [K, D] -> [M] int32. */
export function nearestCodes(vectors: tf.Tensor, codebook: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    // ‖z − e‖² = ‖z‖² − 2 z·e + ‖e‖², one matMul for all pairs (explicit transpose: fast on wasm).
    const v = stopGradient(vectors);
    const e = stopGradient(codebook);
    const cross = tf.matMul(v, tf.transpose(e)); // [M, K]
    const distances = tf.add(tf.sub(tf.sum(tf.square(v), 1, true), tf.mul(cross, 2)), tf.sum(tf.square(e), 1));
    return tf.argMin(distances, 1) as tf.Tensor1D;
  });
}

/**
 * q(z | x) of a vector quantizer: a point mass at the quantized latent. Batch shape [batch], event
 * shape [latentDim]. `zE` holds the encoder's vectors [batch, N, D], `codes` the chosen code
 * vectors e [batch, N, D] (with a gradient path to a trainable codebook), `indices` the code
 * indices [batch, N] (int32).
 *
 * As a distribution over code indices it is one-hot, so `logProb(z)` is 0 when z quantizes to this
 * distribution's codes (in particular at its own sample) and −∞ otherwise, `entropy()` is 0, and
 * the KL to a uniform prior over the K codes is the constant N·log K nats.
 */
export class Quantized implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/posteriors (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/posteriors/Quantized';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  /** Marks the distribution for objectives that need it (vq_vae) without importing this package. */
  readonly family = 'vector_quantizer' as const;
  /** A point mass at the nearest codes: evaluations skip importance-sampled likelihoods. */
  readonly deterministic = true;
  readonly batchShape: number[];
  readonly eventShape: number[];
  /** z_q = z_e + sg[e − z_e], flattened: [batch, latentDim]. */
  readonly zQ: tf.Tensor2D;

  constructor(
    readonly zE: tf.Tensor3D,
    readonly codes: tf.Tensor3D,
    readonly indices: tf.Tensor2D,
    /** The codebook [K, D] as it was when the codes were chosen (logProb quantizes against it). */
    readonly codebook: tf.Tensor2D,
    readonly quantizer: VectorQuantizerPosterior,
  ) {
    const [batch, n, d] = zE.shape;
    this.batchShape = [batch];
    this.eventShape = [n * d];
    this.zQ = tf.tidy(() => tf.reshape(tf.add(zE, stopGradient(tf.sub(codes, zE))), [batch, n * d]));
  }

  /** z_q, with no gradient (the value is the chosen codes; `rng` is not used). */
  sample(_rng?: RandomStream): tf.Tensor {
    return stopGradient(this.zQ);
  }

  /** z_q with the straight-through gradient: ∂/∂z_e of a loss on z_q is its gradient wrt z_q. */
  rsample(_rng?: RandomStream): tf.Tensor {
    return this.zQ.clone();
  }

  mean(): tf.Tensor {
    return this.zQ.clone();
  }

  mode(): tf.Tensor {
    return this.zQ.clone();
  }

  entropy(): tf.Tensor {
    return tf.zeros(this.batchShape);
  }

  // z: [..., batch, latentDim] -> [..., batch]: 0 where every vector of z quantizes to this
  // distribution's code, −∞ elsewhere.
  logProb(z: tf.Tensor): tf.Tensor {
    const latentDim = this.eventShape[0]!;
    const [, n, d] = this.zE.shape;
    if (z.shape[z.rank - 1] !== latentDim || z.rank < 2) {
      throw new ShapeError(`vector_quantizer: logProb argument has shape [${z.shape.join(', ')}], expected [..., ${this.batchShape[0]}, ${latentDim}]`);
    }
    return tf.tidy(() => {
      const lead = z.shape.slice(0, -1);
      const indices = tf.reshape(nearestCodes(tf.reshape(z, [-1, d]), this.codebook), [...lead, n]);
      const same = tf.all(tf.equal(indices, this.indices), -1);
      return tf.where(same, tf.zeros(same.shape), tf.fill(same.shape, -Infinity));
    });
  }
}

/**
 * The `vector_quantizer` posterior family. Without EMA the codebook [K, D] is a trainable variable
 * (moved by the objective's codebook term); with EMA the codebook, the cluster sizes N [K] and the
 * code sums m [K, D] are non-trainable `state`, moved by `update` in training steps.
 */
export class VectorQuantizerPosterior implements PosteriorFamily {
  readonly reparameterized = true;
  readonly variables: tf.Variable[];
  readonly state: tf.Variable[];
  /** [K, D]. */
  readonly codebook: tf.Variable;
  /** [K], moving average of the number of vectors assigned to each code per batch (EMA or resets only). */
  readonly clusterSize: tf.Variable | undefined;
  /** [K, D], moving average of the sum of the vectors assigned to each code (EMA only). */
  readonly codeSum: tf.Variable | undefined;
  /** N, the number of code vectors per example. */
  readonly vectorsPerExample: number;

  constructor(
    readonly options: VectorQuantizerOptions,
    initRng: RandomStream,
    /** Draws the encoder outputs that dead codes move to; needed when `deadCodeThreshold` > 0. */
    private readonly resetRng?: RandomStream,
  ) {
    const { latentDim, numCodes, codeDim, ema, deadCodeThreshold } = options;
    checkSizes(latentDim, codeDim);
    if (!Number.isInteger(numCodes) || numCodes < 1) throw new ComponentConfigError(`vector_quantizer: codes must be a positive integer, got ${numCodes}`, 'posterior.codes');
    if (deadCodeThreshold > 0 && !resetRng) throw new Error('vector_quantizer: dead_code_threshold > 0 needs a random stream for the resets');
    this.vectorsPerExample = latentDim / codeDim;
    // U(−1/K, 1/K): codes start near the origin, so early assignments spread by direction.
    const initial = tf.tidy(() => initRng.uniform([numCodes, codeDim], -1 / numCodes, 1 / numCodes));
    this.codebook = tf.variable(initial, !ema);
    initial.dispose();
    const tracksUsage = ema || deadCodeThreshold > 0;
    // Each code starts as one pseudo-observation at its initial place: N = 1, m = e.
    this.clusterSize = tracksUsage ? tf.variable(tf.ones([numCodes]), false) : undefined;
    this.codeSum = ema ? tf.variable(this.codebook.clone(), false) : undefined;
    this.variables = ema ? [] : [this.codebook];
    this.state = [...(ema ? [this.codebook] : []), ...(this.clusterSize ? [this.clusterSize] : []), ...(this.codeSum ? [this.codeSum] : [])];
  }

  get numCodes(): number {
    return this.options.numCodes;
  }

  get codeDim(): number {
    return this.options.codeDim;
  }

  get ema(): boolean {
    return this.options.ema;
  }

  paramShape(latent: LatentSpec): number[] {
    checkSizes(latent.dim, this.options.codeDim);
    return [latent.dim];
  }

  // params: [batch, latentDim] -> Quantized (z_e and the codes: [batch, N, D]; indices [batch, N])
  distribution(params: tf.Tensor): Quantized {
    const { latentDim, codeDim } = this.options;
    if (params.rank !== 2 || params.shape[1] !== latentDim) {
      throw new ShapeError(`vector_quantizer: encoder output has shape [${params.shape.join(', ')}], expected [batch, ${latentDim}]`);
    }
    if (validationEnabled()) assertValues('vector_quantizer', 'encoder output', params, { allowed: 'finite', min: -Number.MAX_VALUE, max: Number.MAX_VALUE });
    const batch = params.shape[0]!;
    const n = this.vectorsPerExample;
    const [zE, codes, indices, codebook] = tf.tidy(() => {
      const book = this.codebook.clone() as tf.Tensor2D; // a snapshot: EMA updates replace the variable's value later
      const zE = tf.reshape(params, [batch, n, codeDim]) as tf.Tensor3D;
      const flat = nearestCodes(tf.reshape(params, [batch * n, codeDim]), book);
      // A one-hot matMul rather than a gather: tfjs rejects the int gradient a gather sends back
      // to indices computed on the tape. The product is exact (one 1 per row).
      const codes = tf.reshape(tf.matMul(oneHotFloat(flat, this.options.numCodes), book), [batch, n, codeDim]) as tf.Tensor3D;
      return [zE, codes, tf.reshape(flat, [batch, n]) as tf.Tensor2D, book];
    });
    return new Quantized(zE, codes, indices, codebook, this);
  }

  /**
   * One training step's codebook bookkeeping, called by the objective after the loss:
   * - the usage average N ← γ N + (1 − γ) n, n the batch's count per code;
   * - with EMA (appendix A.1; Laplace smoothing as in Razavi et al. 2019's implementation):
   *   m ← γ m + (1 − γ) Σ_{z→k} z,  Ñ_k = (N_k + ε) / (Σ N + K ε) · Σ N,  e_k = m_k / Ñ_k;
   * - with dead_code_threshold > 0, each code with N_k below it moves onto an encoder output of
   *   this batch drawn from the reset stream, with N_k = 1 (and m_k = e_k).
   * Nothing changes when the batch holds a non-finite encoder output, so a NaN step leaves the
   * state as it was. zE: [batch, N, D] (or [M, D]), indices: [batch, N] (or [M]).
   */
  update(zE: tf.Tensor, indices: tf.Tensor): void {
    const { numCodes, codeDim, ema, decay, epsilon, deadCodeThreshold } = this.options;
    const clusterSize = this.clusterSize;
    if (!clusterSize) return;
    tf.tidy(() => {
      const vectors = stopGradient(tf.reshape(zE, [-1, codeDim])); // [M, D]
      const count = vectors.shape[0]!;
      const onehot = oneHotFloat(tf.reshape(indices, [-1]), numCodes); // [M, K]
      const finite = tf.all(tf.isFinite(vectors));
      let size = tf.add(tf.mul(clusterSize, decay), tf.mul(tf.sum(onehot, 0), 1 - decay)); // [K]
      let codebook: tf.Tensor = this.codebook;
      let codeSum: tf.Tensor | undefined;
      if (ema && this.codeSum) {
        const sums = tf.matMul(tf.transpose(onehot), vectors); // [K, D]
        codeSum = tf.add(tf.mul(this.codeSum, decay), tf.mul(sums, 1 - decay));
        const total = tf.sum(size);
        const smoothed = tf.mul(tf.div(tf.add(size, epsilon), tf.add(total, numCodes * epsilon)), total);
        codebook = tf.div(codeSum, tf.expandDims(smoothed, 1));
      }
      if (deadCodeThreshold > 0 && this.resetRng && count > 0) {
        const dead = tf.less(size, deadCodeThreshold); // [K]
        const deadRows = broadcastMask(dead, [numCodes, codeDim]);
        const rows = tf.cast(tf.minimum(tf.floor(tf.mul(this.resetRng.uniform([numCodes]), count)), count - 1), 'int32');
        const candidates = tf.gather(vectors, rows); // [K, D]
        codebook = tf.where(deadRows, candidates, codebook);
        if (codeSum) codeSum = tf.where(deadRows, candidates, codeSum);
        size = tf.where(dead, tf.onesLike(size), size);
      }
      clusterSize.assign(tf.where(broadcastMask(finite, [numCodes]), size, clusterSize));
      if (codeSum && this.codeSum) this.codeSum.assign(tf.where(broadcastMask(finite, [numCodes, codeDim]), codeSum, this.codeSum));
      if (codebook !== this.codebook) this.codebook.assign(tf.where(broadcastMask(finite, [numCodes, codeDim]), codebook, this.codebook));
    });
  }

  /** The latent of given code indices, for decoding: indices [batch, N] (int32) -> [batch, latentDim]. */
  lookup(indices: tf.Tensor): tf.Tensor2D {
    const n = this.vectorsPerExample;
    if (indices.rank !== 2 || indices.shape[1] !== n) {
      throw new ShapeError(`vector_quantizer: indices have shape [${indices.shape.join(', ')}], expected [batch, ${n}]`);
    }
    return tf.tidy(() => tf.reshape(tf.gather(this.codebook, tf.cast(indices, 'int32')), [indices.shape[0]!, this.options.latentDim]) as tf.Tensor2D);
  }

  /** Code indices drawn uniformly (the VQ-VAE training prior), [batch, N] int32; decode them with `lookup`. */
  sampleIndices(batch: number, rng: RandomStream): tf.Tensor2D {
    const { numCodes } = this.options;
    return tf.tidy(() => tf.cast(tf.minimum(tf.floor(tf.mul(rng.uniform([batch, this.vectorsPerExample]), numCodes)), numCodes - 1), 'int32') as tf.Tensor2D);
  }

  /** Replace the codebook (e.g. by k-means centres); the EMA statistics restart at N = 1, m = e. */
  setCodebook(codebook: tf.Tensor): void {
    const { numCodes, codeDim } = this.options;
    if (codebook.rank !== 2 || codebook.shape[0] !== numCodes || codebook.shape[1] !== codeDim) {
      throw new ShapeError(`vector_quantizer: codebook has shape [${codebook.shape.join(', ')}], expected [${numCodes}, ${codeDim}]`);
    }
    this.codebook.assign(codebook);
    tf.tidy(() => {
      this.clusterSize?.assign(tf.ones([numCodes]));
      this.codeSum?.assign(codebook);
    });
  }

  dispose(): void {
    this.codebook.dispose();
    this.clusterSize?.dispose();
    this.codeSum?.dispose();
  }
}

/**
 * One-hot rows as float32: [M] int32 -> [M, K]. Cast from tfjs's int32 one-hot, because the wasm
 * backend (tfjs 4.22) ignores oneHot's dtype argument and writes integer bits into a float32 result.
 */
export function oneHotFloat(indices: tf.Tensor, numCodes: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.cast(indices, 'int32') as tf.Tensor1D, numCodes), 'float32') as tf.Tensor2D);
}

/** A boolean mask of `shape` from a scalar or [K] condition (tfjs's where wants equal shapes). */
function broadcastMask(condition: tf.Tensor, shape: number[]): tf.Tensor {
  const rank = condition.rank;
  const expanded = rank === 0 || rank === shape.length ? condition : tf.reshape(condition, [...condition.shape, ...shape.slice(rank).map(() => 1)]);
  return tf.greater(tf.add(tf.zeros(shape), tf.cast(expanded, 'float32')), 0.5);
}

function checkSizes(latentDim: number, codeDim: number): void {
  if (!Number.isInteger(codeDim) || codeDim < 1 || latentDim % codeDim !== 0) {
    throw new ComponentConfigError(
      `vector_quantizer: latent_dim ${latentDim} is not a multiple of code_dim ${codeDim}; the encoder emits latent_dim values per example, ` +
        `read as latent_dim / code_dim vectors of code_dim values. Choose a code_dim that divides latent_dim, or another latent_dim`,
      'posterior.code_dim',
    );
  }
}

export const vectorQuantizer = defineComponent({
  kind: 'posterior',
  name: 'vector_quantizer',
  description: 'VQ-VAE vector quantizer: nearest of K codes per code_dim-sized vector, straight-through gradient, optional EMA codebook.',
  schema: z.object({
    codes: z.number().int().min(1).default(64).describe('K, the number of codes in the codebook'),
    code_dim: z.number().int().min(1).default(4).describe('D, the size of one code vector; latent_dim must be a multiple of it'),
    ema: z.boolean().default(false).describe('update the codebook by exponential moving averages instead of by gradient'),
    decay: z.number().gt(0).lt(1).default(0.99).describe('γ of the moving averages (EMA codebook, usage for dead-code resets)'),
    epsilon: z.number().gt(0).default(1e-5).describe('Laplace smoothing of the EMA cluster sizes'),
    dead_code_threshold: z
      .number()
      .min(0)
      .default(0)
      .describe('reset a code whose moving-average count of assigned vectors per batch falls below this to an encoder output; 0 = never'),
  }),
  create: (options, ctx) =>
    new VectorQuantizerPosterior(
      {
        latentDim: ctx.latentDim,
        numCodes: options.codes,
        codeDim: options.code_dim,
        ema: options.ema,
        decay: options.decay,
        epsilon: options.epsilon,
        deadCodeThreshold: options.dead_code_threshold,
      },
      ctx.streams.stream('init/posterior'),
      options.dead_code_threshold > 0 ? ctx.streams.stream('vq/reset') : undefined,
    ),
});
