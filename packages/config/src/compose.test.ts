import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { composeConfig, listExperiments, listGroups, listOptions } from './compose.js';
import { describeOrigin } from './origin.js';
import { expandSweeps, parseOverrides } from './overrides.js';
import { validate } from './validate.js';
import { errorOf } from './test-helpers.js';

let tmp: string;
let conf: string;

function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
}

function compose(experiment: string, args: string[] = []) {
  return composeConfig({ configDir: conf, experiment, overrides: parseOverrides(args) });
}


beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vaelab-compose-'));
  conf = path.join(tmp, 'conf');
  writeTree(conf, {
    'experiment/base.yaml': [
      'defaults:',
      '  - data: mnist',
      '  - prior: standard_normal',
      '  - objective: elbo',
      '  - _self_',
      'seed: 1',
      'prior:',
      '  latent_dim: 16',
      '  extra:',
      '    b: 3',
      '    c: 4',
      'data:',
      '  shape: [32, 32]',
      'objective:',
      '  beta: null',
      'trainer:',
      '  epochs: 10',
      '  hidden: [256, 128]',
      '',
    ].join('\n'),
    'experiment/self_first.yaml': ['defaults:', '  - _self_', '  - prior: standard_normal', 'prior:', '  latent_dim: 99', 'note: mine', ''].join('\n'),
    'experiment/no_self.yaml': ['defaults:', '  - prior: standard_normal', 'prior:', '  latent_dim: 99', ''].join('\n'),
    'experiment/no_defaults.yaml': 'seed: 7\nname: plain\n',
    'experiment/null_group.yaml': ['defaults:', '  - prior: null', '  - data: mnist', 'seed: 2', ''].join('\n'),
    'experiment/nested.yaml': ['defaults:', '  - model: vae', '  - _self_', 'encoder:', '  width: 64', ''].join('\n'),
    'experiment/cycle.yaml': ['defaults:', '  - loop_a: x', ''].join('\n'),
    'experiment/twice.yaml': ['defaults:', '  - model: vae', '  - encoder: conv', ''].join('\n'),
    'experiment/bad_option.yaml': ['defaults:', '  - data: mnist', '  - prior: vampp', ''].join('\n'),
    'experiment/bad_group.yaml': ['defaults:', '  - priors: vamp', ''].join('\n'),
    'experiment/bad_entry.yaml': ['defaults:', '  - prior', ''].join('\n'),
    'experiment/broken_group.yaml': ['defaults:', '  - prior: broken', ''].join('\n'),
    'experiment/list_top.yaml': '- a\n- b\n',
    'experiment/broken.yaml': 'seed: 1\ntrainer:\n  epochs: [1, 2\n  lr: 3\n',
    'experiment/interp.yaml': [
      'defaults:',
      '  - prior: standard_normal',
      '  - _self_',
      'decoder:',
      '  latent_dim: ${prior.latent_dim}',
      '  name: dec_${prior.kind}_${prior.latent_dim}',
      '',
    ].join('\n'),
    'data/mnist.yaml': 'name: mnist\nbatch_size: 128\nshape: [28, 28, 1]\n',
    'data/cifar.yaml': 'name: cifar\nbatch_size: 64\nshape: [32, 32, 3]\n',
    'prior/standard_normal.yaml': 'kind: standard_normal\nlatent_dim: 8\nextra:\n  a: 1\n  b: 2\n',
    'prior/vamp.yaml': 'kind: vamp\ncomponents: 500\nlatent_dim: 8\n',
    'prior/broken.yaml': 'kind: vamp\ncomponents: 500\n  pseudo: 3\n',
    'objective/elbo.yaml': 'kind: elbo\nbeta: 1\n',
    'objective/beta.yaml': 'kind: beta\nbeta: 4\n',
    'trainer/adam.yaml': 'optimizer: adam\nlr: 0.001\n',
    'model/vae.yaml': ['defaults:', '  - encoder: mlp', '  - _self_', 'kind: vae', ''].join('\n'),
    'encoder/mlp.yaml': 'kind: mlp\nwidth: 512\n',
    'encoder/conv.yaml': 'kind: conv\nchannels: [32, 64]\n',
    'loop_a/x.yaml': ['defaults:', '  - loop_b: y', 'v: 1', ''].join('\n'),
    'loop_b/y.yaml': ['defaults:', '  - loop_a: x', 'v: 2', ''].join('\n'),
  });
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('defaults list', () => {
  it('merges entries in order with _self_ where placed (last here)', () => {
    const { config, choices, files } = compose('base');
    expect(config.seed).toBe(1);
    expect(config.prior).toMatchObject({ kind: 'standard_normal', latent_dim: 16 });
    expect(choices).toEqual({ data: 'mnist', prior: 'standard_normal', objective: 'elbo' });
    expect(files.map((f) => path.relative(conf, f).split(path.sep).join('/'))).toEqual([
      'experiment/base.yaml',
      'data/mnist.yaml',
      'prior/standard_normal.yaml',
      'objective/elbo.yaml',
    ]);
    expect(Object.keys(config)).toEqual(['data', 'prior', 'objective', 'seed', 'trainer']);
  });

  it('_self_ first lets the groups win', () => {
    const { config } = compose('self_first');
    expect(config.prior).toEqual({ latent_dim: 8, kind: 'standard_normal', extra: { a: 1, b: 2 } });
    expect(config.note).toBe('mine');
  });

  it('a missing _self_ goes last', () => {
    expect((compose('no_self').config.prior as Record<string, unknown>).latent_dim).toBe(99);
  });

  it('a file without defaults is its own content', () => {
    const r = compose('no_defaults');
    expect(r.config).toEqual({ seed: 7, name: 'plain' });
    expect(r.choices).toEqual({});
  });

  it('merges mappings recursively', () => {
    const prior = compose('base').config.prior as Record<string, unknown>;
    expect(prior.extra).toEqual({ a: 1, b: 3, c: 4 });
    expect(Object.keys(prior.extra as object)).toEqual(['a', 'b', 'c']);
  });

  it('replaces lists instead of merging them', () => {
    expect((compose('base').config.data as Record<string, unknown>).shape).toEqual([32, 32]);
  });

  it('treats null as a value that replaces', () => {
    const objective = compose('base').config.objective as Record<string, unknown>;
    expect('beta' in objective).toBe(true);
    expect(objective.beta).toBeNull();
    expect(objective.kind).toBe('elbo');
  });

  it('a group set to null contributes nothing', () => {
    const r = compose('null_group');
    expect(r.config).toEqual({ data: { name: 'mnist', batch_size: 128, shape: [28, 28, 1] }, seed: 2 });
    expect(r.choices).toEqual({ prior: null, data: 'mnist' });
  });

  it('expands defaults of group files into top-level groups', () => {
    const r = compose('nested');
    expect(r.config).toEqual({ encoder: { kind: 'mlp', width: 64 }, model: { kind: 'vae' } });
    expect(r.choices).toEqual({ model: 'vae', encoder: 'mlp' });
  });

  it('detects cycles in defaults lists', () => {
    const err = errorOf(() => compose('cycle'));
    expect(err.message).toContain('defaults cycle: loop_a/x.yaml -> loop_b/y.yaml -> loop_a/x.yaml');
  });

  it('rejects a group chosen twice in the tree', () => {
    const err = errorOf(() => compose('twice'));
    expect(err.message).toMatch(/group encoder is chosen twice: in model\/vae\.yaml \(mlp\) and in experiment\/twice\.yaml \(conv\)/);
  });

  it('names file, line and the options for an unknown option in a defaults list', () => {
    const err = errorOf(() => compose('bad_option'));
    expect(err.message).toContain('bad_option.yaml:3:5:');
    expect(err.message).toContain('unknown option "vampp" for group prior');
    expect(err.message).toContain('standard_normal, vamp');
    expect(err.message).toContain('Did you mean vamp?');
    expect(err.line).toBe(3);
  });

  it('lists the groups for an unknown group', () => {
    const err = errorOf(() => compose('bad_group'));
    expect(err.message).toContain('unknown config group "priors"');
    expect(err.message).toContain('data, encoder, loop_a, loop_b, model, objective, prior, trainer');
    expect(err.message).not.toContain('experiment,');
  });

  it('rejects malformed entries with the allowed forms', () => {
    const err = errorOf(() => compose('bad_entry'));
    expect(err.message).toContain('invalid defaults entry "prior"');
    expect(err.message).toContain('"- group: option"');
    expect(err.configPath).toBe('defaults.0');
  });
});

