import * as tf from '@tensorflow/tfjs-core';
import { type LatentSpec, type PosteriorFamily, type RandomStream, ShapeError, defineComponent } from '@vaelab/core';
import { z } from 'zod';
import { FlowDistribution, type FlowTransform, type ScaleParameterization, baseParameters } from './flow.js';
import { sliceLast } from './linalg.js';

/*
 * MADE degrees (Germain et al. 2015). Latent z_i (0-based) has degree i + 1. Hidden unit k has
 * degree k mod D, in 0..D−1; a unit of degree 0 sees no z at all, only the context h, so that the
 * first output (which may depend on no z) still sees h. A unit of degree d sees inputs and units of
 * degree ≤ d; output i (degree i + 1) sees units of degree < i + 1, which makes it depend on
 * z_0..z_{i−1} only.
 */

function hiddenDegrees(size: number, dim: number): number[] {
  return Array.from({ length: size }, (_, k) => k % dim);
}

/** mask[j][k] = 1 when unit k of degree out[k] may see unit j of degree in[j] (strict: in < out). */
function degreeMask(inDegrees: number[], outDegrees: number[], strict: boolean): tf.Tensor2D {
  const values: number[] = [];
  for (const dIn of inDegrees) for (const dOut of outDegrees) values.push((strict ? dIn < dOut : dIn <= dOut) ? 1 : 0);
  return tf.tensor2d(values, [inDegrees.length, outDegrees.length]);
}

/** U(−1/√fan_in, 1/√fan_in), as networks' `uniform_fan_in` (PyTorch's nn.Linear default). */
function uniformVariable(shape: number[], fanIn: number, rng: RandomStream): tf.Variable {
  const bound = 1 / Math.sqrt(fanIn);
  const init = rng.uniform(shape, -bound, bound);
  const v = tf.variable(init);
  init.dispose();
  return v;
}

/**
 * A MADE network for one IAF step: (z, h) -> (m, s), each [batch, D], with m_i and s_i depending
 * on z_0..z_{i−1} and on h. h enters the first hidden layer unmasked. Hidden activation: ELU.
 */
export class Made {
  readonly variables: tf.Variable[] = [];
  private readonly masks: tf.Tensor2D[] = [];
  private readonly inputKernel: tf.Variable;
  private readonly contextKernel: tf.Variable | undefined;
  private readonly hiddenKernels: tf.Variable[] = [];
  private readonly biases: tf.Variable[] = [];
  private readonly outKernels: [tf.Variable, tf.Variable];
  private readonly outBiases: [tf.Variable, tf.Variable];

  constructor(
    readonly dim: number,
    readonly contextDim: number,
    readonly hidden: readonly number[],
    rng: RandomStream,
  ) {
    if (hidden.length === 0) throw new Error('iaf: MADE needs at least one hidden layer (the context enters the first)');
    const inputDegrees = Array.from({ length: dim }, (_, i) => i + 1);
    const degrees = hidden.map((size) => hiddenDegrees(size, dim));
    const first = hidden[0]!;
    this.masks.push(degreeMask(inputDegrees, degrees[0]!, false));
    this.inputKernel = uniformVariable([dim, first], dim + contextDim, rng);
    this.variables.push(this.inputKernel);
    if (contextDim > 0) {
      this.contextKernel = uniformVariable([contextDim, first], dim + contextDim, rng);
      this.variables.push(this.contextKernel);
    }
    this.biases.push(uniformVariable([first], dim + contextDim, rng));
    this.variables.push(this.biases[0]!);
    for (let l = 1; l < hidden.length; l++) {
      this.masks.push(degreeMask(degrees[l - 1]!, degrees[l]!, false));
      const kernel = uniformVariable([hidden[l - 1]!, hidden[l]!], hidden[l - 1]!, rng);
      const bias = uniformVariable([hidden[l]!], hidden[l - 1]!, rng);
      this.hiddenKernels.push(kernel);
      this.biases.push(bias);
      this.variables.push(kernel, bias);
    }
    const last = hidden[hidden.length - 1]!;
    this.masks.push(degreeMask(degrees[degrees.length - 1]!, inputDegrees, true));
    const mKernel = uniformVariable([last, dim], last, rng);
    const mBias = uniformVariable([dim], last, rng);
    const sKernel = uniformVariable([last, dim], last, rng);
    const sBias = uniformVariable([dim], last, rng);
    this.outKernels = [mKernel, sKernel];
    this.outBiases = [mBias, sBias];
    this.variables.push(mKernel, mBias, sKernel, sBias);
  }

