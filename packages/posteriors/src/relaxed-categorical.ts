import * as tf from '@tensorflow/tfjs-core';
import {
  ComponentConfigError,
  type LatentSpec,
  type PosteriorFamily,
  RelaxedOneHotCategorical,
  ShapeError,
  defineComponent,
} from '@vaelab/core';
import { z } from 'zod';

export interface RelaxedCategoricalOptions {
  /** Categories K per variable; latentDim = N·K. */
  categories: number;
  /** Initial temperature τ0. */
  temperature: number;
  /** r in τ = max(τ_min, τ0 · exp(−r · t)); 0 keeps τ constant. */
  annealRate: number;
  /** Steps between temperature updates. */
  annealEvery: number;
  minTemperature: number;
  /** Straight-through Gumbel-softmax: hard one-hot forward, relaxed gradient. */
  straightThrough: boolean;
}

export const RELAXED_CATEGORICAL_DEFAULTS: Omit<RelaxedCategoricalOptions, 'categories'> = {
  temperature: 1,
  annealRate: 0,
  annealEvery: 1000,
  minTemperature: 0.5,
  straightThrough: false,
};

/**
 * Temperature at a global step (Jang et al. 2017, §4.1): τ = max(τ_min, τ0 · exp(−r · t)), with t
 * the step rounded down to a multiple of `annealEvery`. A function of the step alone, so a resumed
 * run sees the same temperature.
 */
export function temperatureAt(step: number, o: Pick<RelaxedCategoricalOptions, 'temperature' | 'annealRate' | 'annealEvery' | 'minTemperature'>): number {
  const t = o.annealEvery * Math.floor(step / o.annealEvery);
  return Math.max(o.minTemperature, o.temperature * Math.exp(-o.annealRate * t));
}

/**
 * q(z | x) = Concrete / Gumbel-softmax (Maddison et al. 2017; Jang et al. 2017) over N = latentDim / K
 * relaxed one-hot variables of K categories. The encoder emits latentDim logits; z is the relaxed
 * (or, with straight-through, the hard) one-hot vector, reparameterized.
 */
export class RelaxedCategoricalPosterior implements PosteriorFamily {
  readonly reparameterized = true;
  readonly variables: tf.Variable[] = [];
  readonly options: RelaxedCategoricalOptions;
  private tau: number;

  constructor(options: Partial<RelaxedCategoricalOptions> & { categories: number }) {
    this.options = { ...RELAXED_CATEGORICAL_DEFAULTS, ...options };
    this.tau = temperatureAt(0, this.options);
  }

  /** The temperature in use (that of the last `setStep`, step 0 before any). */
  get temperature(): number {
    return this.tau;
  }

  setStep(step: number): void {
    this.tau = temperatureAt(step, this.options);
  }

  paramShape(latent: LatentSpec): number[] {
    return [latent.dim];
  }

  // params: [batch, N·K] logits -> batch [batch], event [N·K]
  distribution(params: tf.Tensor): RelaxedOneHotCategorical {
    const k = this.options.categories;
    if (params.rank !== 2 || params.shape[1]! % k !== 0) {
      throw new ShapeError(
        `relaxed_categorical: encoder output has shape [${params.shape.join(', ')}], expected [batch, latent_dim] with latent_dim a multiple of categories = ${k}`,
      );
    }
    return new RelaxedOneHotCategorical(params, k, this.tau, { straightThrough: this.options.straightThrough });
  }

  dispose(): void {}
}

export const relaxedCategorical = defineComponent({
  kind: 'posterior',
  name: 'relaxed_categorical',
  description: 'Gumbel-softmax / Concrete posterior over groups of K categories (latent_dim must be a multiple of K), optionally straight-through, with an annealed temperature.',
  schema: z.object({
    categories: z.number().int().min(2).describe('number of categories K per variable; latent_dim must be a multiple of it'),
    temperature: z.number().positive().default(1).describe('initial temperature τ0'),
    anneal_rate: z.number().nonnegative().default(0).describe('r in τ = max(min_temperature, τ0·exp(−r·t)); 0 keeps τ constant'),
    anneal_every: z.number().int().positive().default(1000).describe('steps between temperature updates (t is the step rounded down to a multiple)'),
    min_temperature: z.number().positive().default(0.5).describe('lower bound of the annealed temperature'),
    straight_through: z.boolean().default(false).describe('hard one-hot samples forward, relaxed gradient backward (Jang et al. 2017)'),
  }),
  create: (options, ctx) => {
    if (ctx.latentDim % options.categories !== 0) {
      const n = Math.max(1, Math.round(ctx.latentDim / options.categories));
      throw new ComponentConfigError(
        `posterior.categories: relaxed_categorical reads latent_dim as groups of ${options.categories} categories, but latent_dim ${ctx.latentDim} is not a multiple of ${options.categories} (e.g. latent_dim ${n * options.categories} = ${n} × ${options.categories})`,
        'posterior.categories',
      );
    }
    if (options.temperature < options.min_temperature) {
      throw new ComponentConfigError(
        `posterior.temperature: ${options.temperature} is below min_temperature ${options.min_temperature}, so it would never be used; lower min_temperature or raise temperature`,
        'posterior.temperature',
      );
    }
    return new RelaxedCategoricalPosterior({
      categories: options.categories,
      temperature: options.temperature,
      annealRate: options.anneal_rate,
      annealEvery: options.anneal_every,
      minTemperature: options.min_temperature,
      straightThrough: options.straight_through,
    });
  },
});