describe('experiments', () => {
  it('lists the available experiments when one is missing', () => {
    const err = errorOf(() => compose('basee'));
    expect(err.message).toContain('unknown experiment "basee"');
    expect(err.message).toContain('available experiments: bad_entry, bad_group, bad_option, base,');
    expect(err.message).toContain('Did you mean base?');
  });

  it('rejects experiment names with path parts', () => {
    expect(errorOf(() => compose('../data/mnist')).message).toContain('invalid experiment name');
    expect(errorOf(() => compose('sub/base')).message).toContain('invalid experiment name');
  });

  it('reports a missing config folder', () => {
    const err = errorOf(() => composeConfig({ configDir: path.join(tmp, 'nope'), experiment: 'base' }));
    expect(err.message).toContain('does not exist');
  });

  it('lists experiments, groups and options', () => {
    expect(listExperiments(conf)).toContain('base');
    expect(listGroups(conf)).toEqual(['data', 'encoder', 'loop_a', 'loop_b', 'model', 'objective', 'prior', 'trainer']);
    expect(listOptions(conf, 'prior')).toEqual(['broken', 'standard_normal', 'vamp']);
  });
});

describe('group choices on the command line', () => {
  it('group=option replaces the choice', () => {
    const r = compose('base', ['prior=vamp']);
    expect(r.config.prior).toEqual({ kind: 'vamp', components: 500, latent_dim: 16, extra: { b: 3, c: 4 } });
    expect(r.choices.prior).toBe('vamp');
    expect(r.files.some((f) => f.endsWith(path.join('prior', 'vamp.yaml')))).toBe(true);
    expect(r.files.some((f) => f.endsWith('standard_normal.yaml'))).toBe(false);
    expect(r.overrides).toEqual(['prior=vamp']);
  });

  it('applies to groups chosen in nested defaults lists', () => {
    const r = compose('nested', ['encoder=conv']);
    expect(r.config.encoder).toEqual({ kind: 'conv', channels: [32, 64], width: 64 });
  });

  it('lists the options for an unknown option', () => {
    const err = errorOf(() => compose('base', ['prior=vampp']));
    expect(err.message).toContain('unknown option "vampp" for group prior in the override "prior=vampp"');
    expect(err.message).toContain('available options (files in prior/): broken, standard_normal, vamp');
  });

  it('needs + for a group that is not in the defaults list', () => {
    const err = errorOf(() => compose('base', ['trainer=adam']));
    expect(err.message).toContain('the group trainer is not in the defaults lists of experiment/base.yaml');
    expect(err.message).toContain('use +trainer=adam to add it');
    const r = compose('base', ['+trainer=adam']);
    expect(r.config.trainer).toEqual({ epochs: 10, hidden: [256, 128], optimizer: 'adam', lr: 0.001 });
    expect(r.choices.trainer).toBe('adam');
  });

  it('rejects + for a group already in the list', () => {
    const err = errorOf(() => compose('base', ['+prior=vamp']));
    expect(err.message).toContain('already in the defaults list of experiment/base.yaml');
    expect(err.message).toContain('use prior=vamp');
  });

  it('group=null and ~group remove the choice', () => {
    for (const arg of ['prior=null', '~prior', '~prior=standard_normal']) {
      const r = compose('base', [arg]);
      expect(r.choices.prior).toBeNull();
      expect(r.config.prior).toEqual({ latent_dim: 16, extra: { b: 3, c: 4 } });
    }
    expect(errorOf(() => compose('base', ['~prior=vamp'])).message).toContain('set to standard_normal');
  });

  it('rejects option names with path parts', () => {
    const err = errorOf(() => compose('base', ['prior=../experiment/base']));
    expect(err.message).toContain('invalid option name "../experiment/base"');
  });

  it('does not let an override choose the experiment', () => {
    expect(errorOf(() => compose('base', ['experiment=nested'])).message).toContain('cannot choose the experiment');
  });

  it('rejects sweeps that were not expanded', () => {
    const overrides = parseOverrides(['seed=1,2'], { multirun: true });
    const err = errorOf(() => composeConfig({ configDir: conf, experiment: 'base', overrides }));
    expect(err.message).toContain('expandSweeps');
  });
});

