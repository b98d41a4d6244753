import * as tf from '@tensorflow/tfjs-core';
import { CORE_VERSION, DISTRIBUTION_KEY, classIdentities, classIdentity } from './brand.js';
import type { Distribution, DistributionClass } from './distribution.js';
import type { RandomStream } from './random.js';

/*
 * The KL registry: analytic KL(q ‖ p) keyed by the pair of classes, Monte Carlo otherwise.
 *
 * Classes are keyed by their stable `distributionKey` (a user's class without one, by the class
 * itself), and the registry lives on globalThis under a versioned symbol, so that two copies of
 * @vaelab/core (npm can nest one) share one registry and recognize each other's classes: a rule
 * registered by either copy applies to instances made by either. Without that, KL(diagonal
 * Gaussian ‖ standard normal) would silently fall back to a Monte Carlo estimate.
 *
 * Every package registers the rules of its classes in the module that defines them, so a rule is
 * active as soon as its classes are imported.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KLFunction = (q: any, p: any) => tf.Tensor;

export interface KLRule {
  readonly q: DistributionClass;
  readonly p: DistributionClass;
  readonly fn: KLFunction;
}

/** A rule as stored: the pair's identities, and the version of the core copy that registered it. */
interface StoredRule {
  readonly q: string | object;
  readonly p: string | object;
  readonly fn: KLFunction;
  readonly coreVersion: string;
}

interface KLRegistrySlot {
  readonly rules: StoredRule[];
}

const REGISTRY_SLOT = Symbol.for('vaelab.kl-registry.v1');

function registry(): KLRegistrySlot {
  const slots = globalThis as unknown as Record<symbol, KLRegistrySlot | undefined>;
  return (slots[REGISTRY_SLOT] ??= { rules: [] });
}

/** Register an analytic KL(q ‖ p). A later registration for the same pair replaces the earlier. */
export function registerKL<Q extends Distribution, P extends Distribution>(
  q: abstract new (...args: never[]) => Q,
  p: abstract new (...args: never[]) => P,
  fn: (q: Q, p: P) => tf.Tensor,
): void {
  const rules = registry().rules;
  const rule: StoredRule = {
    q: classIdentity(q, DISTRIBUTION_KEY),
    p: classIdentity(p, DISTRIBUTION_KEY),
    fn: fn as KLFunction,
    coreVersion: CORE_VERSION,
  };
  const i = rules.findIndex((r) => r.q === rule.q && r.p === rule.p);
  if (i >= 0) rules[i] = rule;
  else rules.push(rule);
}

/** The most specific registered rule for (q, p), as TFP does: nearest classes first. */
export function findKL(q: Distribution, p: Distribution): KLFunction | undefined {
  const qChain = classIdentities(q, DISTRIBUTION_KEY);
  const pChain = classIdentities(p, DISTRIBUTION_KEY);
  let best: StoredRule | undefined;
  let bestScore = Infinity;
  for (const r of registry().rules) {
    const dq = qChain.indexOf(r.q);
    const dp = pChain.indexOf(r.p);
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

/**
 * The registered pairs, as their keys (a class's `distributionKey`, or its name when it has none),
 * with the version of the core copy that registered each.
 */
export function registeredKLPairs(): Array<{ q: string; p: string; coreVersion: string }> {
  const name = (id: string | object) => (typeof id === 'string' ? id : ((id as { name?: string }).name ?? '(anonymous class)'));
  return registry().rules.map((r) => ({ q: name(r.q), p: name(r.p), coreVersion: r.coreVersion }));
}
