import * as tf from '@tensorflow/tfjs-core';
import {
  type Distribution,
  type Likelihood,
  type RandomStream,
  assertValues,
  defineComponent,
  isDistributionInstance,
  stopGradient,
  sumEvent,
  validationEnabled,
} from '@vaelab/core';
import { z } from 'zod';
import { type DataInfo, checkParamShape, checkUnitIntervalData, log1pAccurate, logAddExp, offTape } from './shared.js';

/*
 * The continuous Bernoulli CB(λ) on [0, 1] (Loaiza-Ganem & Cunningham 2019):
 *   p(x | λ) = C(λ) λˣ (1 − λ)¹⁻ˣ,   C(λ) = 2 artanh(1 − 2λ) / (1 − 2λ)   (C(½) = 2).
 * With logits ℓ (λ = σ(ℓ)), 1 − 2λ = −tanh(ℓ/2) and artanh(1 − 2λ) = −ℓ/2, so
 *   C = ℓ / tanh(ℓ/2),   x log λ + (1 − x) log(1 − λ) = x·ℓ − softplus(ℓ).
 * Every quantity below depends on ℓ through a = |ℓ| and a reflection: CB(−ℓ) is the law of 1 − X
 * for X ~ CB(ℓ). Near ℓ = 0 the closed forms are 0/0, so Taylor series take over there; each branch
 * of a tf.where gets inputs that are safe for it, so that no gradient becomes NaN.
 */

/** Below this |ℓ| log C uses its series (next term 73ℓ¹⁰/34214400 < 3e-9 there). */
const LOG_C_SERIES_BELOW = 0.5;
/** Below this |ℓ| the mean and the entropy use their series (next terms < 2e-8 there). */
const MOMENT_SERIES_BELOW = 1;
/** Below this |ℓ| the inverse CDF uses its series (next term < ℓ³/24 ≈ 4e-11 there). */
const QUANTILE_SERIES_BELOW = 1e-3;
/** Above this a/expm1(a) is below 1e-33: a cap that keeps expm1 finite (and its gradient) in the entropy. */
const ENTROPY_CAP = 80;

/** tf.where(small, series(safe small input), closed(safe large input)). */
function branch(
  a: tf.Tensor,
  below: number,
  series: (small: tf.Tensor) => tf.Tensor,
  closed: (large: tf.Tensor) => tf.Tensor,
): tf.Tensor {
  const small = offTape(a, (t) => tf.less(t, below));
  const smallInput = tf.where(small, a, tf.zerosLike(a));
  const largeInput = tf.where(small, tf.fill(a.shape, 2 * below), a);
  return tf.where(small, series(smallInput), closed(largeInput));
}

/** Horner: c0 + c1·t + c2·t² + … */
function poly(t: tf.Tensor, coefficients: number[]): tf.Tensor {
  let out: tf.Tensor = tf.scalar(coefficients[coefficients.length - 1]!);
  for (let i = coefficients.length - 2; i >= 0; i--) out = tf.add(tf.mul(out, t), coefficients[i]!);
  return out;
}

/**
 * log C(ℓ) = log(ℓ / tanh(ℓ/2)), even in ℓ. For a = |ℓ| ≥ 0.5:
 *   log a − log tanh(a/2) = log a − log(1 − e⁻ᵃ) + log(1 + e⁻ᵃ) = log a − log(−expm1(−a)) + softplus(−a).
 * Below: log 2 + ℓ²/12 − 7ℓ⁴/1440 + 31ℓ⁶/90720 − 127ℓ⁸/4838400.
 */
export function continuousBernoulliLogNormalizer(logits: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    branch(
      tf.abs(logits),
      LOG_C_SERIES_BELOW,
      (a) => tf.add(Math.LN2, tf.mul(tf.square(a), poly(tf.square(a), [1 / 12, -7 / 1440, 31 / 90720, -127 / 4838400]))),
      (a) => tf.add(tf.sub(tf.log(a), tf.log(tf.neg(tf.expm1(tf.neg(a))))), tf.softplus(tf.neg(a))),
    ),
  );
}

