import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { INIT_FILES } from './init.js';
import { main } from './main.js';
import { capture, repo } from './test-helpers.js';

// Inside the repository, so that the plugin resolves @vaelab/core, @tensorflow/tfjs and zod as
// it would in a user's project with @vaelab/cli installed.
mkdirSync(join(repo, '.tmp-tests'), { recursive: true });
const parent = mkdtempSync(join(repo, '.tmp-tests', 'init-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

const TINY = ['data.n_train=64', 'data.n_test=32', 'trainer.epochs=1', 'trainer.batch_size=16', 'backend=wasm'];

describe('vaelab init', () => {
  const project = join(parent, 'my-project');

  it('scaffolds a project whose experiment trains with the plugin prior and the built-in groups', async () => {
    const io = capture(parent);
    expect(await main(['init', 'my-project'], io)).toBe(0);
    for (const file of Object.keys(INIT_FILES)) expect(existsSync(join(project, file))).toBe(true);
    expect(io.stdout.join('\n')).toContain('npx vaelab train experiment=my_experiment');
    expect(parse(readFileSync(join(project, 'vaelab.config.yaml'), 'utf8'))).toEqual({
      config_dir: 'conf',
      out_dir: 'runs',
      plugins: ['./plugins/my-prior.mjs'],
    });

    const train = capture(project);
    expect(await main(['train', 'experiment=my_experiment', ...TINY], train)).toBe(0);
    expect(train.stdout.join('\n')).toMatch(/scaled_normal prior/);
    const runs = join(project, 'runs', 'my_experiment');
    const [run] = readdirSync(runs);
    const config = parse(readFileSync(join(runs, run!, 'config.yaml'), 'utf8'));
    expect(config).toMatchObject({ name: 'my_experiment', prior: { name: 'scaled_normal', scale: 1.5 }, encoder: { name: 'mlp' } });
    const summary = JSON.parse(readFileSync(join(runs, run!, 'summary.json'), 'utf8'));
    expect(summary.status).toBe('completed');
    expect(Number.isFinite(summary.test_loss)).toBe(true);
  });

  it('refuses to overwrite: exit 2, names the files, writes nothing', async () => {
    const io = capture(parent);
    expect(await main(['init', 'my-project'], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/not overwriting existing files .*vaelab\.config\.yaml, .*my_experiment\.yaml/);

    const partly = join(parent, 'has-readme');
    mkdirSync(partly);
    writeFileSync(join(partly, 'README.md'), '# mine\n');
    const again = capture(partly);
    expect(await main(['init'], again)).toBe(2);
    expect(again.stderr.join('\n')).toMatch(/not overwriting existing files in .*has-readme: README\.md \(/);
    expect(readdirSync(partly)).toEqual(['README.md']);
    expect(readFileSync(join(partly, 'README.md'), 'utf8')).toBe('# mine\n');
  });

  it('lists experiments and groups, marking what the project adds and what it overrides', async () => {
    // A project copy of a built-in group file replaces it; the other built-in files stay in use.
    mkdirSync(join(project, 'conf', 'trainer'), { recursive: true });
    writeFileSync(
      join(project, 'conf', 'trainer', 'adam.yaml'),
      'epochs: 2\nbatch_size: 64\neval_batch_size: 500\ndrop_last: false\nclip_norm: null\noptimizer:\n  name: adam\n  lr: 0.005\n',
    );
    const experiments = capture(project);
    expect(await main(['list', 'experiments'], experiments)).toBe(0);
    const exps = experiments.stdout.join('\n');
    expect(exps).toMatch(/my_experiment +\(project\)/);
    expect(exps).toMatch(/mnist_vae +\(built-in\)/);
    expect(exps).toMatch(/synthetic_vae +\(built-in\)/);

    const groups = capture(project);
    expect(await main(['list', 'groups'], groups)).toBe(0);
    const text = groups.stdout.join('\n');
    expect(text).toMatch(/^prior:$/m);
    expect(text).toMatch(/my_prior +\(project\)/);
    expect(text).toMatch(/standard_normal +\(built-in\)/);
    expect(text).toMatch(/adam +\(project, overrides built-in\)/);
    expect(text).toMatch(/^likelihood:\n(  .*\n)*  bernoulli +\(built-in\)/m);

    const cfg = capture(project);
    expect(await main(['train', 'experiment=my_experiment', '--cfg'], cfg)).toBe(0);
    const resolved = parse(cfg.stdout.join('\n'));
    expect(resolved.trainer).toMatchObject({ epochs: 3, batch_size: 32, eval_batch_size: 256, optimizer: { lr: 0.005 } });
    expect(resolved.trainer.optimizer.beta1).toBeUndefined(); // the project file replaced the built-in one
  });

  it('at the repository root, every experiment is a built-in one', async () => {
    const io = capture(repo);
    expect(await main(['list', 'experiments'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/mnist_vae +\(built-in\)/);
    expect(io.stdout.join('\n').split('experiments:')[1]).not.toMatch(/\(project/);
  });
});

describe('vaelab --version', () => {
  it.each(['--version', '-V'])('%s prints the CLI version and the @vaelab/core and tfjs it resolved', async (flag) => {
    const io = capture(repo);
    expect(await main([flag], io)).toBe(0);
    const own = JSON.parse(readFileSync(join(repo, 'apps/cli/package.json'), 'utf8')).version;
    const text = io.stdout.join('\n');
    expect(text.split('\n')[0]).toBe(`@vaelab/cli ${own}`);
    expect(text).toMatch(/@vaelab\/core \d+\.\d+\.\d+/);
    expect(text).toMatch(/@tensorflow\/tfjs(-core)? 4\.22\.0/);
    expect(text).toMatch(/^  wasm threads \d+ \(/m);
  });
});
