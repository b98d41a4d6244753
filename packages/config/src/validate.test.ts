import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ValueOrigin } from './origin.js';
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

describe('validate with origins', () => {
  const schema = z.strictObject({
    trainer: z.strictObject({ batch_size: z.number().int().min(1), epochs: z.number().int().min(1) }),
    seed: z.number().int(),
  });
  const origins: Record<string, ValueOrigin> = {
    trainer: { kind: 'file', file: 'experiments/conf/trainer/default.yaml' },
    'trainer.batch_size': { kind: 'override', text: 'trainer.batch_size=0' },
    'trainer.epochs': { kind: 'file', file: 'experiments/conf/trainer/default.yaml', line: 3 },
    'trainer.extra': { kind: 'override', text: '+trainer.extra=1' },
    seed: { kind: 'file', file: 'experiments/conf/experiment/mnist.yaml', line: 7 },
  };
  const origin = (p: readonly (string | number)[]) => origins[p.join('.')];

  it('names the override that gave a bad value', () => {
    const err = errorOf(() => validate(schema, { trainer: { batch_size: 0, epochs: 2 }, seed: 1 }, { origin }));
    expect(err.message).toBe('trainer.batch_size=0 (command line): expected a number >= 1, got 0');
    expect(err.override).toBe('trainer.batch_size=0');
    expect(err.configPath).toBe('trainer.batch_size');
    expect(err.file).toBeUndefined();
  });

  it('names the group file and line, or the experiment file, that gave a bad value', () => {
    const fromGroup = errorOf(() => validate(schema, { trainer: { batch_size: 2, epochs: 0 }, seed: 1 }, { origin }));
    expect(fromGroup.message).toBe('experiments/conf/trainer/default.yaml:3: trainer.epochs: expected a number >= 1, got 0');
    expect([fromGroup.file, fromGroup.line]).toEqual(['experiments/conf/trainer/default.yaml', 3]);
    const fromExperiment = errorOf(() => validate(schema, { trainer: { batch_size: 2, epochs: 1 }, seed: 'x' }, { origin }));
    expect(fromExperiment.message).toBe('experiments/conf/experiment/mnist.yaml:7: seed: expected a number, got "x"');
  });

  it('an unknown key is located where the key was given', () => {
    const err = errorOf(() => validate(schema, { trainer: { batch_size: 2, epochs: 1, extra: 1 }, seed: 1 }, { origin }));
    expect(err.message).toMatch(/^\+trainer\.extra=1 \(command line\): trainer: unknown key "extra"; allowed keys: batch_size, epochs\./);
  });

  it('lists several issues each with its origin, and falls back to where.file', () => {
    const err = errorOf(() =>
      validate(schema, { trainer: { batch_size: 0, epochs: 0 }, seed: 'x' }, { origin, file: 'fallback.yaml' }),
    );
    expect(err.message).toBe(
      [
        '3 problems:',
        '  - trainer.batch_size=0 (command line): expected a number >= 1, got 0',
        '  - experiments/conf/trainer/default.yaml:3: trainer.epochs: expected a number >= 1, got 0',
        '  - experiments/conf/experiment/mnist.yaml:7: seed: expected a number, got "x"',
      ].join('\n'),
    );
    const none = errorOf(() => validate(schema, { trainer: { batch_size: 2, epochs: 1 }, seed: 'x' }, { origin: () => undefined, file: 'f.yaml' }));
    expect(none.message).toBe('f.yaml: seed: expected a number, got "x"');
  });
});