/**
 * E[X] = λ/(2λ − 1) + 1/(2 artanh(1 − 2λ)) = 1/(1 − e⁻ˡ) − 1/ℓ. For a = |ℓ| ≥ 1 it is computed at a
 * (no overflow) and reflected, m(−a) = 1 − m(a); below, ½ + ℓ/12 − ℓ³/720 + ℓ⁵/30240 − ℓ⁷/1209600.
 */
export function continuousBernoulliMean(logits: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const a = tf.abs(logits);
    const small = offTape(a, (t) => tf.less(t, MOMENT_SERIES_BELOW));
    const l = tf.where(small, logits, tf.zerosLike(logits));
    const series = tf.add(0.5, tf.mul(l, poly(tf.square(l), [1 / 12, -1 / 720, 1 / 30240, -1 / 1209600])));
    const large = tf.where(small, tf.fill(a.shape, 2), a);
    const atLarge = tf.sub(tf.div(-1, tf.expm1(tf.neg(large))), tf.div(1, large));
    const closed = tf.where(offTape(logits, (t) => tf.greaterEqual(t, 0)), atLarge, tf.sub(1, atLarge));
    return tf.where(small, series, closed);
  });
}

/**
 * H = −E[log p(X)] = softplus(ℓ) − ℓ·E[X] − log C(ℓ) (log p is linear in x). It is even in ℓ; at
 * a = |ℓ| ≥ 1 it is written as 1 + softplus(−a) − a/expm1(a) − log C(a), which has no cancellation
 * between large terms; below, −ℓ²/24 + ℓ⁴/960 − ℓ⁶/36288 + ℓ⁸/1382400. (Negative: the uniform
 * density, ℓ = 0, has the largest differential entropy on [0, 1], which is 0.)
 */
export function continuousBernoulliEntropy(logits: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    branch(
      tf.abs(logits),
      MOMENT_SERIES_BELOW,
      (a) => tf.mul(tf.square(a), poly(tf.square(a), [-1 / 24, 1 / 960, -1 / 36288, 1 / 1382400])),
      (a) => {
        const capped = tf.minimum(a, ENTROPY_CAP);
        const ratio = tf.div(capped, tf.expm1(capped));
        return tf.sub(tf.sub(tf.add(1, tf.softplus(tf.neg(a))), ratio), continuousBernoulliLogNormalizer(a));
      },
    ),
  );
}

/**
 * The quantile function of CB(−a), a > 0: G(v) = −log(1 − v(1 − e⁻ᵃ)) / a, from the CDF
 * F(x) = (λˣ(1 − λ)¹⁻ˣ + λ − 1) / (2λ − 1). With y = v·expm1(−a) ∈ (−1, 0], log(1 + y) is
 * log1p(y) while 1 + y ≥ ½ and, below that (only for a > log 2), log((1 − v) + v·e⁻ᵃ) as a
 * log-sum-exp of log(1 − v) and log v − a, which never rounds 1 + y to 0.
 * `logV` = log v, `log1mV` = log(1 − v), both given so that v near 0 or 1 loses nothing.
 */
function negativeLogitQuantile(v: tf.Tensor, logV: tf.Tensor, log1mV: tf.Tensor, a: tf.Tensor): tf.Tensor {
  const y = tf.mul(v, tf.expm1(tf.neg(a)));
  const nearOne = offTape(y, (t) => tf.greater(t, -0.5));
  const viaLog1p = log1pAccurate(tf.where(nearOne, y, tf.zerosLike(y)));
  const viaSum = logAddExp(log1mV, tf.sub(logV, a));
  return tf.div(tf.neg(tf.where(nearOne, viaLog1p, viaSum)), a);
}

/**
 * Continuous Bernoulli over an event of shape `eventShape`, parameterized by logits ℓ:
 * logits [...batch, ...event]. A normalized density on [0, 1], unlike the Bernoulli "likelihood"
 * of grey levels (Loaiza-Ganem & Cunningham 2019).
 */
