import path from 'node:path';
import { cosmiconfig, defaultLoaders, type CosmiconfigResult } from 'cosmiconfig';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { validate } from './validate.js';
import { parseYaml } from './yaml.js';

/** The project settings file (`vaelab.config.yaml`, `.vaelabrc`, or `"vaelab"` in package.json). */
export interface ProjectConfig {
  /** Folder of config groups and experiments. */
  config_dir: string;
  /** Folder that run folders are written under. */
  out_dir: string;
  /** Module specifiers of plugins that register extra components. */
  plugins: string[];
}

/** A project config as loaded: paths absolute, plus where it came from. */
export interface LoadedProjectConfig extends ProjectConfig {
  /** The file it was read from, or null when none was found (all defaults). */
  filepath: string | null;
  /** Directory the paths are relative to: the file's folder, or the search start. */
  root: string;
}

export const projectConfigSchema = z.strictObject({
  config_dir: z.string().min(1).default('experiments/conf'),
  out_dir: z.string().min(1).default('runs'),
  plugins: z.array(z.string().min(1)).default([]),
});

export const PROJECT_MODULE_NAME = 'vaelab';

/** File names looked for in each folder, in this order (first found wins). */
export const PROJECT_CONFIG_FILES: readonly string[] = [
  'package.json',
  '.vaelabrc',
  '.vaelabrc.json',
  '.vaelabrc.yaml',
  '.vaelabrc.yml',
  '.vaelabrc.js',
  '.vaelabrc.ts',
  '.vaelabrc.mjs',
  '.vaelabrc.cjs',
  'vaelab.config.yaml',
  'vaelab.config.yml',
  'vaelab.config.json',
  'vaelab.config.js',
  'vaelab.config.ts',
  'vaelab.config.mjs',
  'vaelab.config.cjs',
];

/** YAML through the same parser as config files, so syntax errors name file:line:column. */
function loadYaml(filepath: string, content: string): unknown {
  const value = parseYaml(content, filepath).value;
  // `undefined` tells cosmiconfig the file is empty (still a found config).
  return value === null ? undefined : value;
}

async function searchUpward(start: string): Promise<CosmiconfigResult> {
  const explorer = cosmiconfig(PROJECT_MODULE_NAME, {
    searchPlaces: [...PROJECT_CONFIG_FILES],
    searchStrategy: 'none',
    ignoreEmptySearchPlaces: false,
    mergeSearchPlaces: false,
    cache: false,
    loaders: { ...defaultLoaders, '.yaml': loadYaml, '.yml': loadYaml, noExt: loadYaml },
  });
  let dir = start;
  for (;;) {
    const found = await explorer.search(dir);
    if (found !== null) return found;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * Find and read the project config, searching from `cwd` up to the filesystem root. Unknown
 * keys are errors naming the file. `config_dir` and `out_dir` come back as absolute paths,
 * resolved against the folder of the file found (or `cwd` when there is none).
 */
export async function loadProjectConfig(cwd: string): Promise<LoadedProjectConfig> {
  const start = path.resolve(cwd);
  let found: CosmiconfigResult;
  try {
    found = await searchUpward(start);
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    const file = (cause as { filepath?: unknown }).filepath;
    throw new ConfigError(`cannot read the project config: ${(cause as Error).message}`, {
      file: typeof file === 'string' ? file : undefined,
      cause,
    });
  }
  const filepath = found === null ? null : found.filepath;
  const root = filepath === null ? start : path.dirname(filepath);
  const raw: unknown = found === null || found.isEmpty ? {} : found.config;
  const inPackageJson = filepath !== null && path.basename(filepath) === 'package.json';
  const parsed = validate(projectConfigSchema, raw ?? {}, {
    file: filepath ?? undefined,
    path: inPackageJson ? PROJECT_MODULE_NAME : undefined,
  });
  return {
    config_dir: path.resolve(root, parsed.config_dir),
    out_dir: path.resolve(root, parsed.out_dir),
    plugins: parsed.plugins,
    filepath,
    root,
  };
}
