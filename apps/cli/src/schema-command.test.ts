import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYaml } from '@vaelab/config';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { BUILTIN_CONF_DIR } from './conf-path.js';
import { main } from './main.js';
import { builtinRegistry, loadPlugins } from './registry.js';
import { COMPONENT_SLOTS, SCHEMA_FILES, experimentSchema, groupSchema } from './schema-command.js';

const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const SCHEMA_DIR = fileURLToPath(new URL('../schema', import.meta.url));
const registry = builtinRegistry();
const ajv = new Ajv2020({ allErrors: true, strict: false });
const experiment = ajv.compile(experimentSchema(registry));
const yamlOf = (file: string) => parseYaml(readFileSync(file, 'utf8'), file).value;
const errors = (validate: { errors?: unknown[] | null }) => JSON.stringify(validate.errors, null, 1);

/** Every shipped experiment: the CLI's built-in ones and the example project's. */
function shippedExperiments(): string[] {
  const dirs = [join(BUILTIN_CONF_DIR, 'experiment'), join(repo, 'examples', 'custom-prior', 'conf', 'experiment')];
  return dirs.flatMap((d) => {
    try {
      return readdirSync(d)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(d, f));
    } catch {
      return [];
    }
  });
}

describe('vaelab schema', () => {
  it('accepts every shipped experiment file', () => {
    const files = shippedExperiments().filter((f) => f.startsWith(BUILTIN_CONF_DIR));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const file of files) {
      const ok = experiment(yamlOf(file));
      expect(ok, `${file}: ${errors(experiment)}`).toBe(true);
    }
  });

  it("accepts every shipped group option file against its group's schema", () => {
    for (const group of [...COMPONENT_SLOTS, 'trainer']) {
      const validate = ajv.compile(groupSchema(registry, group));
      for (const f of readdirSync(join(BUILTIN_CONF_DIR, group)).filter((x) => x.endsWith('.yaml'))) {
        const file = join(BUILTIN_CONF_DIR, group, f);
        expect(validate(yamlOf(file)), `${file}: ${errors(validate)}`).toBe(true);
      }
    }
  });

  it("accepts the example project's experiment once its plugin is registered (plugins enter the schema)", async () => {
    const example = join(repo, 'examples', 'custom-prior');
    const file = join(example, 'conf', 'experiment', 'laplace_prior_synthetic.yaml');
    const config = yamlOf(file) as Record<string, unknown>;
    const withPlugin = builtinRegistry();
    await loadPlugins(withPlugin, ['@vaelab/example-custom-prior'], example, null);
    const validate = ajv.compile(experimentSchema(withPlugin));
    expect(validate(config), errors(validate)).toBe(true);
    // The prior block names `laplace`, which only the plugin registers.
    expect(experiment({ ...config, prior: { name: 'laplace', b: 1 } })).toBe(false);
    expect(validate({ ...config, prior: { name: 'laplace', b: -1 } })).toBe(false);
    // The example ships the schema generated with its plugin (vaelab schema --write schema, run there).
    expect(JSON.parse(readFileSync(join(example, 'schema', 'experiment.schema.json'), 'utf8'))).toEqual(experimentSchema(withPlugin));
  });

  it('rejects a wrong experiment: an unknown component, a wrong option type, an unknown option, a bad value', () => {
    const base = yamlOf(join(BUILTIN_CONF_DIR, 'experiment', 'mnist_vae.yaml')) as Record<string, unknown>;
    const wrong: [string, Record<string, unknown>, RegExp][] = [
      ['unknown prior', { ...base, prior: { name: 'no_such_prior' } }, /must be equal to one of the allowed values/],
      ['option of the wrong type', { ...base, prior: { name: 'mixture_of_gaussians', components: 'ten' } }, /must be integer|must be number/],
      ['option the component does not have', { ...base, prior: { name: 'standard_normal', components: 3 } }, /must NOT have additional properties/],
      ['negative latent size', { ...base, latent_dim: -2 }, /latent_dim|must be >/],
      ['unknown top-level key', { ...base, latnet_dim: 3 }, /must NOT have additional properties/],
      ['trainer option of the wrong type', { ...base, trainer: { epochs: 'many' } }, /must be integer|must be number/],
      ['unknown optimizer', { ...base, trainer: { optimizer: { name: 'sgdd' } } }, /allowed values/],
      ['bad defaults entry', { ...base, defaults: [{ prior: 'vamp', likelihood: 'bernoulli' }] }, /must NOT have more than 1 properties|anyOf/],
    ];
    for (const [why, config, message] of wrong) {
      expect(experiment(config), why).toBe(false);
      expect(errors(experiment), why).toMatch(message);
    }
  });

  it('ships schema files equal to what `vaelab schema --write` generates (regenerate: npm run schema -w @vaelab/cli)', () => {
    const expected: Record<string, unknown> = { 'experiment.schema.json': experimentSchema(registry) };
    for (const group of [...COMPONENT_SLOTS, 'trainer']) expected[`${group}.schema.json`] = groupSchema(registry, group);
    expect(Object.keys(expected).sort()).toEqual([...SCHEMA_FILES].sort());
    for (const [file, schema] of Object.entries(expected)) {
      expect(JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')), `apps/cli/schema/${file} is stale: npm run schema -w @vaelab/cli`).toEqual(schema);
    }
  });

  it('every shipped YAML file names its schema for the YAML language server', () => {
    for (const group of readdirSync(BUILTIN_CONF_DIR)) {
      const schema = group === 'experiment' ? 'experiment' : group;
      for (const f of readdirSync(join(BUILTIN_CONF_DIR, group)).filter((x) => x.endsWith('.yaml'))) {
        const first = readFileSync(join(BUILTIN_CONF_DIR, group, f), 'utf8').split('\n')[0];
        expect(first, `${group}/${f}`).toBe(`# yaml-language-server: $schema=../../schema/${schema}.schema.json`);
      }
    }
  });

  it('prints the experiment schema, or one group with --group, and names the groups when one is unknown', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { cwd: repo, tty: false, out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    expect(await main(['schema'], io)).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({ title: 'VAE Lab experiment file', properties: { defaults: { type: 'array' } } });
    out.length = 0;
    expect(await main(['schema', '--group', 'prior'], io)).toBe(0);
    expect(JSON.parse(out.join('\n')).properties.name.enum).toContain('vamp');
    expect(await main(['schema', '--group', 'nope'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/no schema for the group 'nope'; groups: data, encoder/);
  });
});
