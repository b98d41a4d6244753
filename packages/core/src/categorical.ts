import * as tf from '@tensorflow/tfjs-core';
import { isDistributionInstance } from './brand.js';
import type { Distribution } from './distribution.js';
import { ShapeError } from './errors.js';
import { registerKL } from './kl.js';
import type { RandomStream } from './random.js';
import { assertValues, broadcastShapes, stopGradient, validationEnabled } from './tensor.js';

/*
 * Discrete latents laid out flat: an event of shape [N·K] holds N independent categorical
 * variables of K categories each, as consecutive groups of K (one-hot, or relaxed one-hot). The
 * parameters are logits of the same shape with any leading batch axes. Keeping the event flat lets
 * a decoder read z as an ordinary vector of latentDim = N·K values.
 */

/** Smallest positive normal float32: log(x) stays finite (≈ −87.3) for x clamped to it. */
const TINY = 1.1754944e-38;
/** Largest float32 below 1. */
const ONE_MINUS_EPS = 1 - 2 ** -24;

/** [..., N·K] -> [..., N, K]. */
function grouped(x: tf.Tensor, categories: number): tf.Tensor {
  const last = x.shape[x.rank - 1]!;
  return tf.reshape(x, [...x.shape.slice(0, -1), last / categories, categories]);
}

/** [..., N, K] -> [..., N·K]. */
function flattened(x: tf.Tensor): tf.Tensor {
  const n = x.shape[x.rank - 2]!;
  const k = x.shape[x.rank - 1]!;
  return tf.reshape(x, [...x.shape.slice(0, -2), n * k]);
}

/**
 * Standard Gumbel noise g = −log(−log u), u ~ U(0, 1). u is kept inside [tiny, 1 − 2⁻²⁴] so
 * that neither logarithm meets 0 (float32 can round a uniform draw to 0 or to exactly 1).
 */
export function gumbelNoise(rng: RandomStream, shape: number[]): tf.Tensor {
  return tf.tidy(() => {
    const u = tf.clipByValue(rng.uniform(shape), TINY, ONE_MINUS_EPS);
    return tf.neg(tf.log(tf.neg(tf.log(u))));
  });
}

function checkLogits(who: string, logits: tf.Tensor, categories: number): void {
  if (!Number.isInteger(categories) || categories < 1) {
    throw new ShapeError(`${who}: categories must be a positive integer, got ${categories}`);
  }
  const last = logits.rank === 0 ? 0 : logits.shape[logits.rank - 1]!;
  if (logits.rank < 1 || last % categories !== 0 || last === 0) {
    throw new ShapeError(
      `${who}: logits have shape [${logits.shape.join(', ')}], expected [..., N·K] with a last axis that is a positive multiple of K = ${categories}`,
    );
  }
  if (validationEnabled()) assertValues(who, 'logits', logits, { allowed: 'finite', above: -Infinity, below: Infinity });
}

function checkEvent(who: string, x: tf.Tensor, eventSize: number): void {
  if (x.rank < 1 || x.shape[x.rank - 1] !== eventSize) {
    throw new ShapeError(`${who}: value has shape [${x.shape.join(', ')}], expected [..., ${eventSize}] (the event shape)`);
  }
}

/** Under validation: every value is 0 or 1 and every group of K holds exactly one 1. */
function assertOneHot(who: string, x: tf.Tensor, categories: number): void {
  if (!validationEnabled()) return;
  // The usual way to get here: an objective that needs log p(z) at relaxed samples (iwae, or a
  // Monte Carlo KL) with a discrete prior. Say so, since the class name alone would not tell.
  const allowed =
    `one-hot in groups of ${categories} (each value 0 or 1, one 1 per group); a relaxed (Gumbel-softmax) sample ` +
    'has no probability under a discrete prior, so objectives that need log p(z) at q\'s samples (iwae) cannot pair ' +
    'relaxed_categorical with uniform_categorical: use elbo or beta_vae, whose KL is the categorical surrogate';
  assertValues(who, 'value', x, { allowed, min: 0, max: 1, integer: true });
  const sums = tf.tidy(() => tf.sum(grouped(x, categories), -1));
  try {
    assertValues(who, 'the number of ones per group of the value', sums, { allowed: `1 (${allowed})`, min: 1, max: 1 });
  } finally {
    sums.dispose();
  }
}