export class ContinuousBernoulli implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/likelihoods (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/likelihoods/ContinuousBernoulli';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[];

  constructor(
    readonly logits: tf.Tensor,
    readonly eventRank = 1,
  ) {
    if (eventRank > logits.rank) throw new Error(`ContinuousBernoulli: eventRank ${eventRank} exceeds the rank of logits (${logits.rank})`);
    this.batchShape = logits.shape.slice(0, logits.rank - eventRank);
    this.eventShape = logits.shape.slice(logits.rank - eventRank);
    if (validationEnabled()) assertValues('ContinuousBernoulli', 'logits', logits, { allowed: 'not NaN', min: -Infinity, max: Infinity });
  }

  /** log p(x) = Σ x·ℓ − softplus(ℓ) + log C(ℓ); x: [..., ...batch, ...event] in [0, 1] -> [..., ...batch]. */
  logProb(x: tf.Tensor): tf.Tensor {
    if (validationEnabled()) assertValues('ContinuousBernoulli', 'value', x, { allowed: 'in [0, 1]', min: 0, max: 1 });
    return tf.tidy(() => {
      const perElement = tf.add(tf.sub(tf.mul(x, this.logits), tf.softplus(this.logits)), continuousBernoulliLogNormalizer(this.logits));
      return sumEvent(perElement, this.eventRank);
    });
  }

  /**
   * Inverse-CDF sample x = F⁻¹(u; ℓ), u ~ U(0, 1), differentiable in ℓ. For ℓ ≤ 0 it is
   * G(u) of `negativeLogitQuantile` with a = −ℓ; for ℓ > 0 the reflection 1 − G(1 − u) with a = ℓ
   * (so that e^|ℓ| never overflows). For |ℓ| < 1e-3, u + u(1−u)ℓ/2 + u(1−u)(1−2u)ℓ²/6.
   */
  rsample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => {
      const shape = this.logits.shape;
      // u in [1e-30, 1 − 2⁻²⁴]: the logs of u and of 1 − u stay finite.
      const u = tf.clipByValue(rng.uniform(shape), 1e-30, 1 - 2 ** -24);
      const logU = tf.log(u);
      const log1mU = tf.log(tf.sub(1, u));
      const a = tf.abs(this.logits);
      const small = offTape(a, (t) => tf.less(t, QUANTILE_SERIES_BELOW));
      const l = tf.where(small, this.logits, tf.zerosLike(this.logits));
      const spread = tf.mul(u, tf.sub(1, u));
      const series = tf.add(u, tf.mul(spread, tf.add(tf.div(l, 2), tf.mul(tf.sub(1, tf.mul(2, u)), tf.div(tf.square(l), 6)))));
      const large = tf.where(small, tf.onesLike(a), a);
      const negative = negativeLogitQuantile(u, logU, log1mU, large);
      const positive = tf.sub(1, negativeLogitQuantile(tf.sub(1, u), log1mU, logU, large));
      const closed = tf.where(offTape(this.logits, (t) => tf.greater(t, 0)), positive, negative);
      // Rounding can leave [0, 1] by an ulp; the support is closed.
      return tf.clipByValue(tf.where(small, series, closed), 0, 1);
    });
  }

  sample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => stopGradient(this.rsample(rng)));
  }

  entropy(): tf.Tensor {
    return tf.tidy(() => sumEvent(continuousBernoulliEntropy(this.logits), this.eventRank));
  }

  /** E[x] per value: [...batch, ...event] (not the Bernoulli's λ). */
  mean(): tf.Tensor {
    return continuousBernoulliMean(this.logits);
  }
}

export class ContinuousBernoulliLikelihood implements Likelihood {
  readonly discrete = false;
  readonly variables: tf.Variable[] = [];

  constructor(readonly dataShape: number[]) {}

  paramShape(dataShape: number[]): number[] {
    return [...dataShape];
  }

  // params: [batch, ...dataShape] logits -> ContinuousBernoulli with event shape dataShape
  distribution(params: tf.Tensor): ContinuousBernoulli {
    checkParamShape('continuous_bernoulli', params, this.dataShape, this.dataShape);
    return new ContinuousBernoulli(params, this.dataShape.length);
  }

  checkData(values: Float32Array, info: DataInfo): void {
    checkUnitIntervalData('continuous_bernoulli', values, info, this.dataShape);
  }

  dispose(): void {}
}

export const continuousBernoulli = defineComponent({
  kind: 'likelihood',
  name: 'continuous_bernoulli',
  description: 'Continuous Bernoulli per value (a normalized density on [0, 1]); the decoder emits logits.',
  schema: z.object({}),
  create: (_options, ctx) => new ContinuousBernoulliLikelihood(ctx.dataShape),
});