describe('value overrides', () => {
  it('sets, adds and deletes in order', () => {
    const r = compose('base', ['seed=5', 'trainer.hidden=[64]', '+trainer.clip=1e-3', '~data.name', 'trainer.hidden.0=32']);
    expect(r.config.seed).toBe(5);
    expect(r.config.trainer).toEqual({ epochs: 10, hidden: [32], clip: 0.001 });
    expect(r.config.data).toEqual({ batch_size: 128, shape: [32, 32] });
    expect(r.overrides).toEqual(['seed=5', 'trainer.hidden=[64]', '+trainer.clip=1e-3', '~data.name', 'trainer.hidden.0=32']);
  });

  it('+ creates missing parent mappings', () => {
    const r = compose('base', ['+logging.every.steps=100']);
    expect(r.config.logging).toEqual({ every: { steps: 100 } });
  });

  it('an unknown key names it, lists the keys there and suggests +', () => {
    const err = errorOf(() => compose('base', ['trainer.epoch=3']));
    expect(err.message).toContain('unknown override key trainer.epoch');
    expect(err.message).toContain('trainer has no key "epoch" (keys there: epochs, hidden)');
    expect(err.message).toContain('Did you mean trainer.epochs?');
    expect(err.message).toContain('use +trainer.epoch=3');
  });

  it('an unknown parent is reported at the deepest existing level', () => {
    const err = errorOf(() => compose('base', ['optim.lr=3']));
    expect(err.message).toContain('the top level has no key "optim" (keys there: data, prior, objective, seed, trainer)');
    expect(err.message).toContain('+optim.lr=3');
  });

  it('a one-word unknown key also says it is not a group', () => {
    const err = errorOf(() => compose('base', ['optimizer=adam']));
    expect(err.message).toContain('unknown override key optimizer');
    expect(err.message).toContain('optimizer is not a config group either; groups: data, encoder, loop_a');
  });

  it('+ on an existing key and ~ on a missing key are errors', () => {
    expect(errorOf(() => compose('base', ['+seed=3'])).message).toContain('cannot add seed in "+seed=3": it already exists (value: 1); use seed=3');
    expect(errorOf(() => compose('base', ['~trainer.nope'])).message).toContain('trainer has no key "nope"');
    expect(errorOf(() => compose('base', ['~seed=2'])).message).toContain('its value is 1, not 2');
  });
});

