import * as tf from '@tensorflow/tfjs-core';
import type { RandomStream } from '@vaelab/core';
import { conv2d, conv2dTranspose, depthToSpace, upsampleNearest } from './conv-ops.js';
import { type Activation, type Init, KernelBias, activate, initWeights, own } from './dense.js';

type T4 = tf.Tensor4D;

/** A 'same' convolution with stride s: [b, h, w, cIn] -> [b, ceil(h/s), ceil(w/s), cOut]. */
export class Conv2D extends KernelBias {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly size: number,
    readonly stride: number,
    init: Init,
    rng: RandomStream,
    /**
     * ICNR (Aitken et al. 2017) for a convolution followed by depth-to-space with factor r: the
     * r² sub-pixel phases start equal, so the upsampled map starts free of checkerboard artifacts.
     */
    icnr = 1,
  ) {
    super(convValues(inChannels, outChannels, size, init, rng, icnr));
  }

  /** `inputGrad: false` when x is data (a network's first layer): its gradient is never used. */
  apply(x: T4, inputGrad = true): T4 {
    return tf.add(conv2d(x, this.kernel as tf.Variable<tf.Rank.R4>, this.stride, inputGrad), this.bias);
  }
}

/** A convolution's initial kernel [k, k, cIn, cOut] and bias, ICNR-tiled when `icnr` > 1. */
function convValues(inChannels: number, outChannels: number, k: number, init: Init, rng: RandomStream, icnr: number): [tf.Tensor, tf.Tensor] {
  const base = outChannels / (icnr * icnr);
  const [w, b] = initWeights([k, k, inChannels, base], k * k * inChannels, k * k * base, base, init, rng);
  if (icnr === 1) return [w, b];
  const tiled: [tf.Tensor, tf.Tensor] = [tf.tile(w, [1, 1, 1, icnr * icnr]), tf.tile(b, [icnr * icnr])];
  tf.dispose([w, b]);
  return tiled;
}

/** A transposed convolution with stride s ('same'): [b, h, w, cIn] -> [b, s·h, s·w, cOut]. */
export class ConvTranspose2D extends KernelBias {
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly size: number,
    readonly stride: number,
    init: Init,
    rng: RandomStream,
  ) {
    // PyTorch's ConvTranspose2d computes its fan-in from the weight [cIn, cOut, k, k] as cOut·k².
    super(initWeights([size, size, outChannels, inChannels], size * size * outChannels, size * size * inChannels, outChannels, init, rng));
  }

  apply(x: T4): T4 {
    return tf.add(conv2dTranspose(x, this.kernel as tf.Variable<tf.Rank.R4>, this.stride), this.bias);
  }
}

export type Upsample = 'transposed' | 'subpixel' | 'resize_conv';
export const UPSAMPLES: readonly Upsample[] = ['transposed', 'subpixel', 'resize_conv'];

/** Upsampling by an integer factor r to `outChannels`, in one of three ways. */
export class Upsampler {
  private readonly layer: Conv2D | ConvTranspose2D;

  constructor(
    readonly mode: Upsample,
    inChannels: number,
    readonly outChannels: number,
    kernel: number,
    readonly factor: number,
    init: Init,
    rng: RandomStream,
  ) {
    const r = factor;
    if (mode === 'transposed') this.layer = new ConvTranspose2D(inChannels, outChannels, kernel, r, init, rng);
    else if (mode === 'subpixel') this.layer = new Conv2D(inChannels, outChannels * r * r, kernel, 1, init, rng, r);
    else this.layer = new Conv2D(inChannels, outChannels, kernel, 1, init, rng);
  }

  // x: [b, h, w, cIn] -> [b, r·h, r·w, cOut]
  apply(x: T4): T4 {
    if (this.mode === 'transposed') return this.layer.apply(x);
    if (this.mode === 'subpixel') return depthToSpace(this.layer.apply(x), this.factor);
    return this.layer.apply(upsampleNearest(x, this.factor));
  }

  get variables(): tf.Variable[] {
    return this.layer.variables;
  }
}

export type Norm = 'none' | 'batch' | 'group' | 'layer';
export const NORMS: readonly Norm[] = ['none', 'batch', 'group', 'layer'];

/**
 * Normalization of a feature map [b, h, w, c] with a per-channel scale and shift:
 * - `batch` (Ioffe & Szegedy 2015): over batch and space with the batch's statistics in training,
 *   and with running averages (momentum 0.1, unbiased variance, as PyTorch) in evaluation. The
 *   running averages are non-trainable `state`, saved in checkpoints.
 * - `group` (Wu & He 2018): over space and each group of c/groups channels, per example.
 * - `layer` (Ba et al. 2016): over space and all channels, per example (group with one group).
 */
export class Normalization {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean?: tf.Variable;
  readonly runningVar?: tf.Variable;
  static readonly epsilon = 1e-5;
  static readonly momentum = 0.1;

  constructor(
    readonly kind: Exclude<Norm, 'none'>,
    readonly channels: number,
    readonly groups: number,
  ) {
    [this.gamma, this.beta] = own([tf.ones([channels]), tf.zeros([channels])]) as [tf.Variable, tf.Variable];
    if (kind === 'batch') {
      this.runningMean = tf.variable(tf.zeros([channels]), false);
      this.runningVar = tf.variable(tf.ones([channels]), false);
    }
  }

  apply(x: T4, training: boolean): T4 {
    const eps = Normalization.epsilon;
    const [b, h, w, c] = x.shape;
    let normalized: tf.Tensor;
    if (this.kind === 'batch') {
      if (training) {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        normalized = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
        const n = b * h * w;
        const m = Normalization.momentum;
        const [newMean, newVar] = tf.tidy(() => [
          tf.add(tf.mul(this.runningMean!, 1 - m), tf.mul(mean, m)),
          tf.add(tf.mul(this.runningVar!, 1 - m), tf.mul(variance, (m * n) / Math.max(n - 1, 1))),
        ]);
        this.runningMean!.assign(newMean!);
        this.runningVar!.assign(newVar!);
        tf.dispose([newMean!, newVar!]);
      } else {
        normalized = tf.div(tf.sub(x, this.runningMean!), tf.sqrt(tf.add(this.runningVar!, eps)));
      }
    } else {
      const g = this.kind === 'layer' ? 1 : this.groups;
      const grouped = tf.reshape(x, [b, h, w, g, c / g]);
      const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
      normalized = tf.reshape(tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, eps))), [b, h, w, c]);
    }
    return tf.add(tf.mul(normalized, this.gamma), this.beta);
  }

  get variables(): tf.Variable[] {
    return [this.gamma, this.beta];
  }

  get state(): tf.Variable[] {
    return this.runningMean ? [this.runningMean, this.runningVar!] : [];
  }
}

/** A normalization layer for `channels`, or null for `none`. */
export function makeNorm(kind: Norm, channels: number, groups: number): Normalization | null {
  return kind === 'none' ? null : new Normalization(kind, channels, groups);
}

/** `norm` (when there is one, in training or evaluation mode), then the activation. */
export function normAct(x: T4, norm: Normalization | null | undefined, activation: Activation, training: boolean): T4 {
  return activate(norm ? norm.apply(x, training) : x, activation) as T4;
}
