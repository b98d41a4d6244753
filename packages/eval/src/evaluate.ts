import * as tf from '@tensorflow/tfjs-core';
import { type Dataset, type RandomStream, VaeLabError, reportsBitsPerDim, sizeOf } from '@vaelab/core';
import { evalBatches, gatherBatch } from '@vaelab/data';
import type { VaeModel } from '@vaelab/objectives';
import { type GridImage, imageShape, reconstructionGrid } from './grid.js';
import { importanceSampleFrom } from './importance.js';
import { ACTIVE_UNIT_THRESHOLD, ActiveUnits, klPerDimension } from './latent.js';
import { type ReconstructionPoint, reconstructFrom, squaredError } from './reconstruct.js';

export type EvalSplit = 'train' | 'test';

export interface EvaluateOptions {
  dataset: Dataset;
  split: EvalSplit;
  /** K, importance samples per example. */
  iwSamples: number;
  /** Examples per batch. */
  batchSize: number;
  /** Noise for z ~ q and for the dataset's transform (the CLI passes the run's 'eval' stream). */
  rng: RandomStream;
  /** Evaluate only the first N examples of the split (null: all). */
  limit?: number | null;
  /** Importance samples decoded at once (see importanceSample); default from the batch size. */
  chunkSize?: number;
  /** Active-unit threshold on Var_x(E_q[z_j]) (default 0.01, Burda et al. 2016). */
  activeThreshold?: number;
  /** Examples shown in the reconstruction grid, for image data (default 32; 0 for none). */
  gridExamples?: number;
  /** Images per row of the grid (default 8). */
  gridColumns?: number;
  /** The global step, passed to model.setStep (schedules such as a temperature). */
  step?: number;
  /** Called after each batch with the examples done and the total. */
  onBatch?: (done: number, total: number) => void;
}

/** The metrics of one evaluation, averaged over examples (nats per example unless named otherwise). */
export interface EvalReport {
  split: EvalSplit;
  examples: number;
  /** K. */
  iw_samples: number;
  /**
   * Importance-sampled log p(x) with K samples (a lower bound in expectation, tight as K → ∞);
   * null when the posterior is a point mass (`deterministic`, VQ-VAE), which has no density.
   */
  log_likelihood: number | null;
  /** −(reconstruction + kl), over the same K samples per example; null for a point-mass posterior. */
  elbo: number | null;
  /** E_q[−log p(x|z)] (for a point-mass posterior, −log p(x|z) at its one z). */
  reconstruction: number;
  /** KL(q(z|x) ‖ p(z)); null for a point-mass posterior. */
  kl: number | null;
  kl_analytic: boolean;
  /** −log_likelihood / (D ln 2) when the likelihood is a distribution over the data's levels (see core's reportsBitsPerDim); else null. */
  bits_per_dim: number | null;
  /** Dimensions whose Var_x(E_q[z_j]) exceeds `active_threshold`; null when q has no mean. */
  active_units: number | null;
  active_threshold: number;
  /** Var_x(E_q[z_j]) per dimension; null when q has no mean. */
  latent_variances: number[] | null;
  /** Mean KL per dimension, when q and p are diagonal Gaussians (core's Normal); else null. */
  kl_per_dim: number[] | null;
  /** Mean over examples and dimensions of (x − x̂)², x̂ the likelihood's mean at `reconstruction_at`. */
  reconstruction_mse: number;
  reconstruction_at: ReconstructionPoint;
  units: 'nats per example';
}

export interface EvaluateResult {
  report: EvalReport;
  /** Originals above reconstructions, for image data (null otherwise or with gridExamples 0). */
  grid: GridImage | null;
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new VaeLabError(`evaluate: ${name} must be an integer >= ${min}, got ${String(v)}`);
}

/**
 * Evaluate a trained model on a split of a dataset: the importance-sampled log-likelihood with K
 * samples, the ELBO and its terms, bits per dimension, active units, KL per dimension,
 * reconstruction MSE, and a grid of originals and reconstructions. Examples are taken in stored
 * order, through the dataset's transform with `training = false` (as the trainer evaluates).
 */
