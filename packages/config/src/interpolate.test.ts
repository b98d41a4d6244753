import { describe, expect, it } from 'vitest';
import { resolveInterpolations } from './interpolate.js';
import { toYaml } from './serialize.js';
import { errorOf } from './test-helpers.js';


describe('resolveInterpolations', () => {
  it('keeps the type of a whole-string reference', () => {
    const out = resolveInterpolations({
      prior: { latent_dim: 16, learn: true, scale: null, hidden: [1, 2] },
      decoder: { latent_dim: '${prior.latent_dim}', learn: '${prior.learn}', scale: '${prior.scale}', hidden: '${prior.hidden}' },
    });
    expect(out.decoder).toEqual({ latent_dim: 16, learn: true, scale: null, hidden: [1, 2] });
  });

  it('substitutes references inside longer strings as text', () => {
    const out = resolveInterpolations({ name: 'vae', beta: 4, run: '${name}_beta${beta}/${ name }', flag: 'x\\${missing}' });
    expect(out.run).toBe('vae_beta4/vae');
    expect(out.flag).toBe('x${missing}');
  });

  it('resolves references to references, and through mappings', () => {
    const out = resolveInterpolations({
      a: '${b}',
      b: '${c.d}',
      c: { d: 7, e: '${c.d}' },
      model: '${c}',
      deep: '${model.e}',
      idx: '${list.1}',
      list: ['x', '${c.d}'],
    });
    expect(out).toEqual({ a: 7, b: 7, c: { d: 7, e: 7 }, model: { d: 7, e: 7 }, deep: 7, idx: 7, list: ['x', 7] });
  });

  it('does not share objects between copies and does not modify its input', () => {
    const input = { a: { x: 1 }, b: '${a}', c: '${a}' };
    const out = resolveInterpolations(input);
    expect(out.b).not.toBe(out.a);
    expect(toYaml(out)).not.toContain('&');
    expect(input.b).toBe('${a}');
  });

  it('does not re-read a resolved literal as a reference', () => {
    const out = resolveInterpolations({ lit: '\\${not_a_ref}', copy: '${lit}', copy2: '${copy}' });
    expect(out).toEqual({ lit: '${not_a_ref}', copy: '${not_a_ref}', copy2: '${not_a_ref}' });
  });

  it('names a cycle', () => {
    const err = errorOf(() => resolveInterpolations({ a: '${b}', b: '${a}' }));
    expect(err.message).toContain('interpolation cycle: a -> b -> a');
    const self = errorOf(() => resolveInterpolations({ x: { y: '${x}' } }));
    expect(self.message).toContain('interpolation cycle: x -> x.y -> x');
    const long = errorOf(() => resolveInterpolations({ a: 'p${b}', b: 'q${c}', c: '${a}' }));
    expect(long.message).toContain('a -> b -> c -> a');
  });

  it('names the key holding an unknown reference', () => {
    const err = errorOf(() => resolveInterpolations({ prior: { latent_dim: 3 }, decoder: { z: '${prior.latent_dims}' } }));
    expect(err.configPath).toBe('decoder.z');
    expect(err.message).toContain('decoder.z: unknown interpolation reference ${prior.latent_dims}');
    expect(err.message).toContain('prior has no key "latent_dims" (keys there: latent_dim)');
    expect(err.message).toContain('Did you mean prior.latent_dim?');
  });

  it('rejects malformed references and mappings embedded in text', () => {
    expect(errorOf(() => resolveInterpolations({ a: 'x${b' })).message).toContain('unclosed interpolation');
    expect(errorOf(() => resolveInterpolations({ a: '${env:HOME}' })).message).toContain('invalid interpolation ${env:HOME}');
    const embed = errorOf(() => resolveInterpolations({ m: { k: 1 }, s: 'v=${m}' }));
    expect(embed.message).toContain('s: ${m} is a mapping and cannot be embedded');
  });
});
