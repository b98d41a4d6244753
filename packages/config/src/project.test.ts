import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { loadProjectConfig } from './project.js';

let tmp: string;

function dir(name: string, files: Record<string, string> = {}): string {
  const root = path.join(tmp, name);
  fs.mkdirSync(root, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return root;
}

async function errorOf(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'vaelab-project-')));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('loadProjectConfig', () => {
  it('reads vaelab.config.yaml and resolves paths against its folder, also from a sub-folder', async () => {
    const root = dir('yaml', {
      'vaelab.config.yaml': 'config_dir: conf\nout_dir: ../out\nplugins: [./my-plugin.js, vaelab-plugin-x]\n',
      'sub/deeper/keep.txt': '',
    });
    for (const cwd of [root, path.join(root, 'sub', 'deeper')]) {
      const cfg = await loadProjectConfig(cwd);
      expect(cfg.filepath).toBe(path.join(root, 'vaelab.config.yaml'));
      expect(cfg.root).toBe(root);
      expect(cfg.config_dir).toBe(path.join(root, 'conf'));
      expect(cfg.out_dir).toBe(path.join(tmp, 'out'));
      expect(cfg.plugins).toEqual(['./my-plugin.js', 'vaelab-plugin-x']);
    }
  });

  it('uses defaults when there is no file', async () => {
    const root = dir('none');
    const cfg = await loadProjectConfig(root);
    expect(cfg).toEqual({
      config_dir: path.join(root, 'experiments', 'conf'),
      out_dir: path.join(root, 'runs'),
      plugins: [],
      filepath: null,
      root,
    });
  });

  it('uses defaults for keys a file leaves out, and for an empty file', async () => {
    const partial = dir('partial', { '.vaelabrc.json': '{ "out_dir": "results" }' });
    const cfg = await loadProjectConfig(partial);
    expect(cfg.config_dir).toBe(path.join(partial, 'experiments', 'conf'));
    expect(cfg.out_dir).toBe(path.join(partial, 'results'));
    const empty = dir('empty', { 'vaelab.config.yml': '# nothing yet\n' });
    const e = await loadProjectConfig(empty);
    expect(e.filepath).toBe(path.join(empty, 'vaelab.config.yml'));
    expect(e.plugins).toEqual([]);
  });

  it('reads the vaelab key of package.json', async () => {
    const root = dir('pkg', { 'package.json': JSON.stringify({ name: 'x', vaelab: { out_dir: 'o' } }) });
    const cfg = await loadProjectConfig(root);
    expect(cfg.filepath).toBe(path.join(root, 'package.json'));
    expect(cfg.out_dir).toBe(path.join(root, 'o'));
    const bad = dir('pkg_bad', { 'package.json': JSON.stringify({ vaelab: { plugin: [] } }) });
    expect((await errorOf(loadProjectConfig(bad))).message).toContain('vaelab: unknown key "plugin"');
  });

  it('rejects unknown keys, naming the file and the allowed keys', async () => {
    const root = dir('unknown', { 'vaelab.config.yaml': 'config_dir: conf\noutdir: runs\n' });
    const err = await errorOf(loadProjectConfig(root));
    expect(err.file).toBe(path.join(root, 'vaelab.config.yaml'));
    expect(err.message).toContain('vaelab.config.yaml: unknown key "outdir"; allowed keys: config_dir, out_dir, plugins.');
    expect(err.message).toContain('Did you mean out_dir?');
  });

  it('rejects wrong types', async () => {
    const root = dir('types', { 'vaelab.config.yaml': 'plugins: my-plugin\n' });
    const err = await errorOf(loadProjectConfig(root));
    expect(err.message).toContain('plugins: expected a list, got "my-plugin"');
  });

  it('names file and line for YAML syntax errors', async () => {
    const root = dir('syntax', { 'vaelab.config.yaml': 'config_dir: conf\nplugins: [a, b\nout_dir: x\n' });
    const err = await errorOf(loadProjectConfig(root));
    expect(err.file).toBe(path.join(root, 'vaelab.config.yaml'));
    expect(err.line).toBe(3);
    expect(err.message).toMatch(/vaelab\.config\.yaml:3:1: YAML syntax error/);
  });

  it('wraps JSON errors with the file', async () => {
    const root = dir('json', { '.vaelabrc.json': '{ "out_dir": ' });
    const err = await errorOf(loadProjectConfig(root));
    expect(err.file).toBe(path.join(root, '.vaelabrc.json'));
    expect(err.message).toContain('cannot read the project config');
  });
});