export function evaluateModel(model: VaeModel, opts: EvaluateOptions): EvaluateResult {
  const { dataset, rng } = opts;
  if (opts.split !== 'train' && opts.split !== 'test') {
    throw new VaeLabError(`evaluate: split must be 'train' or 'test', got '${String(opts.split)}'`);
  }
  checkInt('iwSamples (K)', opts.iwSamples, 1);
  checkInt('batchSize', opts.batchSize, 1);
  if (opts.limit !== undefined && opts.limit !== null) checkInt('limit', opts.limit, 1);
  const gridExamples = opts.gridExamples ?? 32;
  checkInt('gridExamples', gridExamples, 0);
  const threshold = opts.activeThreshold ?? ACTIVE_UNIT_THRESHOLD;
  const split = dataset[opts.split];
  const total = Math.min(split.size, opts.limit ?? split.size);
  if (total < 1) throw new VaeLabError(`evaluate: the ${opts.split} split of ${dataset.name} is empty`);
  const dims = sizeOf(dataset.shape);
  const { likelihood, posterior, encoder, prior } = model.parts;
  model.setStep(opts.step ?? 0);
  model.setTraining(false);

  // Running state, written from inside tf.tidy (plain numbers and float64 sums, no tensors).
  const acc = {
    logLikelihood: 0,
    reconstruction: 0,
    kl: 0,
    mse: 0,
    klAnalytic: false,
    /** The posterior is a point mass: no importance sampling, no KL. */
    deterministic: false,
    at: 'posterior_mean' as ReconstructionPoint,
    hasMean: true,
    /** Σ over examples of KL per dimension; null once a batch has no closed form. */
    klDims: undefined as Float64Array | null | undefined,
  };
  const active = new ActiveUnits();
  const layout = imageShape(dataset.shape);
  const shown = layout ? Math.min(gridExamples, total) : 0;
  const originals = new Float32Array(shown * dims);
  const reconstructions = new Float32Array(shown * dims);
  let done = 0;

  for (const { indices } of evalBatches(total, opts.batchSize)) {
    const n = indices.length;
    tf.tidy(() => {
      const { x: stored, labels } = gatherBatch(split, dataset.shape, indices);
      const x = dataset.transform ? dataset.transform(stored, rng, false) : stored;
      // a conditional model's one-hot labels, [n, numClasses]; undefined otherwise
      const cond = model.conditional ? model.condition(labels) : undefined;
      // Encode once: the importance samples, the reconstruction and the KL per dimension share q.
      const q = posterior.distribution(encoder.apply(x, cond));
      const p = prior.distribution(n);
      const rec = reconstructFrom(model, q, rng, cond);
      const mse = squaredError(x, rec.reconstruction);
      if (q.deterministic) {
        // A point mass has no density: only −log p(x | z) at its one z, and the reconstruction.
        acc.deterministic = true;
        const nll = tf.neg(likelihood.distribution(model.parts.decoder.apply(q.sample(rng), cond)).logProb(x));
        const batchSums = tf.stack([tf.sum(nll), tf.sum(mse)]).dataSync();
        acc.reconstruction += batchSums[0]!;
        acc.mse += batchSums[1]!;
      } else {
        const is = importanceSampleFrom(model, x, q, p, {
          samples: opts.iwSamples,
          rng,
          ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
          ...(cond ? { cond } : {}),
        });
        const batchSums = tf.stack([tf.sum(is.logLikelihood), tf.sum(is.reconstruction), tf.sum(is.kl), tf.sum(mse)]).dataSync();
        acc.logLikelihood += batchSums[0]!;
        acc.reconstruction += batchSums[1]!;
        acc.kl += batchSums[2]!;
        acc.mse += batchSums[3]!;
        acc.klAnalytic = is.klAnalytic;
      }
      acc.at = rec.at;
      if (rec.posteriorMean) active.add(rec.posteriorMean);
      else acc.hasMean = false;
      if (acc.klDims !== null && !q.deterministic) {
        const perDim = klPerDimension(q, p);
        if (perDim === null) acc.klDims = null;
        else {
          const v = tf.sum(tf.reshape(perDim, [n, -1]), 0).dataSync();
          const sumsPerDim = (acc.klDims ??= new Float64Array(v.length));
          v.forEach((s, j) => (sumsPerDim[j]! += s));
        }
      }
      if (done < shown) {
        const take = Math.min(shown - done, n);
        originals.set(x.dataSync().subarray(0, take * dims), done * dims);
        reconstructions.set(rec.reconstruction.dataSync().subarray(0, take * dims), done * dims);
      }
    });
    done += n;
    opts.onBatch?.(done, total);
  }

  const logLikelihood = acc.deterministic ? null : acc.logLikelihood / total;
  const variances = acc.hasMean ? active.variances() : null;
  const report: EvalReport = {
    split: opts.split,
    examples: total,
    iw_samples: opts.iwSamples,
    log_likelihood: logLikelihood,
    elbo: acc.deterministic ? null : -(acc.reconstruction + acc.kl) / total,
    reconstruction: acc.reconstruction / total,
    kl: acc.deterministic ? null : acc.kl / total,
    kl_analytic: acc.klAnalytic,
    bits_per_dim: logLikelihood !== null && reportsBitsPerDim(likelihood, opts.dataset.levels) ? -logLikelihood / (dims * Math.LN2) : null,
    active_units: variances ? variances.filter((v) => v > threshold).length : null,
    active_threshold: threshold,
    latent_variances: variances,
    kl_per_dim: acc.klDims && !acc.deterministic ? Array.from(acc.klDims, (s) => s / total) : null,
    reconstruction_mse: acc.mse / total,
    reconstruction_at: acc.at,
    units: 'nats per example',
  };
  const grid =
    shown > 0 && layout
      ? reconstructionGrid(
          { values: originals, shape: [shown, ...dataset.shape] },
          { values: reconstructions, shape: [shown, ...dataset.shape] },
          { columns: opts.gridColumns ?? 8 },
        )
      : null;
  return { report, grid };
}