/** Σ over groups and categories of x ⊙ log p: the log-pmf of one-hot x. logProbs: [..., N, K]. */
function oneHotLogPmf(x: tf.Tensor, logProbs: tf.Tensor, categories: number): tf.Tensor {
  return tf.sum(tf.mul(grouped(x, categories), logProbs), [-2, -1]);
}

/**
 * N independent categorical variables of K categories, one-hot encoded, event [N·K] (consecutive
 * groups of K). `logits`: [...batch, N·K], unnormalized per group.
 */
export class OneHotCategorical implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/core (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/core/OneHotCategorical';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[];
  /** Number of categorical variables N. */
  readonly groups: number;
  /** Normalized log-probabilities per group: [...batch, N, K]. */
  readonly logProbs: tf.Tensor;

  constructor(
    readonly logits: tf.Tensor,
    readonly categories: number,
  ) {
    checkLogits('OneHotCategorical', logits, categories);
    const last = logits.shape[logits.rank - 1]!;
    this.batchShape = logits.shape.slice(0, -1);
    this.eventShape = [last];
    this.groups = last / categories;
    this.logProbs = tf.tidy(() => tf.logSoftmax(grouped(logits, categories)));
  }

  /** One-hot draws by the Gumbel-max trick: argmax_k (logit_k + g_k) ~ Categorical(softmax(logits)). */
  sample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => {
      const perturbed = tf.add(this.logProbs, gumbelNoise(rng, this.logProbs.shape));
      // oneHot has no gradient path to the logits; stopGradient keeps the contract explicit.
      return stopGradient(flattened(tf.oneHot(tf.argMax(perturbed, -1), this.categories)));
    });
  }

  /** log p(x) for one-hot x: [..., batch, N·K] -> [..., batch]. */
  logProb(x: tf.Tensor): tf.Tensor {
    checkEvent('OneHotCategorical', x, this.eventShape[0]!);
    assertOneHot('OneHotCategorical', x, this.categories);
    return tf.tidy(() => oneHotLogPmf(x, this.logProbs, this.categories));
  }

  /** −Σ_n Σ_k p_nk log p_nk, summed over the N variables. */
  entropy(): tf.Tensor {
    return tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.exp(this.logProbs), this.logProbs), [-2, -1])));
  }

  /** The probabilities, flat: [...batch, N·K]. */
  mean(): tf.Tensor {
    return tf.tidy(() => flattened(tf.exp(this.logProbs)));
  }

  /** One-hot of the most probable category of each variable. */
  mode(): tf.Tensor {
    return tf.tidy(() => flattened(tf.oneHot(tf.argMax(this.logProbs, -1), this.categories)));
  }
}

export interface RelaxedOneHotCategoricalOptions {
  /**
   * Straight-through Gumbel-softmax (Jang et al. 2017, §2.2): samples are the one-hot argmax of
   * the relaxed sample in the forward pass, with the relaxed sample's gradient.
   */
  straightThrough?: boolean;
}

/**
 * The Concrete / Gumbel-softmax distribution (Maddison et al. 2017; Jang et al. 2017) over N
 * independent relaxed one-hot variables of K categories, event [N·K] (consecutive groups of K):
 *   y = softmax((logits + g) / τ), g_k ~ Gumbel(0, 1) i.i.d.
 * Each group of y lies on the probability simplex; as τ → 0 it approaches a one-hot sample of
 * Categorical(softmax(logits)).
 *
 * With `straightThrough`, the distribution's samples are the hard one-hot argmax of y (forward),
 * carrying y's gradient (backward). Those samples are draws of the underlying categorical, not
 * points of the Concrete density (which lives on the interior of the simplex), so `logProb` then
 * returns the categorical log-pmf of a one-hot value. KL against a `OneHotCategorical` is the KL
 * between the underlying categoricals in both modes (see `klRelaxedCategorical`).
 */