  // z: [batch, D], h: [batch, C] -> m, s: [batch, D]
  apply(z: tf.Tensor2D, h: tf.Tensor2D | undefined): { m: tf.Tensor2D; s: tf.Tensor2D } {
    return tf.tidy(() => {
      // Plain matMuls (no transpose flags): the fast kernel on wasm.
      let pre = tf.add(tf.matMul(z, tf.mul(this.inputKernel, this.masks[0]!) as tf.Tensor2D), this.biases[0]!);
      if (this.contextKernel && h) pre = tf.add(pre, tf.matMul(h, this.contextKernel as tf.Tensor2D));
      let a = tf.elu(pre) as tf.Tensor2D;
      this.hiddenKernels.forEach((kernel, l) => {
        a = tf.elu(tf.add(tf.matMul(a, tf.mul(kernel, this.masks[l + 1]!) as tf.Tensor2D), this.biases[l + 1]!)) as tf.Tensor2D;
      });
      const outMask = this.masks[this.masks.length - 1]!;
      const [m, s] = this.outKernels.map((kernel, i) => tf.add(tf.matMul(a, tf.mul(kernel, outMask) as tf.Tensor2D), this.outBiases[i]!) as tf.Tensor2D);
      return { m: m!, s: s! };
    });
  }

  dispose(): void {
    tf.dispose(this.variables);
    tf.dispose(this.masks);
  }
}

/**
 * T IAF steps (Kingma et al. 2016, §4 and Algorithm 1, the numerically stable "LSTM-type" update):
 *   (m, s) = MADE_t(z, h),  σ = sigmoid(s + forget_bias),  z ← σ ⊙ z + (1 − σ) ⊙ m,
 *   log|det| += Σ log σ   (the Jacobian of one step is lower triangular with diagonal σ).
 * The order of the variables is reversed between steps, so that each variable is conditioned on
 * every other one over two steps; the reversal has |det| = 1.
 */
export class IafFlow implements FlowTransform {
  constructor(
    readonly networks: readonly Made[],
    readonly context: tf.Tensor2D | undefined,
    readonly forgetBias: number,
  ) {}

  /** One step on its own input order: z: [batch, D] -> z, logDetJacobian: [batch]. */
  step(t: number, z: tf.Tensor2D): { z: tf.Tensor2D; logDetJacobian: tf.Tensor1D } {
    return tf.tidy(() => {
      const { m, s } = this.networks[t]!.apply(z, this.context);
      const gate = tf.add(s, this.forgetBias);
      // log σ = −softplus(−gate); tf.logSigmoid's gradient reads a tensor its tidy scope disposed.
      const sigma = tf.sigmoid(gate);
      const next = tf.add(m, tf.mul(sigma, tf.sub(z, m))) as tf.Tensor2D; // σ z + (1 − σ) m
      return { z: next, logDetJacobian: tf.neg(tf.sum(tf.softplus(tf.neg(gate)), -1)) as tf.Tensor1D };
    });
  }

  transform(z0: tf.Tensor2D): { z: tf.Tensor2D; logDetJacobian: tf.Tensor1D } {
    return tf.tidy(() => {
      let z = z0;
      let logDet: tf.Tensor = tf.zeros([z0.shape[0]]);
      this.networks.forEach((_, t) => {
        if (t > 0) z = tf.reverse(z, 1);
        const r = this.step(t, z);
        z = r.z;
        logDet = tf.add(logDet, r.logDetJacobian);
      });
      return { z, logDetJacobian: logDet as tf.Tensor1D };
    });
  }
}

