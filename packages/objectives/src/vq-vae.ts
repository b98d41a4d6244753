import * as tf from '@tensorflow/tfjs-core';
import {
  ComponentConfigError,
  type Distribution,
  type Forward,
  type LossResult,
  type Objective,
  type StepContext,
  defineComponent,
  stopGradient,
} from '@vaelab/core';
import { z } from 'zod';
import { type DataInfo, bitsPerDim, tidyLoss } from './terms.js';

/**
 * What vq_vae reads from the posterior's distribution: the `Quantized` distribution of
 * @vaelab/posteriors' `vector_quantizer`, described by its shape so that this package needs no
 * import of that one.
 */
export interface QuantizedView extends Distribution {
  readonly family: 'vector_quantizer';
  /** Encoder vectors z_e: [batch, N, D]. */
  readonly zE: tf.Tensor;
  /** Chosen codes e: [batch, N, D], with a gradient path to a trainable codebook. */
  readonly codes: tf.Tensor;
  /** Code indices: [batch, N], int32. */
  readonly indices: tf.Tensor;
  readonly quantizer: {
    readonly numCodes: number;
    readonly codeDim: number;
    readonly ema: boolean;
    /** EMA codebook update and dead-code resets, for a training step. */
    update(zE: tf.Tensor, indices: tf.Tensor): void;
  };
}

export function isQuantized(q: Distribution): q is QuantizedView {
  return (q as { family?: unknown }).family === 'vector_quantizer';
}

export interface VqVaeOptions {
  /** β, the weight of the commitment term. */
  beta: number;
}

/**
 * The VQ-VAE loss (van den Oord et al. 2017, eq. 3), per example, averaged over the batch:
 *   loss = −log p(x | z_q) + ‖sg[z_e] − e‖² + β ‖z_e − sg[e]‖²,
 * the squared norms summed over the N latent vectors and their D components. The codebook term is
 * left out of the loss when the codebook follows EMA updates (appendix A.1), but still reported.
 * Terms: reconstruction (nats), codebook and commitment (squared distances; commitment includes β),
 * kl = N·log K (the constant KL to a uniform prior over the codes, not in the loss), nelbo =
 * reconstruction + kl, bits_per_dim of nelbo when the data is discrete, perplexity and usage of
 * the codes in the batch. Vector: code_usage [K], the fraction of the batch's vectors per code.
 */
export class VqVae implements Objective {
  readonly name = 'vq_vae';
  readonly needsReparameterization = true;
  private seen: { numCodes: number; vectors: number; ema: boolean } | undefined;

  constructor(
    readonly options: VqVaeOptions,
    readonly data: DataInfo = { discrete: false },
  ) {
    if (!(options.beta >= 0)) throw new ComponentConfigError(`vq_vae: beta must be ≥ 0, got ${options.beta}`, 'objective.beta');
  }

  loss(fwd: Forward, ctx: StepContext): LossResult {
    const q = fwd.q;
    if (!isQuantized(q)) {
      throw new ComponentConfigError(
        `objective 'vq_vae' needs the posterior 'vector_quantizer' (it reads the codebook and the chosen codes), ` +
          `but the posterior gave a ${q.constructor.name} distribution; set posterior.name: vector_quantizer or choose another objective`,
        'objective',
      );
    }
    const { numCodes, ema } = q.quantizer;
    const vectors = q.indices.shape[1]!;
    this.seen = { numCodes, vectors, ema };
    const result = tidyLoss(() => {
      const reconstruction = tf.mean(tf.neg(fwd.px.logProb(fwd.x))) as tf.Scalar;
      // ‖sg[z_e] − e‖² moves only the codes; ‖z_e − sg[e]‖² only the encoder (eq. 3).
      const codebook = tf.mean(tf.sum(tf.square(tf.sub(stopGradient(q.zE), q.codes)), [1, 2])) as tf.Scalar;
      const commitment = tf.mul(tf.mean(tf.sum(tf.square(tf.sub(q.zE, stopGradient(q.codes))), [1, 2])), this.options.beta) as tf.Scalar;
      const loss = (ema ? tf.add(reconstruction, commitment) : tf.addN([reconstruction, codebook, commitment])) as tf.Scalar;
      // Average one-hot assignment over the batch's vectors: [K].
      // (Cast from int32: on wasm, tfjs 4.22's oneHot ignores a float32 dtype argument.)
      const usageByCode = tf.mean(tf.cast(tf.oneHot(tf.reshape(q.indices, [-1]) as tf.Tensor1D, numCodes), 'float32'), 0) as tf.Tensor1D;
      const entropy = tf.neg(tf.sum(tf.mul(usageByCode, tf.log(tf.maximum(usageByCode, 1e-30)))));
      const kl = tf.scalar(vectors * Math.log(numCodes));
      const nelbo = tf.add(reconstruction, kl) as tf.Scalar;
      const terms: Record<string, tf.Scalar> = {
        reconstruction,
        codebook,
        commitment,
        kl,
        nelbo,
        perplexity: tf.exp(entropy) as tf.Scalar,
        usage: tf.mean(tf.cast(tf.greater(usageByCode, 0), 'float32')) as tf.Scalar,
      };
      if (this.data.discrete) terms.bits_per_dim = bitsPerDim(nelbo, fwd.x);
      return { loss, terms, vectors: { code_usage: usageByCode } };
    });
    // After the loss: the update replaces the codebook's value, which the loss has already read.
    if (ctx.training) q.quantizer.update(q.zE, q.indices);
    return result;
  }

  describe(): string[] {
    if (!this.seen) return [];
    const { numCodes, vectors, ema } = this.seen;
    return [
      ema ? 'codebook: EMA updates in training steps (reported, not in the loss)' : 'codebook: by gradient of ‖sg[z_e] − e‖² (in the loss)',
      `kl: constant ${vectors}·log ${numCodes} = ${(vectors * Math.log(numCodes)).toFixed(3)} nats (uniform prior over the codes; not in the loss)`,
    ];
  }
}

export const vqVae = defineComponent({
  kind: 'objective',
  name: 'vq_vae',
  description: 'VQ-VAE loss: reconstruction + codebook + β·commitment, with the straight-through gradient; needs the vector_quantizer posterior.',
  schema: z.object({
    beta: z.number().min(0).default(0.25).describe('weight β of the commitment term ‖z_e − sg[e]‖²'),
  }),
  create: (options, ctx) => new VqVae({ beta: options.beta }, { discrete: ctx.discrete }),
});
