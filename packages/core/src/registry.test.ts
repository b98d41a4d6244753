import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Prior } from './contracts.js';
import { ComponentConfigError } from './errors.js';
import { Normal } from './normal.js';
import { RandomStreams } from './random.js';
import { ComponentRegistry, defineComponent } from './registry.js';

const toy = defineComponent({
  kind: 'prior',
  name: 'toy',
  description: 'a toy prior',
  schema: z.object({ components: z.number().int().positive().default(3).describe('mixture size'), tag: z.string().optional() }),
  create: (options, ctx): Prior & { options: unknown } => ({
    options,
    variables: [],
    dispose() {},
    distribution: (b: number) => new Normal(tf.zeros([b, ctx.latentDim]), tf.ones([b, ctx.latentDim])),
  }),
});
const ctx = { latentDim: 2, dataShape: [4], streams: new RandomStreams(1), cwd: '.' };

describe('ComponentRegistry', () => {
  const registry = new ComponentRegistry().use({ components: [toy] });

  it('builds a component from a config block with defaults filled in', () => {
    const prior = registry.build('prior', { name: 'toy' }, ctx) as unknown as { options: unknown };
    expect(prior.options).toEqual({ components: 3 });
  });

  it('names the config path and lists registered names for an unknown component', () => {
    expect(() => registry.build('prior', { name: 'vamp' }, ctx, 'prior')).toThrow(
      /prior\.name: unknown prior 'vamp'; registered prior components: toy/,
    );
  });

  it('names the option path for a wrong type', () => {
    try {
      registry.build('prior', { name: 'toy', components: 'three' }, ctx, 'prior');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ComponentConfigError);
      expect((e as Error).message).toMatch(/prior\.components: .*number/);
    }
  });

  it('lists allowed options for an unknown one', () => {
    expect(() => registry.build('prior', { name: 'toy', componnets: 2 }, ctx)).toThrow(
      /unknown option 'componnets'; allowed: components, tag/,
    );
  });

  it('requires a name and a mapping', () => {
    expect(() => registry.resolve('prior', 'toy', 'prior')).toThrow(/prior: expected a mapping/);
    expect(() => registry.resolve('prior', {}, 'prior')).toThrow(/prior\.name: required/);
  });

  it('rejects a second registration under the same kind and name', () => {
    expect(() => registry.register(toy)).toThrow(/already registered/);
  });

  it('describes options with types and defaults for `vaelab list`', () => {
    const opts = ComponentRegistry.options(toy);
    expect(opts).toContainEqual({ name: 'components', type: 'integer', required: false, default: 3, description: 'mixture size' });
    expect(opts.find((o) => o.name === 'tag')?.type).toBe('string');
  });
});