describe('file problems', () => {
  it('malformed YAML names the file and line', () => {
    const err = errorOf(() => compose('broken'));
    expect(err.file).toBe(path.join(conf, 'experiment', 'broken.yaml'));
    expect(err.line).toBe(4);
    expect(err.message).toMatch(/experiment[/\\]broken\.yaml:4:\d+: YAML syntax error: /);
  });

  it('malformed YAML in a group file names that file', () => {
    const err = errorOf(() => compose('broken_group'));
    expect(err.message).toMatch(/prior[/\\]broken\.yaml:2:13: YAML syntax error: Nested mappings/);
  });

  it('a top level that is not a mapping names the file', () => {
    const err = errorOf(() => compose('list_top'));
    expect(err.message).toMatch(/list_top\.yaml:1:1: the top level of a config file must be a mapping.*found a list/);
  });
});

describe('interpolation after composition', () => {
  it('resolves typed and embedded references, also after overrides', () => {
    const r = compose('interp', ['prior.latent_dim=32']);
    expect(r.config.decoder).toEqual({ latent_dim: 32, name: 'dec_standard_normal_32' });
  });
});

describe('where each value came from', () => {
  const file = (rel: string) => path.join(conf, ...rel.split('/'));

  it('names the file and line of the key for values from files', () => {
    const { origin } = compose('base');
    expect(origin(['seed'])).toEqual({ kind: 'file', file: file('experiment/base.yaml'), line: 6 });
    expect(origin(['prior', 'kind'])).toEqual({ kind: 'file', file: file('prior/standard_normal.yaml'), line: 1 });
    expect(origin(['prior', 'extra', 'a'])).toEqual({ kind: 'file', file: file('prior/standard_normal.yaml'), line: 4 });
    expect(origin(['prior', 'extra', 'b'])).toEqual({ kind: 'file', file: file('experiment/base.yaml'), line: 10 });
    expect(origin(['prior', 'latent_dim'])).toEqual({ kind: 'file', file: file('experiment/base.yaml'), line: 8 });
    expect(origin(['data', 'name'])).toEqual({ kind: 'file', file: file('data/mnist.yaml'), line: 1 });
    // A mapping is attributed to the last file that merged into it; a list item to its list.
    expect(origin(['prior'])).toEqual({ kind: 'file', file: file('experiment/base.yaml'), line: 7 });
    expect(origin(['trainer', 'hidden', 1])).toEqual({ kind: 'file', file: file('experiment/base.yaml'), line: 18 });
    // Below the last recorded value: the closest parent; nothing recorded at all: undefined.
    expect(origin(['prior', 'components'])).toEqual(origin(['prior']));
    expect(origin(['nope'])).toBeUndefined();
  });

  it('a group chosen on the command line gives the values of its file', () => {
    const { origin } = compose('base', ['prior=vamp']);
    expect(origin(['prior', 'components'])).toEqual({ kind: 'file', file: file('prior/vamp.yaml'), line: 2 });
  });

  it('overrides win last, and deleting a list item moves the later ones up', () => {
    const { origin } = compose('base', ['seed=5', '+trainer.clip={max: 1}', 'trainer.hidden.1=64', '~trainer.hidden.0', '~prior.extra']);
    expect(origin(['seed'])).toEqual({ kind: 'override', text: 'seed=5' });
    expect(origin(['trainer', 'clip', 'max'])).toEqual({ kind: 'override', text: '+trainer.clip={max: 1}' });
    expect(origin(['trainer', 'hidden', 0])).toEqual({ kind: 'override', text: 'trainer.hidden.1=64' });
    expect(origin(['trainer', 'hidden', 1])).toEqual({ kind: 'file', file: file('experiment/base.yaml'), line: 18 });
    expect(origin(['prior', 'extra'])).toEqual(origin(['prior']));
    expect(describeOrigin({ kind: 'override', text: 'seed=5' })).toBe('seed=5 (command line)');
    expect(describeOrigin({ kind: 'file', file: file('prior/vamp.yaml'), line: 2 })).toBe(`${file('prior/vamp.yaml')}:2`);
  });

  it('validation names the override, the group file and line, or the experiment file', () => {
    const schema = z.looseObject({ latent_dim: z.number().int().max(10), components: z.number().max(100).optional() });
    const check = (args: string[]) => {
      const { config, origin } = compose('base', args);
      return errorOf(() => validate(schema, config.prior, { path: 'prior', origin }));
    };
    expect(check(['prior.latent_dim=64']).message).toBe('prior.latent_dim=64 (command line): expected a number <= 10, got 64');
    const fromGroup = check(['prior=vamp', 'prior.latent_dim=4']);
    expect(fromGroup.message).toBe(`${file('prior/vamp.yaml')}:2: prior.components: expected a number <= 100, got 500`);
    expect([fromGroup.file, fromGroup.line]).toEqual([file('prior/vamp.yaml'), 2]);
    expect(check([]).message).toBe(`${file('experiment/base.yaml')}:8: prior.latent_dim: expected a number <= 10, got 16`);
  });
});

