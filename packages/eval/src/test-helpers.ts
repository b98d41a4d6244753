/* Helpers for this package's tests only (not exported from index.ts). */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset, Decoder, Distribution, Encoder, PosteriorFamily, RandomStream } from '@vaelab/core';
import { FixedGaussianLikelihood } from '@vaelab/likelihoods';
import { VaeModel } from '@vaelab/objectives';
import { DiagonalGaussianPosterior } from '@vaelab/posteriors';
import { StandardNormalPrior } from '@vaelab/priors';

/*
 * A linear-Gaussian model: p(z) = N(0, I₂), p(x | z) = N(Wz + b, σ² I₃), so p(x) = N(b, WWᵀ + σ²I).
 * W's columns are orthogonal, so the exact posterior is diagonal:
 *   q*(z | x) = N(A (x − b), Σ), Σ = (I + WᵀW / σ²)⁻¹ = diag(1/10, 1/9), A = Σ Wᵀ / σ².
 */
export const W = [
  [1, 1],
  [1, -1],
  [0.5, 0],
];
export const B = [0.2, -0.1, 0.3];
export const SIGMA = 0.5;
export const LATENT = 2;
export const DATA = 3;

/** Σ's diagonal and A = Σ Wᵀ / σ², in float64. */
export function exactPosterior(): { variance: number[]; A: number[][] } {
  const variance = [0, 1].map((j) => 1 / (1 + W.reduce((s, row) => s + row[j]! ** 2, 0) / SIGMA ** 2));
  const A = [0, 1].map((j) => W.map((row) => (variance[j]! * row[j]!) / SIGMA ** 2));
  return { variance, A };
}

/** log N(x; b, WWᵀ + σ²I) in float64 (Cholesky). */
export function exactLogLikelihood(x: number[]): number {
  const n = DATA;
  const C = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => W[i]!.reduce((s, w, k) => s + w * W[j]![k]!, 0) + (i === j ? SIGMA ** 2 : 0)),
  );
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = C[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = i === j ? Math.sqrt(s) : s / L[j]![j]!;
    }
  }
  // solve L y = x − b; quadratic form = |y|²
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = x[i]! - B[i]!;
    for (let k = 0; k < i; k++) s -= L[i]![k]! * y[k]!;
    y[i] = s / L[i]![i]!;
  }
  const logDet = 2 * L.reduce((s, row, i) => s + Math.log(row[i]!), 0);
  return -0.5 * (n * Math.log(2 * Math.PI) + logDet + y.reduce((s, v) => s + v * v, 0));
}

/**
 * Encoder emitting [mean, log std] of q(z | x) for the diagonal_gaussian posterior (log_std):
 * the exact posterior, its mean scaled by `meanScale` and its std by `stdScale`. `dead` lists
 * dimensions whose mean is held at a constant (dead units).
 */
export class LinearEncoder implements Encoder {
  readonly variables: tf.Variable[] = [];
  constructor(
    readonly opts: { meanScale?: number; stdScale?: number; dead?: number[] } = {},
  ) {}

  apply(x: tf.Tensor): tf.Tensor {
    const { variance, A } = exactPosterior();
    const meanScale = this.opts.meanScale ?? 1;
    const stdScale = this.opts.stdScale ?? 1;
    const dead = new Set(this.opts.dead ?? []);
    return tf.tidy(() => {
      const At = tf.transpose(tf.tensor2d(A.map((row, j) => row.map((a) => (dead.has(j) ? 0 : a * meanScale))))); // [3, 2]
      const mean = tf.add(tf.matMul(tf.sub(x, tf.tensor1d(B)), At), tf.tensor1d([0, 1].map((j) => (dead.has(j) ? 0.7 : 0))));
      const logStd = tf.mul(tf.onesLike(mean), tf.tensor1d(variance.map((v) => Math.log(Math.sqrt(v) * stdScale))));
      return tf.concat([mean, logStd], 1);
    });
  }

  dispose(): void {}
}

/** z -> Wz + b: [n, 2] -> [n, 3]. */
export class LinearDecoder implements Decoder {
  readonly variables: tf.Variable[] = [];
  apply(z: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(tf.matMul(z, tf.transpose(tf.tensor2d(W))), tf.tensor1d(B)));
  }
  dispose(): void {}
}

/**
 * A posterior family wrapping another, whose distributions (like a normalizing flow's) evaluate
 * logProb only at the tensors they returned, and are no `Normal` (so no analytic KL).
 */
export class OwnSamplesOnlyPosterior implements PosteriorFamily {
  readonly reparameterized = true;
  readonly variables: tf.Variable[] = [];
  constructor(readonly base: PosteriorFamily) {}
  paramShape(latent: { dim: number }): number[] {
    return this.base.paramShape(latent);
  }
  distribution(params: tf.Tensor): Distribution {
    const inner = this.base.distribution(params);
    const own = new Set<number>();
    return {
      batchShape: inner.batchShape,
      eventShape: inner.eventShape,
      logProbOnlyAtOwnSamples: true,
      rsample(rng: RandomStream) {
        const z = inner.rsample!(rng);
        own.add(z.id);
        return z;
      },
      sample(rng: RandomStream) {
        const z = inner.sample(rng);
        own.add(z.id);
        return z;
      },
      logProb(z: tf.Tensor) {
        if (!own.has(z.id)) throw new Error('logProb called at a tensor this distribution did not return');
        return inner.logProb(z);
      },
    };
  }
  dispose(): void {}
}

export function linearGaussianModel(encoder = new LinearEncoder(), posterior: PosteriorFamily = new DiagonalGaussianPosterior('log_std')): VaeModel {
  return new VaeModel({
    encoder,
    posterior,
    decoder: new LinearDecoder(),
    likelihood: new FixedGaussianLikelihood([DATA], SIGMA),
    prior: new StandardNormalPrior(LATENT),
    latentDim: LATENT,
    dataShape: [DATA],
  });
}

/** `n` examples x ~ p(x), drawn in float64 JS from a simple LCG-driven Box–Muller. */
export function sampleData(n: number, seed = 1): number[][] {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return Array.from({ length: n }, () => {
    const z = [normal(), normal()];
    return W.map((row, i) => row[0]! * z[0]! + row[1]! * z[1]! + B[i]! + SIGMA * normal());
  });
}

/** A dataset holding the given rows as both splits, shape [3]. */
export function datasetOf(rows: number[][], transform?: Dataset['transform']): Dataset {
  const x = Float32Array.from(rows.flat());
  const ds: Dataset = { name: 'linear', shape: [DATA], levels: null, train: { size: rows.length, x }, test: { size: rows.length, x } };
  return transform ? { ...ds, transform } : ds;
}