export class RelaxedOneHotCategorical implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/core (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/core/RelaxedOneHotCategorical';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[];
  readonly groups: number;
  readonly straightThrough: boolean;
  /** Normalized log-probabilities of the underlying categoricals: [...batch, N, K]. */
  readonly logProbs: tf.Tensor;

  constructor(
    readonly logits: tf.Tensor,
    readonly categories: number,
    readonly temperature: number,
    options: RelaxedOneHotCategoricalOptions = {},
  ) {
    checkLogits('RelaxedOneHotCategorical', logits, categories);
    // A plain number: checking it costs nothing, so it is checked with or without validation.
    assertValues('RelaxedOneHotCategorical', 'temperature', [temperature], { allowed: 'positive and finite', above: 0, below: Infinity });
    const last = logits.shape[logits.rank - 1]!;
    this.batchShape = logits.shape.slice(0, -1);
    this.eventShape = [last];
    this.groups = last / categories;
    this.straightThrough = options.straightThrough ?? false;
    this.logProbs = tf.tidy(() => tf.logSoftmax(grouped(logits, categories)));
  }

  /** Probabilities of the underlying categoricals, flat: [...batch, N·K]. */
  probs(): tf.Tensor {
    return tf.tidy(() => flattened(tf.exp(this.logProbs)));
  }

  /**
   * Reparameterized sample. The relaxed sample is formed in log space, log y = logSoftmax((log p +
   * g) / τ), and exponentiated once, so no exponential overflows however small τ is. With
   * straight-through: y_hard + (y − stopGradient(y)), which is exactly y_hard in the forward pass
   * and has the gradient of y.
   */
  rsample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => {
      const logY = tf.logSoftmax(tf.div(tf.add(this.logProbs, gumbelNoise(rng, this.logProbs.shape)), this.temperature));
      const y = tf.exp(logY);
      if (!this.straightThrough) return flattened(y);
      const hard = tf.oneHot(tf.argMax(logY, -1), this.categories);
      return flattened(tf.add(hard, tf.sub(y, stopGradient(y))));
    });
  }

  sample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => stopGradient(this.rsample(rng)));
  }

  /**
   * Relaxed: the Concrete log-density of a point y of the simplex (Maddison et al. 2017, Def. 1 —
   * density with respect to the Lebesgue measure on the first K − 1 coordinates), per group
   *   log (K−1)! + (K−1) log τ + Σ_k (log p_k − (τ+1) log y_k) − K · logsumexp_k (log p_k − τ log y_k),
   * summed over the N groups. y_k is clamped at the smallest normal float32 before the logarithm.
   * Straight-through: the categorical log-pmf of a one-hot value (see the class comment).
   */
  logProb(x: tf.Tensor): tf.Tensor {
    checkEvent('RelaxedOneHotCategorical', x, this.eventShape[0]!);
    if (this.straightThrough) {
      assertOneHot('RelaxedOneHotCategorical (straight-through)', x, this.categories);
      return tf.tidy(() => oneHotLogPmf(x, this.logProbs, this.categories));
    }
    const k = this.categories;
    if (validationEnabled()) {
      assertValues('RelaxedOneHotCategorical', 'value', x, { allowed: 'in [0, 1] (points of the simplex)', min: 0, max: 1 });
      const sums = tf.tidy(() => tf.sum(grouped(x, k), -1));
      try {
        assertValues('RelaxedOneHotCategorical', 'the sum of each group of the value', sums, {
          allowed: `1 (each group of ${k} must lie on the simplex)`,
          min: 1 - 1e-3,
          max: 1 + 1e-3,
        });
      } finally {
        sums.dispose();
      }
    }
    let logFactorial = 0;
    for (let i = 2; i < k; i++) logFactorial += Math.log(i);
    const tau = this.temperature;
    const constant = logFactorial + (k - 1) * Math.log(tau);
    return tf.tidy(() => {
      const logY = tf.log(tf.clipByValue(grouped(x, k), TINY, 1));
      const linear = tf.sum(tf.sub(this.logProbs, tf.mul(tau + 1, logY)), -1);
      const normalizer = tf.mul(k, tf.logSumExp(tf.sub(this.logProbs, tf.mul(tau, logY)), -1));
      return tf.sum(tf.add(tf.sub(linear, normalizer), constant), -1);
    });
  }

  /** The underlying categoricals (the τ → 0 limit); the caller owns the result. */
  categorical(): OneHotCategorical {
    return new OneHotCategorical(this.logits, this.categories);
  }
}