describe('sweeps over a config folder', () => {
  it('glob(...) expands over the options of a group and each job composes', () => {
    const overrides = parseOverrides(['prior=glob(*, exclude=broken)', 'seed=range(1,3)'], { multirun: true });
    const jobs = expandSweeps(overrides, (group) => listOptions(conf, group));
    expect(jobs.map((j) => j.map((o) => o.raw).join(' '))).toEqual([
      'prior=standard_normal seed=1',
      'prior=standard_normal seed=2',
      'prior=vamp seed=1',
      'prior=vamp seed=2',
    ]);
    const kinds = jobs.map((job) => {
      const { config } = composeConfig({ configDir: conf, experiment: 'base', overrides: job });
      return `${(config.prior as Record<string, unknown>).kind as string}/${config.seed as number}`;
    });
    expect(kinds).toEqual(['standard_normal/1', 'standard_normal/2', 'vamp/1', 'vamp/2']);
  });
});

describe('config search path', () => {
  let project: string;
  let builtin: string;

  beforeAll(() => {
    project = path.join(tmp, 'search', 'project');
    builtin = path.join(tmp, 'search', 'builtin');
    writeTree(builtin, {
      'experiment/shared.yaml': ['defaults:', '  - prior: vamp', 'seed: 2', ''].join('\n'),
      'experiment/builtin_only.yaml': ['defaults:', '  - data: mnist', '  - prior: vamp', 'seed: 3', ''].join('\n'),
      'prior/vamp.yaml': 'kind: vamp\ncomponents: 500\n',
      'prior/standard_normal.yaml': 'kind: standard_normal\n',
      'data/mnist.yaml': 'name: mnist\n',
    });
    writeTree(project, {
      'experiment/shared.yaml': ['defaults:', '  - prior: vamp', 'seed: 1', ''].join('\n'),
      'experiment/mine.yaml': 'seed: 4\n',
      'prior/vamp.yaml': 'kind: vamp\ncomponents: 10\n',
      'encoder/mlp.yaml': 'kind: mlp\n',
    });
  });

  const composeIn = (experiment: string, args: string[] = []) =>
    composeConfig({ configDir: [project, builtin], experiment, overrides: parseOverrides(args) });

  it('the first folder that has a file wins; the others fill in', () => {
    const shared = composeIn('shared');
    expect(shared.config).toEqual({ prior: { kind: 'vamp', components: 10 }, seed: 1 });
    expect(shared.files).toEqual([path.join(project, 'experiment', 'shared.yaml'), path.join(project, 'prior', 'vamp.yaml')]);
    const other = composeIn('builtin_only');
    expect(other.config).toEqual({ data: { name: 'mnist' }, prior: { kind: 'vamp', components: 10 }, seed: 3 });
    expect(other.files).toEqual([
      path.join(builtin, 'experiment', 'builtin_only.yaml'),
      path.join(builtin, 'data', 'mnist.yaml'),
      path.join(project, 'prior', 'vamp.yaml'),
    ]);
    expect(other.origin(['prior', 'components'])).toEqual({ kind: 'file', file: path.join(project, 'prior', 'vamp.yaml'), line: 2 });
    expect(composeIn('builtin_only', ['prior=standard_normal']).config.prior).toEqual({ kind: 'standard_normal' });
  });

  it('list functions merge the folders; errors list the union', () => {
    expect(listExperiments([project, builtin])).toEqual(['builtin_only', 'mine', 'shared']);
    expect(listGroups([project, builtin])).toEqual(['data', 'encoder', 'prior']);
    expect(listOptions([project, builtin], 'prior')).toEqual(['standard_normal', 'vamp']);
    expect(listOptions(project, 'prior')).toEqual(['vamp']);
    expect(errorOf(() => composeIn('shared', ['prior=nope'])).message).toContain('available options (files in prior/): standard_normal, vamp');
    expect(errorOf(() => composeIn('nope')).message).toContain('available experiments: builtin_only, mine, shared');
  });

  it('skips folders that do not exist, but needs one', () => {
    const missing = path.join(tmp, 'search', 'missing');
    expect(composeConfig({ configDir: [missing, builtin], experiment: 'shared' }).config.seed).toBe(2);
    expect(errorOf(() => composeConfig({ configDir: [missing, path.join(tmp, 'gone')], experiment: 'shared' })).message).toContain(
      'none of the config folders exist',
    );
  });
});
