import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatZodIssues, validate } from './validate.js';
import { errorOf } from './test-helpers.js';

const priorSchema = z.strictObject({
  kind: z.enum(['standard_normal', 'vamp', 'mog']),
  components: z.number().int().positive(),
  latent_dim: z.number().int().min(1).default(16),
  hidden: z.array(z.number()).min(1).optional(),
  name: z.string().optional(),
});


describe('validate', () => {
  it('returns the parsed value with defaults', () => {
    expect(validate(priorSchema, { kind: 'vamp', components: 10 })).toEqual({ kind: 'vamp', components: 10, latent_dim: 16 });
  });

  it('names the full path and file of a single issue', () => {
    const err = errorOf(() =>
      validate(priorSchema, { kind: 'vamp', components: 0 }, { path: 'prior', file: 'experiments/conf/prior/vamp.yaml' }),
    );
    expect(err.message).toBe('experiments/conf/prior/vamp.yaml: prior.components: expected a positive number, got 0');
    expect(err.configPath).toBe('prior.components');
    expect(err.file).toBe('experiments/conf/prior/vamp.yaml');
  });

  it('lists every issue', () => {
    const err = errorOf(() => validate(priorSchema, { kind: 'vam', components: 2.5, hidden: ['a'] }, { path: 'prior' }));
    expect(err.message).toContain('prior: 3 problems:');
    expect(err.message).toContain('  - prior.kind: expected one of: standard_normal, vamp, mog, got "vam"');
    expect(err.message).toContain('  - prior.components: expected an integer, got 2.5');
    expect(err.message).toContain('  - prior.hidden.0: expected a number, got "a"');
  });

  it('says which keys are unknown and which are allowed', () => {
    const err = errorOf(() => validate(priorSchema, { kind: 'vamp', components: 3, componets: 4 }, { path: 'prior' }));
    expect(err.message).toContain('prior: unknown key "componets"; allowed keys: kind, components, latent_dim, hidden, name.');
    expect(err.message).toContain('Did you mean components?');
  });

  it('finds allowed keys of nested and wrapped objects', () => {
    const schema = z.strictObject({ trainer: z.strictObject({ lr: z.number(), epochs: z.number() }).optional() });
    const err = errorOf(() => validate(schema, { trainer: { lr: 1, epochs: 2, momentum: 0.9 } }));
    expect(err.message).toBe('trainer: unknown key "momentum"; allowed keys: lr, epochs.');
  });

  it('reports missing keys, sizes and unions in its own words', () => {
    expect(errorOf(() => validate(priorSchema, { kind: 'vamp' }, { path: 'prior' })).message).toBe(
      'prior.components: required key is missing (expected a number)',
    );
    expect(errorOf(() => validate(priorSchema, { kind: 'vamp', components: 1, hidden: [] })).message).toBe(
      'hidden: expected at least 1 item, got a list of 0 items',
    );
    const u = z.object({ act: z.union([z.literal('relu'), z.number()]) });
    const msg = errorOf(() => validate(u, { act: true })).message;
    expect(msg).toContain('act: does not match any allowed form, got true');
    expect(msg).toContain('expected relu');
    expect(msg).toContain('expected a number');
  });
});

describe('formatZodIssues', () => {
  it('prefixes issue paths', () => {
    const r = z.object({ a: z.object({ b: z.string() }) }).safeParse({ a: { b: 1 } });
    expect(r.success).toBe(false);
    if (r.success) return;
    expect(formatZodIssues(r.error, 'model')).toEqual(['model.a.b: expected a string']);
    expect(formatZodIssues(r.error, '', { input: { a: { b: 1 } } })).toEqual(['a.b: expected a string, got 1']);
  });
});
