import * as tf from '@tensorflow/tfjs-core';
import {
  ComponentConfigError,
  type Distribution,
  type Prior,
  type PriorModelAccess,
  type RandomStream,
  ShapeError,
  defineComponent,
  shapesEqual,
} from '@vaelab/core';
import { z } from 'zod';
import { SharedMixture } from './mixture.js';

export interface VampPriorOptions {
  /** Number of pseudo-inputs K. */
  pseudoInputs: number;
  /** Mean and standard deviation of the initial pseudo-inputs. */
  initMean: number;
  initStd: number;
  /** Clamp the pseudo-inputs to [0, 1] (a hard tanh) before encoding them. */
  clamp: boolean;
}

/**
 * The VampPrior (Tomczak & Welling 2018, eq. 9): p(z) = (1/K) Σ_k q(z | u_k), the aggregate of
 * the model's own posterior at K learnable pseudo-inputs u_k of the data's shape.
 *
 * `bind` receives the model's encoder path; `distribution` encodes the pseudo-inputs on every
 * call, so the loss's gradients reach both the pseudo-inputs and the encoder. The posterior's
 * distributions must evaluate `logProb` at any z and broadcast over extra leading axes.
 */
export class VampPrior implements Prior {
  /** u: [K, ...dataShape]. */
  readonly pseudoInputs: tf.Variable;
  private model: PriorModelAccess | undefined;

  constructor(
    readonly latentDim: number,
    readonly dataShape: number[],
    readonly options: VampPriorOptions,
    rng: RandomStream,
  ) {
    const init = tf.tidy(() => tf.add(tf.mul(rng.normal([options.pseudoInputs, ...dataShape]), options.initStd), options.initMean));
    this.pseudoInputs = tf.variable(init);
    init.dispose();
  }

  get variables(): tf.Variable[] {
    return [this.pseudoInputs];
  }

  bind(model: PriorModelAccess): void {
    if (!shapesEqual(model.dataShape, this.dataShape)) {
      throw new ShapeError(`vamp: the model's data shape is [${model.dataShape.join(', ')}], the pseudo-inputs have [${this.dataShape.join(', ')}]`);
    }
    this.model = model;
    // Probe the posterior once with one pseudo-input, so that a misfit fails when the model is built.
    tf.tidy(() => {
      this.check(model.encode(tf.slice(this.inputs(), 0, 1)), 1);
    });
  }

  /** The pseudo-inputs as the encoder sees them (clamped to [0, 1] when `clamp`). */
  inputs(): tf.Tensor {
    return this.options.clamp ? tf.clipByValue(this.pseudoInputs, 0, 1) : this.pseudoInputs;
  }

  private check(q: Distribution, n: number): void {
    const posterior = this.model?.posteriorName ?? 'posterior';
    if (q.logProbOnlyAtOwnSamples) {
      throw new ComponentConfigError(
        `prior 'vamp' cannot be used with posterior '${posterior}': the VampPrior evaluates q(z | u_k) at every z, but '${posterior}' gives log q only at its own samples (logProbOnlyAtOwnSamples, as normalizing flows do). Use a posterior with a log-density everywhere (diagonal_gaussian, a full-covariance Gaussian) or another prior.`,
        'prior',
      );
    }
    if (typeof q.logProb !== 'function' || typeof q.sample !== 'function') {
      throw new ComponentConfigError(
        `prior 'vamp' cannot be used with posterior '${posterior}': its distributions lack ${typeof q.logProb !== 'function' ? 'logProb' : 'sample'}, which the VampPrior needs`,
        'prior',
      );
    }
    if (!shapesEqual(q.batchShape, [n]) || !shapesEqual(q.eventShape, [this.latentDim])) {
      throw new ShapeError(
        `vamp: posterior '${posterior}' at ${n} pseudo-input(s) gives batch [${q.batchShape.join(', ')}] and event [${q.eventShape.join(', ')}], expected [${n}] and [${this.latentDim}]`,
      );
    }
  }

  // -> batch [batch], event [latentDim]
  distribution(batch: number): SharedMixture {
    const model = this.model;
    if (!model) {
      throw new Error("vamp: distribution() was called before bind(); the VampPrior needs the model's encoder (VaeModel binds it when it is built)");
    }
    const u = this.inputs();
    const components = model.encode(u);
    this.check(components, this.options.pseudoInputs);
    const uniform = tf.zeros([this.options.pseudoInputs]) as tf.Tensor1D;
    return new SharedMixture(uniform, components, batch, (indices) => model.encode(tf.gather(u, indices)));
  }

  dispose(): void {
    this.pseudoInputs.dispose();
  }
}

export const vamp = defineComponent({
  kind: 'prior',
  name: 'vamp',
  description: 'VampPrior: the mixture of the posterior at K learnable pseudo-inputs (Tomczak & Welling 2018); KL is a Monte Carlo estimate.',
  schema: z.object({
    pseudo_inputs: z.number().int().positive().default(500).describe('number of pseudo-inputs K'),
    init_mean: z.number().default(0.05).describe("mean of the initial pseudo-inputs (drawn from the 'init/prior' stream)"),
    init_std: z.number().nonnegative().default(0.01).describe('standard deviation of the initial pseudo-inputs'),
    clamp: z.boolean().default(true).describe('clamp the pseudo-inputs to the data range [0, 1] (hard tanh) before encoding'),
  }),
  create: (options, ctx) =>
    new VampPrior(
      ctx.latentDim,
      ctx.dataShape,
      { pseudoInputs: options.pseudo_inputs, initMean: options.init_mean, initStd: options.init_std, clamp: options.clamp },
      ctx.streams.stream('init/prior'),
    ),
});
