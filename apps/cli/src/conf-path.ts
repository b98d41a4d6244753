import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { listExperiments, listGroups, listOptions } from '@vaelab/config';

/*
 * Where config groups and experiments are looked up: the project's `config_dir` first, then the
 * groups that ship inside this package (`conf/`, next to `dist/` and `src/`). A file in the
 * project's folder wins over the built-in file of the same group and name, so a user overrides one
 * group file without copying the rest (Hydra's config search path).
 */

/** The built-in config folder of the installed @vaelab/cli package. */
export const BUILTIN_CONF_DIR = fileURLToPath(new URL('../conf', import.meta.url));

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The search path, first folder wins: the project's config_dir when it exists, then the built-in groups. */
export function configSearchPath(project: { config_dir: string }, builtin: string = BUILTIN_CONF_DIR): string[] {
  return isDir(project.config_dir) && project.config_dir !== builtin ? [project.config_dir, builtin] : [builtin];
}

/** Where an option (or experiment) comes from. */
export type ConfigSource = 'project' | 'built-in' | 'project, overrides built-in';

export interface ConfigEntry {
  name: string;
  source: ConfigSource;
  /** Absolute path of the file that is used (the first on the search path). */
  file: string;
}

function sourceOf(inProject: boolean, inBuiltin: boolean): ConfigSource {
  if (inProject && inBuiltin) return 'project, overrides built-in';
  return inProject ? 'project' : 'built-in';
}

/** Names found in several folders (by `list`), each with the folder that wins and whether it shadows a built-in one. */
function merge(
  searchPath: readonly string[],
  builtin: string,
  list: (dir: string) => string[],
  file: (dir: string, name: string) => string,
): ConfigEntry[] {
  const entries = new Map<string, ConfigEntry>();
  const inBuiltin = new Set(searchPath.includes(builtin) ? list(builtin) : []);
  for (const dir of searchPath) {
    for (const name of list(dir)) {
      if (entries.has(name)) continue;
      const fromProject = dir !== builtin;
      entries.set(name, { name, source: sourceOf(fromProject, fromProject && inBuiltin.has(name)), file: file(dir, name) });
    }
  }
  return [...entries.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The experiments on the search path (first folder wins). */
export function experimentsOn(searchPath: readonly string[], builtin: string = BUILTIN_CONF_DIR): ConfigEntry[] {
  return merge(searchPath, builtin, listExperiments, (dir, name) => `${dir}/experiment/${name}.yaml`);
}

export interface GroupEntry {
  group: string;
  options: ConfigEntry[];
}

/** Every config group on the search path with its options (first folder wins). */
export function groupsOn(searchPath: readonly string[], builtin: string = BUILTIN_CONF_DIR): GroupEntry[] {
  const groups = [...new Set(searchPath.flatMap((dir) => listGroups(dir)))].sort();
  return groups.map((group) => ({
    group,
    options: merge(searchPath, builtin, (dir) => listOptions(dir, group), (dir, name) => `${dir}/${group}/${name}.yaml`),
  }));
}
