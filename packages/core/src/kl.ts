import * as tf from '@tensorflow/tfjs';
import { OneHotCategorical, RelaxedOneHotCategorical, klOneHotCategorical, klRelaxedCategorical } from './categorical.js';
import type { Distribution, DistributionClass } from './distribution.js';
import { Normal, klNormalNormal } from './normal.js';
import type { RandomStream } from './random.js';

/* The KL registry: analytic KL(q ‖ p) keyed by the pair of classes, Monte Carlo otherwise. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KLFunction = (q: any, p: any) => tf.Tensor;

export interface KLRule {
  readonly q: DistributionClass;
  readonly p: DistributionClass;
  readonly fn: KLFunction;
}

const rules: KLRule[] = [];

/** Register an analytic KL(q ‖ p). A later registration for the same pair replaces the earlier. */
export function registerKL<Q extends Distribution, P extends Distribution>(
  q: abstract new (...args: never[]) => Q,
  p: abstract new (...args: never[]) => P,
  fn: (q: Q, p: P) => tf.Tensor,
): void {
  const rule = { q: q as unknown as DistributionClass, p: p as unknown as DistributionClass, fn: fn as KLFunction };
  const i = rules.findIndex((r) => r.q === rule.q && r.p === rule.p);
  if (i >= 0) rules[i] = rule;
  else rules.push(rule);
}

/** Distance up the prototype chain from an instance to a class, or -1 if unrelated. */
function depth(obj: object, cls: DistributionClass): number {
  let proto = Object.getPrototypeOf(obj) as object | null;
  for (let d = 0; proto; d++, proto = Object.getPrototypeOf(proto) as object | null) {
    if (proto === cls.prototype) return d;
  }
  return -1;
}

/** The most specific registered rule for (q, p), as TFP does: nearest classes first. */
export function findKL(q: Distribution, p: Distribution): KLFunction | undefined {
  let best: KLRule | undefined;
  let bestScore = Infinity;
  for (const r of rules) {
    const dq = depth(q, r.q);
    const dp = depth(p, r.p);
    if (dq < 0 || dp < 0) continue;
    if (dq + dp < bestScore) {
      best = r;
      bestScore = dq + dp;
    }
  }
  return best?.fn;
}

export interface KLOptions {
  /** Noise for the Monte Carlo estimate. */
  rng: RandomStream;
  /** Samples for the Monte Carlo estimate (default 1). */
  samples?: number;
  /** Force the Monte Carlo estimate even when an analytic form is registered (for tests). */
  forceMonteCarlo?: boolean;
  /** Samples z for the estimate; pass the objective's own z to reuse it (single-sample case). */
  z?: tf.Tensor;
}

export interface KLResult {
  /** KL in nats, one value per batch member. */
  value: tf.Tensor;
  analytic: boolean;
}

/**
 * KL(q ‖ p): analytic when a rule is registered, otherwise the Monte Carlo estimate
 * (1/k) Σ [log q(z) − log p(z)], z ~ q, reparameterized when q allows it.
 */
export function kl(q: Distribution, p: Distribution, opts: KLOptions): KLResult {
  const fn = opts.forceMonteCarlo ? undefined : findKL(q, p);
  if (fn) return { value: fn(q, p), analytic: true };
  const k = opts.samples ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new Error(`kl: samples must be a positive integer, got ${k}`);
  const value = tf.tidy(() => {
    let total: tf.Tensor | undefined;
    for (let i = 0; i < k; i++) {
      const z = i === 0 && opts.z ? opts.z : q.rsample ? q.rsample(opts.rng) : q.sample(opts.rng);
      const term = tf.sub(q.logProb(z), p.logProb(z));
      total = total ? tf.add(total, term) : term;
    }
    return tf.div(total!, k);
  });
  return { value, analytic: false };
}

/** True when KL(q ‖ p) has a registered analytic form. */
export function hasAnalyticKL(q: Distribution, p: Distribution): boolean {
  return findKL(q, p) !== undefined;
}

registerKL(Normal, Normal, klNormalNormal);
registerKL(OneHotCategorical, OneHotCategorical, klOneHotCategorical);
registerKL(RelaxedOneHotCategorical, OneHotCategorical, klRelaxedCategorical);