export interface IafOptions {
  /** Number of IAF steps T. */
  steps: number;
  /** Hidden layer sizes of each step's MADE. */
  hidden: number[];
  /** Size of the context h the encoder emits (0: none). */
  contextDim: number;
  /** Added to s before the sigmoid, so that σ starts near 1 and each step starts near the identity. */
  forgetBias: number;
  /** What the encoder predicts for the base's scale. */
  scale: ScaleParameterization;
}

export const IAF_DEFAULTS: IafOptions = { steps: 2, hidden: [64], contextDim: 16, forgetBias: 1, scale: 'log_var' };

/**
 * q(z | x): a diagonal Gaussian base N(μ0, diag σ0²) followed by T IAF steps (Kingma et al. 2016).
 * Per example the encoder emits 2D + C values: μ0 (D), s0 (D; log σ0² or log σ0), h (C). The MADE
 * weights are this family's own variables, initialized from the 'init/posterior' stream.
 */
export class IafPosterior implements PosteriorFamily {
  readonly reparameterized = true;
  readonly networks: Made[];
  readonly options: IafOptions;

  constructor(
    readonly latentDim: number,
    options: Partial<IafOptions>,
    rng: RandomStream,
  ) {
    this.options = { ...IAF_DEFAULTS, ...options };
    const { steps, hidden, contextDim } = this.options;
    this.networks = Array.from({ length: steps }, () => new Made(latentDim, contextDim, hidden, rng));
  }

  get variables(): tf.Variable[] {
    return this.networks.flatMap((n) => n.variables);
  }

  private get size(): number {
    return 2 * this.latentDim + this.options.contextDim;
  }

  paramShape(latent: LatentSpec): number[] {
    if (latent.dim !== this.latentDim) throw new ShapeError(`iaf: built for latent_dim ${this.latentDim}, asked for ${latent.dim}`);
    return [this.size];
  }

  // params: [batch, 2D + C] -> FlowDistribution with batch [batch], event [D]
  distribution(params: tf.Tensor): FlowDistribution {
    const dim = this.latentDim;
    const { contextDim, scale, forgetBias } = this.options;
    if (params.rank !== 2 || params.shape[1] !== this.size) {
      throw new ShapeError(
        `iaf: encoder output has shape [${params.shape.join(', ')}], expected [batch, ${this.size}] (2D + context_dim for latent_dim ${dim}, context_dim ${contextDim})`,
      );
    }
    const p = params as tf.Tensor2D;
    const { loc, logScale } = baseParameters(p, dim, scale);
    const context = contextDim > 0 ? (sliceLast(p, 2 * dim, contextDim) as tf.Tensor2D) : undefined;
    return new FlowDistribution('iaf', loc, logScale, new IafFlow(this.networks, context, forgetBias));
  }

  dispose(): void {
    for (const n of this.networks) n.dispose();
  }
}

export const iaf = defineComponent({
  kind: 'posterior',
  name: 'iaf',
  description: 'Diagonal Gaussian followed by T inverse autoregressive flow steps with MADE networks (Kingma et al. 2016).',
  schema: z.object({
    steps: z.number().int().min(1).default(IAF_DEFAULTS.steps).describe('number of IAF steps T'),
    hidden: z.array(z.number().int().positive()).min(1).default(IAF_DEFAULTS.hidden).describe("hidden layer sizes of each step's MADE"),
    context_dim: z.number().int().min(0).default(IAF_DEFAULTS.contextDim).describe('size of the context h emitted by the encoder (0: none)'),
    forget_bias: z.number().default(IAF_DEFAULTS.forgetBias).describe('added to s before σ = sigmoid(·), so that each step starts near the identity'),
    scale: z.enum(['log_var', 'log_std']).default(IAF_DEFAULTS.scale).describe("what the encoder predicts for the base's scale"),
  }),
  create: (options, ctx) =>
    new IafPosterior(
      ctx.latentDim,
      { steps: options.steps, hidden: options.hidden, contextDim: options.context_dim, forgetBias: options.forget_bias, scale: options.scale },
      ctx.streams.stream('init/posterior'),
    ),
});
