import * as tf from '@tensorflow/tfjs-core';
import {
  type Decoder,
  type Distribution,
  type Encoder,
  type Forward,
  type Likelihood,
  type PosteriorFamily,
  type Prior,
  type RandomStream,
  VaeLabError,
  assertShape,
} from '@vaelab/core';

export interface VaeParts {
  encoder: Encoder;
  posterior: PosteriorFamily;
  decoder: Decoder;
  likelihood: Likelihood;
  prior: Prior;
  latentDim: number;
  dataShape: number[];
  /**
   * Number of classes of the label condition in a conditional VAE (Sohn et al. 2015): the encoder
   * and decoder then take cond = one-hot(label), [batch, numClasses]. Absent for an unconditional model.
   */
  numClasses?: number;
}

/**
 * The composition x -> q(z|x) -> z -> p(x|z), with the prior alongside. It owns nothing itself;
 * each part owns its variables. `namedVariables` gives stable names for checkpoints.
 */
const PARTS = ['encoder', 'posterior', 'decoder', 'likelihood', 'prior'] as const;

export class VaeModel {
  constructor(
    readonly parts: VaeParts,
    /** The posterior family's config name, for error messages (e.g. from the VampPrior). */
    posteriorName = 'posterior',
  ) {
    const { encoder, posterior } = parts;
    parts.prior.bind?.({
      dataShape: parts.dataShape,
      posteriorName,
      encode: (x) => posterior.distribution(encoder.apply(x)),
    });
  }

  /** Tell every part the global step (schedules such as a temperature follow it). */
  setStep(step: number): void {
    for (const part of PARTS) this.parts[part].setStep?.(step);
  }

  /** Tell every part whether the next calls are training steps (batch norm's statistics follow it). */
  setTraining(training: boolean): void {
    for (const part of PARTS) this.parts[part].setTraining?.(training);
  }

  /** Whether the encoder and decoder take a label condition. */
  get conditional(): boolean {
    return (this.parts.numClasses ?? 0) > 0;
  }

  /**
   * The condition for a batch with these labels: one-hot [batch, numClasses] in a conditional
   * model, undefined otherwise. A conditional model without labels is an error that says so.
   */
  condition(labels: tf.Tensor | Int32Array | number[] | undefined): tf.Tensor2D | undefined {
    const k = this.parts.numClasses ?? 0;
    if (k <= 0) return undefined;
    if (labels === undefined) throw new VaeLabError(`conditional model: this batch has no labels, and the encoder and decoder need one of ${k} classes per example`);
    return tf.tidy(() => {
      const l = labels instanceof tf.Tensor ? tf.cast(labels, 'int32') : tf.tensor1d(Array.from(labels), 'int32');
      // int32 one-hot, then a cast: tfjs-wasm 4.22's OneHot ignores the dtype argument and writes
      // integer bits into a float32 tensor (1 reads as 1.4e-45).
      return tf.cast(tf.oneHot(tf.reshape(l, [-1]) as tf.Tensor1D, k), 'float32') as tf.Tensor2D;
    });
  }

  /**
   * x: [batch, ...dataShape]. Draws one z ~ q (reparameterized when possible) from `noise`.
   * `encoderInput` (a corrupted x, for denoising) replaces x as the encoder's input; the
   * likelihood still scores x.
   */
  forward(x: tf.Tensor, noise: RandomStream, cond?: tf.Tensor, encoderInput?: tf.Tensor): Forward {
    const { encoder, posterior, decoder, likelihood, prior, dataShape } = this.parts;
    assertShape('model input', 'x', x.shape.slice(1), dataShape);
    const batch = x.shape[0]!;
    const qParams = encoder.apply(encoderInput ?? x, cond);
    const q = posterior.distribution(qParams);
    const z = q.rsample ? q.rsample(noise) : q.sample(noise);
    // Other samples come sample-major ([s1 batch; s2 batch; ...], as IWAE concatenates them), so
    // a condition is tiled whole along the batch axis to match.
    const tiled = (rows: number): tf.Tensor | undefined =>
      cond && rows !== batch ? tf.tile(cond, [rows / batch, ...cond.shape.slice(1).map(() => 1)]) : cond;
    const decode = (zz: tf.Tensor): Distribution => likelihood.distribution(decoder.apply(zz, tiled(zz.shape[0]!)));
    const pParams = decoder.apply(z, cond);
    assertShape('decoder', 'output', pParams.shape.slice(1), likelihood.paramShape(dataShape));
    const px = likelihood.distribution(pParams);
    const fwd: Forward = { x, qParams, q, z, pParams, px, prior: prior.distribution(batch), decode, extras: {} };
    return cond ? { ...fwd, cond } : fwd;
  }

  /** Trainable variables in a fixed order: encoder, posterior, decoder, likelihood, prior. */
  namedVariables(): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const part of PARTS) this.parts[part].variables.forEach((v, i) => out.push([`${part}/${i}`, v]));
    return out;
  }

  /** Non-trainable state (EMA statistics and the like), named as `part/state/i`. */
  namedState(): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const part of PARTS) this.parts[part].state?.forEach((v, i) => out.push([`${part}/state/${i}`, v]));
    return out;
  }

  /** Everything a checkpoint must hold: trainable variables, then state. */
  checkpointVariables(): [string, tf.Variable][] {
    return [...this.namedVariables(), ...this.namedState()];
  }

  get variables(): tf.Variable[] {
    return this.namedVariables().map(([, v]) => v);
  }

  dispose(): void {
    for (const part of PARTS) this.parts[part].dispose();
  }
}
