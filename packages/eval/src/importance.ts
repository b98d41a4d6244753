import * as tf from '@tensorflow/tfjs-core';
import { type Distribution, type RandomStream, VaeLabError, hasAnalyticKL, kl, logAddExp, logSumExp } from '@vaelab/core';
import type { VaeModel } from '@vaelab/objectives';

/** Decoder rows (samples × examples) per chunk when no chunk size is given: bounds memory. */
export const DEFAULT_ROWS_PER_CHUNK = 4096;

export interface ImportanceOptions {
  /** K: importance samples per example (Burda et al. 2016 report K = 5000). */
  samples: number;
  /**
   * Samples decoded together. Memory grows with chunkSize × batch decoder rows, not with K.
   * Default: ⌊DEFAULT_ROWS_PER_CHUNK / batch⌋, at least 1 and at most K.
   */
  chunkSize?: number;
  /** Noise for z ~ q(z | x) (the CLI passes the run's 'eval' stream). */
  rng: RandomStream;
  /** The batch's condition in a conditional model ([batch, numClasses], see VaeModel.condition). */
  cond?: tf.Tensor;
}

/** Per-example estimates for one batch, each [batch], in nats. */
export interface ImportanceEstimates {
  /** log p(x) ≈ log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x), z_k ~ q(z|x) (Burda et al. 2016, eq. 8). */
  logLikelihood: tf.Tensor1D;
  /** E_q[−log p(x|z)], averaged over the same K samples. */
  reconstruction: tf.Tensor1D;
  /** KL(q(z|x) ‖ p(z)): analytic where registered, else the mean over the K samples of log q − log p. */
  kl: tf.Tensor1D;
  /** Whether `kl` is analytic. */
  klAnalytic: boolean;
}

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new VaeLabError(`importance sampling: ${name} must be a positive integer, got ${String(v)}`);
}

/** The default number of samples per chunk for a batch of `batch` examples and K samples. */
export function defaultChunkSize(batch: number, samples: number): number {
  return Math.max(1, Math.min(samples, Math.floor(DEFAULT_ROWS_PER_CHUNK / Math.max(1, batch))));
}

/**
 * Importance-sampled log-likelihood of a batch under a trained model, with the ELBO's terms from
 * the same samples. x: [batch, ...dataShape] (model inputs, already transformed).
 *
 * Samples are drawn with separate `q.rsample` (or `q.sample`) calls, each of shape
 * [batch, ...event], and log q is evaluated on exactly the tensor q returned, as flows require
 * (`logProbOnlyAtOwnSamples`). The decoder then sees a chunk of samples at once ([chunk·batch, ...]),
 * and the log-sum-exp over k is accumulated across chunks, so memory does not grow with K.
 */
export function importanceSample(model: VaeModel, x: tf.Tensor, opts: ImportanceOptions): ImportanceEstimates {
  const { encoder, posterior, prior } = model.parts;
  checkPositiveInt('samples (K)', opts.samples);
  let klAnalytic = false;
  const out = tf.tidy(() => {
    const r = importanceSampleFrom(model, x, posterior.distribution(encoder.apply(x, opts.cond)), prior.distribution(x.shape[0]!), opts);
    klAnalytic = r.klAnalytic;
    return { logLikelihood: r.logLikelihood, reconstruction: r.reconstruction, kl: r.kl };
  });
  return { ...out, klAnalytic };
}

/**
 * As `importanceSample`, with q(z|x) and p(z) already built (so that an evaluation that also needs
 * q's mean encodes each batch once). q and p have batch shape [batch].
 */
export function importanceSampleFrom(model: VaeModel, x: tf.Tensor, q: Distribution, p: Distribution, opts: ImportanceOptions): ImportanceEstimates {
  const K = opts.samples;
  checkPositiveInt('samples (K)', K);
  const batch = x.shape[0]!;
  const chunk = opts.chunkSize ?? defaultChunkSize(batch, K);
  checkPositiveInt('chunkSize', chunk);
  const { decoder, likelihood } = model.parts;
  const rng = opts.rng;
  const klAnalytic = hasAnalyticKL(q, p);
  const out = tf.tidy(() => {
    const tileReps = [1, ...x.shape.slice(1).map(() => 1)];
    // log Σ_k w_k so far, [batch]: core's logSumExp and logAddExp stay −∞ (not NaN) when every
    // term is −∞ (a sample where p(x|z) = 0); the bound is this minus log K (as core's iwBound).
    let lse: tf.Tensor | undefined;
    let logPxSum: tf.Tensor | undefined; // Σ_k log p(x|z_k), [batch]
    let logRatioSum: tf.Tensor | undefined; // Σ_k log q(z_k|x) − log p(z_k), [batch]
    for (let start = 0; start < K; start += chunk) {
      const c = Math.min(chunk, K - start);
      const part = tf.tidy(() => {
        const zs: tf.Tensor[] = [];
        const logQ: tf.Tensor[] = [];
        const logPrior: tf.Tensor[] = [];
        for (let i = 0; i < c; i++) {
          const z = q.rsample ? q.rsample(rng) : q.sample(rng);
          zs.push(z);
          logQ.push(q.logProb(z));
          logPrior.push(p.logProb(z));
        }
        // [c·batch, ...event], sample-major: row s·batch + b holds sample s of example b.
        const zFlat = tf.concat(zs, 0);
        tileReps[0] = c;
        // the condition tiled sample-major, as zFlat
        const cond = opts.cond && (c === 1 ? opts.cond : tf.tile(opts.cond, [c, 1]));
        const px = likelihood.distribution(decoder.apply(zFlat, cond));
        const logPx = tf.reshape(px.logProb(tf.tile(x, tileReps)), [c, batch]);
        const ratio = tf.sub(tf.stack(logQ), tf.stack(logPrior)); // [c, batch]
        const logW = tf.sub(logPx, ratio);
        return { lse: logSumExp(logW, 0), logPx: tf.sum(logPx, 0), ratio: tf.sum(ratio, 0) };
      });
      if (lse === undefined) {
        lse = part.lse;
        logPxSum = part.logPx;
        logRatioSum = part.ratio;
      } else {
        const next = { lse: logAddExp(lse, part.lse), logPx: tf.add(logPxSum!, part.logPx), ratio: tf.add(logRatioSum!, part.ratio) };
        tf.dispose([lse, logPxSum!, logRatioSum!, part.lse, part.logPx, part.ratio]);
        lse = next.lse;
        logPxSum = next.logPx;
        logRatioSum = next.ratio;
      }
    }
    const klValue = klAnalytic ? kl(q, p, { rng }).value : tf.div(logRatioSum!, K);
    return {
      logLikelihood: tf.sub(lse!, Math.log(K)) as tf.Tensor1D,
      reconstruction: tf.neg(tf.div(logPxSum!, K)) as tf.Tensor1D,
      kl: tf.reshape(klValue, [batch]) as tf.Tensor1D,
    };
  });
  return { ...out, klAnalytic };
}

/** Only the importance-sampled log p(x), [batch] nats. */
export function logLikelihood(model: VaeModel, x: tf.Tensor, opts: ImportanceOptions): tf.Tensor1D {
  const r = importanceSample(model, x, opts);
  tf.dispose([r.reconstruction, r.kl]);
  return r.logLikelihood;
}
