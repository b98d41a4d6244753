import * as tf from '@tensorflow/tfjs-core';
import { type LatentSpec, type PosteriorFamily, ShapeError, defineComponent } from '@vaelab/core';
import { z } from 'zod';
import { FlowDistribution, type FlowTransform, type ScaleParameterization, baseParameters } from './flow.js';
import { sliceLast } from './linalg.js';

/** Floor of ‖w‖² in û's denominator, so that w = 0 gives û = u instead of 0 / 0. */
const W_NORM_EPSILON = 1e-12;

/** One planar layer's parameters, per batch member: u, w: [batch, D], b: [batch, 1]. */
export interface PlanarLayer {
  readonly u: tf.Tensor2D;
  readonly w: tf.Tensor2D;
  readonly b: tf.Tensor2D;
}

/**
 * û = u + (m(wᵀu) − wᵀu) w / ‖w‖², m(a) = −1 + softplus(a), so that ûᵀw = m(wᵀu) > −1 and the
 * planar map is invertible (Rezende & Mohamed 2015, appendix A.1). The denominator is
 * max(‖w‖², 1e-12), so that w = 0 gives û = u. Returns û and 1 + ûᵀw, the latter in a form
 * without cancellation:
 *   1 + ûᵀw = softplus(wᵀu) r + (1 + wᵀu)(1 − r),  r = ‖w‖² / max(‖w‖², 1e-12),
 * exact for the û returned; r = 1 exactly unless ‖w‖² < 1e-12, so it is softplus(wᵀu) ≥ 0.
 *
 * u, w: [batch, D] -> uHat [batch, D], onePlusUHatW [batch, 1]
 */
export function constrainPlanar(u: tf.Tensor, w: tf.Tensor): { uHat: tf.Tensor; onePlusUHatW: tf.Tensor } {
  return tf.tidy(() => {
    const wu = tf.sum(tf.mul(w, u), -1, true);
    const softplusWu = tf.softplus(wu);
    const wNormSq = tf.sum(tf.square(w), -1, true);
    const denominator = tf.maximum(wNormSq, W_NORM_EPSILON);
    // m − wᵀu = softplus(wᵀu) − 1 − wᵀu
    const uHat = tf.add(u, tf.mul(tf.div(tf.sub(tf.sub(softplusWu, 1), wu), denominator), w));
    const r = tf.div(wNormSq, denominator);
    const onePlusUHatW = tf.add(tf.mul(softplusWu, r), tf.mul(tf.add(1, wu), tf.sub(1, r)));
    return { uHat, onePlusUHatW };
  });
}

/** û alone (see constrainPlanar). u, w: [batch, D] -> [batch, D]. */
export function constrainU(u: tf.Tensor, w: tf.Tensor): tf.Tensor {
  return tf.tidy(() => constrainPlanar(u, w).uHat);
}

/**
 * K planar layers f(z) = z + û h(wᵀz + b), h = tanh, with
 *   log|det ∂f/∂z| = log|1 + ûᵀψ(z)|, ψ(z) = h'(wᵀz + b) w   (Rezende & Mohamed 2015, eqs. 10–12),
 * and 1 + ûᵀψ = tanh²(a) + (1 − tanh²(a))(1 + ûᵀw), a sum of two non-negative terms.
 */
export class PlanarFlow implements FlowTransform {
  constructor(readonly layers: readonly PlanarLayer[]) {}

  transform(z0: tf.Tensor2D): { z: tf.Tensor2D; logDetJacobian: tf.Tensor1D } {
    return tf.tidy(() => {
      let z: tf.Tensor = z0;
      let logDet: tf.Tensor = tf.zeros([z0.shape[0]]);
      for (const { u, w, b } of this.layers) {
        const { uHat, onePlusUHatW } = constrainPlanar(u, w);
        const h = tf.tanh(tf.add(tf.sum(tf.mul(w, z), -1, true), b)); // [batch, 1]
        z = tf.add(z, tf.mul(uHat, h));
        const hSquared = tf.square(h);
        const det = tf.add(hSquared, tf.mul(tf.sub(1, hSquared), onePlusUHatW));
        logDet = tf.add(logDet, tf.squeeze(tf.log(det), [1]));
      }
      return { z: z as tf.Tensor2D, logDetJacobian: logDet as tf.Tensor1D };
    });
  }
}

/**
 * q(z | x): a diagonal Gaussian base N(μ, diag σ²) followed by K planar layers whose parameters
 * are amortized: the encoder emits them per example along with the base's. Per example the
 * encoder emits 2D + K(2D + 1) values, in this order:
 *   μ (D), s (D; log σ² or log σ), then for each layer k: u_k (D), w_k (D), b_k (1).
 */
export class PlanarFlowPosterior implements PosteriorFamily {
  readonly reparameterized = true;
  readonly variables: tf.Variable[] = [];

  constructor(
    readonly latentDim: number,
    readonly layers = 4,
    readonly scale: ScaleParameterization = 'log_var',
  ) {}

  private get size(): number {
    return 2 * this.latentDim + this.layers * (2 * this.latentDim + 1);
  }

  paramShape(latent: LatentSpec): number[] {
    if (latent.dim !== this.latentDim) throw new ShapeError(`planar_flow: built for latent_dim ${this.latentDim}, asked for ${latent.dim}`);
    return [this.size];
  }

  // params: [batch, 2D + K(2D+1)] -> FlowDistribution with batch [batch], event [D]
  distribution(params: tf.Tensor): FlowDistribution {
    const dim = this.latentDim;
    if (params.rank !== 2 || params.shape[1] !== this.size) {
      throw new ShapeError(
        `planar_flow: encoder output has shape [${params.shape.join(', ')}], expected [batch, ${this.size}] (2D + K(2D+1) for latent_dim ${dim}, ${this.layers} layers)`,
      );
    }
    const p = params as tf.Tensor2D;
    const { loc, logScale } = baseParameters(p, dim, this.scale);
    const layers: PlanarLayer[] = [];
    for (let k = 0, at = 2 * dim; k < this.layers; k++, at += 2 * dim + 1) {
      layers.push({
        u: sliceLast(p, at, dim) as tf.Tensor2D,
        w: sliceLast(p, at + dim, dim) as tf.Tensor2D,
        b: sliceLast(p, at + 2 * dim, 1) as tf.Tensor2D,
      });
    }
    return new FlowDistribution('planar_flow', loc, logScale, new PlanarFlow(layers));
  }

  dispose(): void {}
}

export const planarFlow = defineComponent({
  kind: 'posterior',
  name: 'planar_flow',
  description: 'Diagonal Gaussian followed by K planar flow layers (Rezende & Mohamed 2015); the encoder emits the flow parameters too.',
  schema: z.object({
    layers: z.number().int().min(1).default(4).describe('number of planar layers K'),
    scale: z.enum(['log_var', 'log_std']).default('log_var').describe("what the encoder predicts for the base's scale"),
  }),
  create: (options, ctx) => new PlanarFlowPosterior(ctx.latentDim, options.layers, options.scale),
});