function klCategoricalLogProbs(who: string, q: { logProbs: tf.Tensor; categories: number; eventShape: number[] }, p: typeof q): tf.Tensor {
  if (q.categories !== p.categories || q.eventShape[0] !== p.eventShape[0]) {
    throw new ShapeError(
      `${who}: q has event [${q.eventShape.join(', ')}] in groups of ${q.categories}, p has event [${p.eventShape.join(', ')}] in groups of ${p.categories}`,
    );
  }
  return tf.tidy(() => tf.sum(tf.mul(tf.exp(q.logProbs), tf.sub(q.logProbs, p.logProbs)), [-2, -1]));
}

/** KL(q ‖ p) = Σ_n Σ_k q_nk (log q_nk − log p_nk), summed over the N variables. */
export function klOneHotCategorical(q: OneHotCategorical, p: OneHotCategorical): tf.Tensor {
  return klCategoricalLogProbs('KL(OneHotCategorical ‖ OneHotCategorical)', q, p);
}

/**
 * The KL between the categoricals underlying q and p: Σ_n Σ_k q_nk (log q_nk − log p_nk). This
 * is the surrogate Jang et al. (2017) use for a Gumbel-softmax posterior against a categorical
 * prior; it is NOT the KL between q's relaxed (Concrete) distribution and p, which is infinite
 * (the Concrete density lives on the simplex's interior, p only on its vertices).
 */
export function klRelaxedCategorical(q: RelaxedOneHotCategorical, p: OneHotCategorical): tf.Tensor {
  return klCategoricalLogProbs('KL(RelaxedOneHotCategorical ‖ OneHotCategorical)', q, p);
}

/**
 * A batch of categorical distributions whose values are integer indices 0..K − 1 (TFP's
 * Categorical), beside the one-hot `OneHotCategorical`. `logits`: [...batch, K], unnormalized;
 * batch shape [...batch], event shape [] (one index per batch member, as `eventRank = 0`).
 * Values may be int32 or float32 holding integers; `sample` and `mode` return int32.
 */
export class Categorical implements Distribution {
  /** Stable identity across duplicate copies of @vaelab/core (KL registry, `instanceof`). */
  static readonly distributionKey: string = '@vaelab/core/Categorical';

  static [Symbol.hasInstance](x: unknown): boolean {
    return isDistributionInstance(x, this);
  }

  readonly batchShape: number[];
  readonly eventShape: number[] = [];
  /** Number of categories K. */
  readonly categories: number;
  /** Normalized log-probabilities: [...batch, K]. */
  readonly logProbs: tf.Tensor;

  constructor(readonly logits: tf.Tensor) {
    if (logits.rank < 1 || logits.shape[logits.rank - 1]! < 1) {
      throw new ShapeError(`Categorical: logits have shape [${logits.shape.join(', ')}], expected [...batch, K] with K ≥ 1`);
    }
    if (validationEnabled()) assertValues('Categorical', 'logits', logits, { allowed: 'finite', above: -Infinity, below: Infinity });
    this.categories = logits.shape[logits.rank - 1]!;
    this.batchShape = logits.shape.slice(0, -1);
    this.logProbs = tf.tidy(() => tf.logSoftmax(logits));
  }

  /** Index draws by the Gumbel-max trick: argmax_k (log p_k + g_k). int32, [...batch]. */
  sample(rng: RandomStream): tf.Tensor {
    return tf.tidy(() => tf.argMax(tf.add(this.logProbs, gumbelNoise(rng, this.logProbs.shape)), -1));
  }

  /**
   * log p(x) = log p_x for indices x: [..., ...batch] -> [..., ...batch] (extra leading axes
   * broadcast). Under validation x must hold integers in 0..K − 1.
   */
  logProb(x: tf.Tensor): tf.Tensor {
    const b = this.batchShape.length;
    if (x.rank < b) {
      throw new ShapeError(`Categorical: value has shape [${x.shape.join(', ')}], expected [..., ${this.batchShape.join(', ')}] (indices, one per batch member)`);
    }
    broadcastShapes('Categorical', [['value', x.shape.slice(x.rank - b)], ['batch', this.batchShape]]);
    if (validationEnabled()) {
      assertValues('Categorical', 'value', x, { allowed: `an integer index in 0..${this.categories - 1}`, min: 0, max: this.categories - 1, integer: true });
    }
    return tf.tidy(() => {
      const indices = x.dtype === 'int32' ? x : tf.cast(tf.round(x), 'int32');
      return tf.sum(tf.mul(tf.cast(tf.oneHot(indices, this.categories), 'float32'), this.logProbs), -1);
    });
  }

