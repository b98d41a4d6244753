import * as tf from '@tensorflow/tfjs-core';

/*
 * Seeded, named, counter-based random streams (DESIGN §6).
 *
 * A stream's state is a single counter, so it checkpoints as one number and resumes exactly.
 * Each draw hashes (stream key, counter); tfjs ops get a fresh integer seed per call, because the
 * same `seed` argument makes tfjs return the same tensor every time, and `seed = 0` means
 * "unseeded" there.
 */

/** murmur3's 32-bit finalizer: a bijective avalanche mix. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a hash of a string, used to give each stream name its own key. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface RandomStreamState {
  readonly name: string;
  readonly counter: number;
}

export class RandomStream {
  private counter = 0;
  private readonly key: number;

  constructor(
    readonly name: string,
    readonly seed: number,
  ) {
    this.key = fmix32(fmix32(seed >>> 0) ^ hashString(name));
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const c = this.counter++;
    // Two rounds over (key, counter) so that neighbouring counters decorrelate fully.
    return fmix32(fmix32(this.key ^ Math.imul(c, 0x9e3779b9)) + c);
  }

  /** A uniform float in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A seed for a tfjs random op: an integer in [1, 2^31 - 1] (0 would mean "unseeded"). */
  nextSeed(): number {
    return (this.nextUint32() % 2147483646) + 1;
  }

  /** Standard normal noise of the given shape. */
  normal(shape: number[]): tf.Tensor {
    return tf.randomNormal(shape, 0, 1, 'float32', this.nextSeed());
  }

  /** Uniform noise in [low, high). */
  uniform(shape: number[], low = 0, high = 1): tf.Tensor {
    return tf.randomUniform(shape, low, high, 'float32', this.nextSeed());
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.nextFloat() * (i + 1));
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    return out;
  }

  get state(): RandomStreamState {
    return { name: this.name, counter: this.counter };
  }

  restore(state: RandomStreamState): void {
    if (state.name !== this.name) {
      throw new Error(`cannot restore random stream '${this.name}' from the state of '${state.name}'`);
    }
    this.counter = state.counter;
  }
}

/** The run's family of streams, one per purpose ('init', 'data', 'noise', 'eval', ...). */
export class RandomStreams {
  private readonly streams = new Map<string, RandomStream>();

  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0) {
      throw new Error(`seed must be a non-negative integer, got ${seed}`);
    }
  }

  stream(name: string): RandomStream {
    let s = this.streams.get(name);
    if (!s) {
      s = new RandomStream(name, this.seed);
      this.streams.set(name, s);
    }
    return s;
  }

  /** Every stream's counter, for a checkpoint. */
  state(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, s] of this.streams) out[name] = s.state.counter;
    return out;
  }

  restore(state: Record<string, number>): void {
    for (const [name, counter] of Object.entries(state)) this.stream(name).restore({ name, counter });
  }
}
