import * as tf from '@tensorflow/tfjs-core';
import { Normal, type RandomStream, VaeLabError } from '@vaelab/core';
import type { VaeModel } from '@vaelab/objectives';

/*
 * The two halves of a trained model used on their own: x -> a code (the posterior mean) and
 * z -> an image (the likelihood's mean, or a draw from p(x | z)); and sampling from the prior.
 */

/** The part of a VQ-VAE posterior family that generation needs (duck-typed: eval does not import posteriors). */
interface CodeIndexed {
  sampleIndices(batch: number, rng: RandomStream): tf.Tensor2D;
  lookup(indices: tf.Tensor): tf.Tensor2D;
}

/** Whether the model's posterior family quantizes to a codebook (VQ-VAE): codes are looked up, not drawn. */
export function isCodebookPosterior(model: VaeModel): boolean {
  const p = model.parts.posterior as unknown as Partial<CodeIndexed>;
  return typeof p.sampleIndices === 'function' && typeof p.lookup === 'function';
}

export interface CodeOptions {
  /** The condition (e.g. one-hot labels [batch, classes]) of a conditional model. */
  cond?: tf.Tensor | undefined;
  /** Draws z ~ q when the posterior has no mean. */
  rng?: RandomStream;
}

/**
 * The code of each example: E_q(z|x)[z] (for a VQ-VAE, the nearest codes), or one z ~ q when the
 * posterior has no mean. x: [batch, ...dataShape] -> [batch, latentDim].
 */
export function encodeMeans(model: VaeModel, x: tf.Tensor, opts: CodeOptions = {}): tf.Tensor2D {
  const { encoder, posterior } = model.parts;
  return tf.tidy(() => {
    const q = posterior.distribution(encoder.apply(x, opts.cond));
    if (q.mean) return tf.reshape(tf.clone(q.mean()), [x.shape[0]!, -1]) as tf.Tensor2D;
    if (!opts.rng) throw new VaeLabError('encodeMeans: the posterior has no mean; pass an rng to draw z ~ q');
    return tf.reshape(q.sample(opts.rng), [x.shape[0]!, -1]) as tf.Tensor2D;
  });
}

export interface DecodeOptions extends CodeOptions {
  /** Draw x ~ p(x | z) instead of taking the likelihood's mean (needs `rng`). */
  draw?: boolean;
}

/**
 * Decode codes to data: the likelihood's mean E_p(x|z)[x] (its mode, when it has no mean), or a
 * draw from p(x | z) with `draw`. z: [batch, latentDim] -> [batch, ...dataShape].
 */
export function decodeCodes(model: VaeModel, z: tf.Tensor, opts: DecodeOptions = {}): tf.Tensor {
  const { decoder, likelihood } = model.parts;
  return tf.tidy(() => {
    const px = likelihood.distribution(decoder.apply(z, opts.cond));
    if (opts.draw) {
      if (!opts.rng) throw new VaeLabError('decodeCodes: draw needs an rng');
      return px.sample(opts.rng);
    }
    if (px.mean) return tf.clone(px.mean());
    if (px.mode) return tf.clone(px.mode());
    if (!opts.rng) throw new VaeLabError('decodeCodes: the likelihood has neither a mean nor a mode; pass an rng to draw');
    return px.sample(opts.rng);
  });
}

export interface SampleOptions extends DecodeOptions {
  rng: RandomStream;
  /**
   * Scales the prior's spread: z = μ + T·(z₀ − μ), z₀ ~ p(z) (for a Gaussian prior, the standard
   * deviation times T). T < 1 trades diversity for typical samples (Kingma & Dhariwal 2018, §6).
   * Ignored by a VQ-VAE, whose codes are drawn uniformly from the codebook.
   */
  temperature?: number;
}

export interface PriorSamples {
  /** [n, latentDim]. */
  z: tf.Tensor2D;
  /** [n, ...dataShape]. */
  x: tf.Tensor;
}

/** n codes drawn from the prior (with temperature), and their decodings. */
export function samplePrior(model: VaeModel, n: number, opts: SampleOptions): PriorSamples {
  if (!Number.isInteger(n) || n < 1) throw new VaeLabError(`samplePrior: n must be a positive integer, got ${n}`);
  const temperature = opts.temperature ?? 1;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new VaeLabError(`samplePrior: temperature must be a finite number >= 0, got ${temperature}`);
  const z = tf.tidy(() => priorCodes(model, n, temperature, opts.rng));
  const x = decodeCodes(model, z, opts);
  return { z, x };
}

/** z ~ p(z) with its spread scaled by T: [n, latentDim]. */
export function priorCodes(model: VaeModel, n: number, temperature: number, rng: RandomStream): tf.Tensor2D {
  return tf.tidy(() => {
    if (isCodebookPosterior(model)) {
      const vq = model.parts.posterior as unknown as CodeIndexed;
      return vq.lookup(vq.sampleIndices(n, rng));
    }
    const p = model.parts.prior.distribution(n);
    if (p instanceof Normal) {
      const eps = rng.normal(p.loc.shape);
      return tf.reshape(tf.add(p.loc, tf.mul(tf.mul(p.scale, temperature), eps)), [n, -1]) as tf.Tensor2D;
    }
    const z0 = p.sample(rng);
    if (temperature === 1 || !p.mean) return tf.reshape(z0, [n, -1]) as tf.Tensor2D;
    const mu = p.mean();
    return tf.reshape(tf.add(mu, tf.mul(temperature, tf.sub(z0, mu))), [n, -1]) as tf.Tensor2D;
  });
}

/** A Float32Array's rows as a [rows, dim] tensor. */
export function codesTensor(codes: Float32Array | number[][], dim?: number): tf.Tensor2D {
  if (Array.isArray(codes)) return tf.tensor2d(codes);
  const d = dim ?? codes.length;
  return tf.tensor2d(codes, [codes.length / d, d]);
}
