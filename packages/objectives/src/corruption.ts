import * as tf from '@tensorflow/tfjs-core';
import { type RandomStream, sizeOf } from '@vaelab/core';
import { z } from 'zod';

/*
 * Input corruption for denoising variants (Vincent et al. 2008 for autoencoders; Im et al. 2017
 * for VAEs): the encoder sees a corrupted x̃ ~ c(x̃ | x) while the likelihood scores the clean x.
 * The trainer applies it to training batches only.
 */

export const CORRUPTION_TYPES = ['none', 'gaussian', 'masking', 'salt_and_pepper'] as const;
export type CorruptionType = (typeof CORRUPTION_TYPES)[number];

export interface CorruptionOptions {
  readonly type: CorruptionType;
  /** gaussian: σ of the added noise; masking and salt_and_pepper: the fraction of values changed. */
  readonly level: number;
}

export type CorruptFunction = (x: tf.Tensor, rng: RandomStream) => tf.Tensor;

/** The `corruption` option shared by the denoising-capable objectives. */
export const corruptionSchema = z
  .object({
    type: z.enum(CORRUPTION_TYPES).default('none').describe('none | gaussian | masking | salt_and_pepper'),
    level: z
      .number()
      .min(0)
      .optional()
      .describe('gaussian: σ of the added noise; masking, salt_and_pepper: fraction of values per example, in [0, 1]'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const fraction = c.type === 'masking' || c.type === 'salt_and_pepper';
    if (c.type !== 'none' && c.level === undefined) {
      const what = fraction ? 'the fraction of values changed per example, in [0, 1]' : 'σ of the added noise';
      ctx.addIssue({ code: 'custom', path: ['level'], message: `required for ${c.type}: ${what}` });
    } else if (fraction && c.level !== undefined && c.level > 1) {
      ctx.addIssue({ code: 'custom', path: ['level'], message: `must be a fraction in [0, 1] for ${c.type}, got ${c.level}` });
    }
  })
  .transform((c): CorruptionOptions => ({ type: c.type, level: c.level ?? 0 }))
  .default({ type: 'none', level: 0 })
  .describe('input corruption for a denoising variant: { type: none | gaussian | masking | salt_and_pepper, level }');

/**
 * For each of `batch` examples, `count` distinct positions among `size`, chosen uniformly
 * (a partial Fisher–Yates shuffle driven by `rng`). Returns a 0/1 mask with 1 at the chosen ones.
 */
function chosenPositions(batch: number, size: number, count: number, rng: RandomStream): Float32Array {
  const mask = new Float32Array(batch * size);
  const order = new Int32Array(size);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < size; i++) order[i] = i;
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(rng.nextFloat() * (size - i));
      const chosen = order[j]!;
      order[j] = order[i]!;
      order[i] = chosen;
      mask[b * size + chosen] = 1;
    }
  }
  return mask;
}

/**
 * x̃ from x: [batch, ...dataShape], same shape.
 * - gaussian: x̃ = x + level·ε, ε ~ N(0, I) (not clipped: the likelihood never sees x̃);
 * - masking: exactly round(level·D) of the D values of each example, chosen uniformly, set to 0
 *   (Vincent et al. 2008, §2.3);
 * - salt_and_pepper: exactly round(level·D) values of each example set to 0 or 1 by a fair coin.
 */
export function corruptInput(x: tf.Tensor, rng: RandomStream, options: CorruptionOptions): tf.Tensor {
  const { type, level } = options;
  if (type === 'none') return x.clone();
  if (type === 'gaussian') return tf.tidy(() => tf.add(x, tf.mul(rng.normal(x.shape), level)));
  const batch = x.shape[0] ?? 1;
  const size = sizeOf(x.shape.slice(1));
  const count = Math.round(level * size);
  const chosen = chosenPositions(batch, size, count, rng);
  const replacement = new Float32Array(batch * size);
  if (type === 'salt_and_pepper') {
    for (let i = 0; i < chosen.length; i++) if (chosen[i] === 1 && rng.nextFloat() < 0.5) replacement[i] = 1;
  }
  return tf.tidy(() => {
    const keep = tf.sub(1, tf.tensor(chosen, x.shape));
    return tf.add(tf.mul(x, keep), tf.tensor(replacement, x.shape));
  });
}

/** The objective's `corrupt` method for these options, or undefined for `none` (no denoising). */
export function corruptionFunction(options: CorruptionOptions | undefined): CorruptFunction | undefined {
  if (!options || options.type === 'none') return undefined;
  return (x, rng) => corruptInput(x, rng, options);
}

/** One line for `describe()`, or none. */
export function describeCorruption(options: CorruptionOptions | undefined): string[] {
  if (!options || options.type === 'none') return [];
  const what = options.type === 'gaussian' ? `σ = ${options.level}` : `fraction ${options.level} of the values per example`;
  return [`denoising: encoder input corrupted by ${options.type} noise (${what}); the likelihood scores the clean x`];
}
