import { BACKEND_CHOICES, type BackendChoice } from '@vaelab/core';
import { trainerSchema } from '@vaelab/trainers';
import { z } from 'zod';

const component = (what: string) =>
  z.looseObject({ name: z.string().describe(`registered ${what} name`) }).describe(`${what}: { name, ...options }`);

/**
 * The resolved config of one run. Components are `{ name, ...options }` blocks whose options are
 * checked by the registry against each component's own schema.
 */
export const runConfigSchema = z.strictObject({
  name: z.string().min(1).optional().describe('experiment name (defaults to the experiment file)'),
  seed: z.number().int().min(0).describe('run seed; every random stream derives from it'),
  backend: z.enum(BACKEND_CHOICES as [BackendChoice, ...BackendChoice[]]).default('auto'),
  latent_dim: z.number().int().positive().describe('number of latent dimensions'),
  conditional: z
    .boolean()
    .default(false)
    .describe("a conditional VAE: the encoder and decoder take the example's label, one-hot (the data must have labels)"),
  data: component('data'),
  encoder: component('encoder'),
  decoder: component('decoder'),
  prior: component('prior'),
  posterior: component('posterior'),
  likelihood: component('likelihood'),
  objective: component('objective'),
  trainer: trainerSchema,
});
export type RunConfig = z.output<typeof runConfigSchema>;