  /** The probabilities p_k: [...batch, K]. */
  probs(): tf.Tensor {
    return tf.exp(this.logProbs);
  }

  /** H = −Σ_k p_k log p_k: [...batch]. */
  entropy(): tf.Tensor {
    return tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.exp(this.logProbs), this.logProbs), -1)));
  }

  /** The most probable index (int32), [...batch]. */
  mode(): tf.Tensor {
    return tf.argMax(this.logProbs, -1);
  }

  /** The same distribution over one-hot values: event [K] (one group of K); the caller owns it. */
  oneHot(): OneHotCategorical {
    return new OneHotCategorical(this.logits, this.categories);
  }
}

/** True for an index-valued Categorical from any copy of @vaelab/core. */
export function isCategorical(x: unknown): x is Categorical {
  return isDistributionInstance(x, Categorical);
}

/** True for a OneHotCategorical from any copy of @vaelab/core. */
export function isOneHotCategorical(x: unknown): x is OneHotCategorical {
  return isDistributionInstance(x, OneHotCategorical);
}

/** True for a RelaxedOneHotCategorical from any copy of @vaelab/core. */
export function isRelaxedOneHotCategorical(x: unknown): x is RelaxedOneHotCategorical {
  return isDistributionInstance(x, RelaxedOneHotCategorical);
}

/** KL(q ‖ p) = Σ_k q_k (log q_k − log p_k) between index-valued categoricals: [...batch]. */
export function klCategorical(q: Categorical, p: Categorical): tf.Tensor {
  if (q.categories !== p.categories) {
    throw new ShapeError(`KL(Categorical ‖ Categorical): q has ${q.categories} categories, p has ${p.categories}`);
  }
  return tf.tidy(() => tf.sum(tf.mul(tf.exp(q.logProbs), tf.sub(q.logProbs, p.logProbs)), -1));
}

/** The log-probabilities of a one-hot categorical of one group, as [...batch, K], for the mixed KL rules. */
function singleGroupLogProbs(who: string, d: OneHotCategorical, categories: number): tf.Tensor {
  if (d.groups !== 1 || d.categories !== categories) {
    throw new ShapeError(
      `${who}: the OneHotCategorical has event [${d.eventShape.join(', ')}] in groups of ${d.categories}; the index-valued Categorical has ${categories} categories, so the one-hot side must be one group of ${categories} (event [${categories}])`,
    );
  }
  return tf.squeeze(d.logProbs, [d.logProbs.rank - 2]);
}

/**
 * KL between an index-valued Categorical and a one-hot categorical of one group of the same K:
 * they are the same distribution up to the bijection k ↔ one-hot(k), so the KL is that of the
 * probabilities, Σ_k q_k (log q_k − log p_k).
 */
export function klCategoricalOneHot(q: Categorical, p: OneHotCategorical): tf.Tensor {
  return tf.tidy(() => {
    const pLogProbs = singleGroupLogProbs('KL(Categorical ‖ OneHotCategorical)', p, q.categories);
    return tf.sum(tf.mul(tf.exp(q.logProbs), tf.sub(q.logProbs, pLogProbs)), -1);
  });
}

/** As `klCategoricalOneHot`, with the one-hot categorical as q. */
export function klOneHotCategoricalIndex(q: OneHotCategorical, p: Categorical): tf.Tensor {
  return tf.tidy(() => {
    const qLogProbs = singleGroupLogProbs('KL(OneHotCategorical ‖ Categorical)', q, p.categories);
    return tf.sum(tf.mul(tf.exp(qLogProbs), tf.sub(qLogProbs, p.logProbs)), -1);
  });
}

// Registered where the classes are defined, so importing a class activates its rules.
registerKL(OneHotCategorical, OneHotCategorical, klOneHotCategorical);
registerKL(RelaxedOneHotCategorical, OneHotCategorical, klRelaxedCategorical);
registerKL(Categorical, Categorical, klCategorical);
registerKL(Categorical, OneHotCategorical, klCategoricalOneHot);
registerKL(OneHotCategorical, Categorical, klOneHotCategoricalIndex);
