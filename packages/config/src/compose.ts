import fs from 'node:fs';
import path from 'node:path';
import { applyOverride } from './apply.js';
import { ConfigError } from './errors.js';
import { resolveInterpolations } from './interpolate.js';
import { isSweep, type Override, type PlainOverride } from './overrides.js';
import { didYouMean, hasOwn, isPlainName, listOrNone, mergeConfig, setOwn, type Mapping } from './util.js';
import { positionOf, readYamlFile, topLevelMapping, type ParsedYaml } from './yaml.js';

export interface ComposeOptions {
  /** Folder holding `experiment/` and one folder per config group. */
  configDir: string;
  /** Name of `<configDir>/experiment/<experiment>.yaml`, without `.yaml`. */
  experiment: string;
  /** Parsed command-line overrides (sweeps expanded: see expandSweeps). */
  overrides?: readonly Override[];
}

export interface ComposedConfig {
  /** The resolved config: merged, overridden, interpolated. */
  config: Record<string, unknown>;
  /** The option chosen for every group met in the defaults lists (null: no choice). */
  choices: Record<string, string | null>;
  /** Absolute paths of the files read, in the order they were read. */
  files: string[];
  /** The raw override strings applied, in order. */
  overrides: string[];
}

/** The folder holding the experiment files; it is not a group a defaults list can name. */
export const EXPERIMENT_DIR = 'experiment';
const CONFIG_EXT = '.yaml';
const SELF = '_self_';

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The `.yaml` files of a folder, without extension, sorted. */
function yamlNames(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(CONFIG_EXT) && e.name.length > CONFIG_EXT.length)
    .map((e) => e.name.slice(0, -CONFIG_EXT.length))
    .sort();
}

/** The experiments of a config folder (files in `<configDir>/experiment/`). */
export function listExperiments(configDir: string): string[] {
  return yamlNames(path.join(path.resolve(configDir), EXPERIMENT_DIR));
}

/** The config groups of a config folder (its sub-folders, except `experiment`). */
export function listGroups(configDir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.resolve(configDir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory() && e.name !== EXPERIMENT_DIR && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** The options of a group (files in `<configDir>/<group>/`). */
export function listOptions(configDir: string, group: string): string[] {
  if (!isPlainName(group)) return [];
  return yamlNames(path.join(path.resolve(configDir), group));
}

/** Where a group choice came from, for messages. */
interface Origin {
  /** Text such as `the defaults list of experiment/vamp.yaml` or `the override "prior=vamp"`. */
  describe: string;
  file?: string | undefined;
  line?: number | undefined;
  column?: number | undefined;
}

type DefaultsEntry = { kind: 'self' } | { kind: 'group'; group: string; option: string | null; origin: Origin };

interface Contribution {
  /** Top-level key the content goes under, or null for the top level. */
  pkg: string | null;
  content: Mapping;
}

interface GroupOverride {
  override: PlainOverride;
  group: string;
  option: string | null;
  used: boolean;
}

const ENTRY_FORMS = `allowed entries are "- group: option", "- group: null" and "- ${SELF}"`;

class Composer {
  readonly configDir: string;
  readonly files: string[] = [];
  readonly choices: Record<string, string | null> = {};
  /** File (relative to configDir) that made each group's choice. */
  private readonly chosenIn = new Map<string, string>();
  private readonly groupOverrides = new Map<string, GroupOverride>();

  constructor(configDir: string) {
    this.configDir = configDir;
  }

  rel(file: string): string {
    return path.relative(this.configDir, file).split(path.sep).join('/');
  }

  isGroup(name: string): boolean {
    return isPlainName(name) && isDir(path.join(this.configDir, name));
  }

  addGroupOverride(o: PlainOverride): void {
    const group = o.key;
    if (group === EXPERIMENT_DIR) {
      throw new ConfigError(
        `the override ${JSON.stringify(o.raw)} cannot choose the experiment; the experiment is chosen by name ` +
          `(one of: ${listOrNone(listExperiments(this.configDir))}), not by an override`,
      );
    }
    if (this.groupOverrides.has(group)) {
      const first = this.groupOverrides.get(group)?.override.raw ?? '';
      throw new ConfigError(
        `the group ${group} is chosen twice on the command line (${JSON.stringify(first)} and ${JSON.stringify(o.raw)}); keep one`,
      );
    }
    let option: string | null;
    if (o.kind === 'delete') {
      option = null;
    } else if (o.value === null) {
      option = null;
    } else if (typeof o.value === 'string') {
      option = o.value;
    } else if ((typeof o.value === 'number' || typeof o.value === 'boolean') && o.text !== null) {
      option = o.text;
    } else {
      throw new ConfigError(
        `the override ${JSON.stringify(o.raw)} chooses an option of the config group ${group}, so its value must be ` +
          `an option name (one of: ${listOrNone(listOptions(this.configDir, group))}) or null`,
      );
    }
    this.groupOverrides.set(group, { override: o, group, option, used: false });
  }

  /** Load a config file and expand its defaults list into contributions, in merge order. */
  expand(file: string, pkg: string | null, stack: readonly string[]): Contribution[] {
    const parsed = readYamlFile(file);
    this.files.push(file);
    const content = topLevelMapping(parsed);
    const entries = this.parseDefaults(parsed, content);
    const own: Mapping = {};
    for (const [k, v] of Object.entries(content)) if (k !== 'defaults') setOwn(own, k, v);

    const out: Contribution[] = [];
    for (const entry of entries) {
      if (entry.kind === 'self') {
        out.push({ pkg, content: own });
        continue;
      }
      out.push(...this.expandGroup(entry, [...stack, file]));
    }
    return out;
  }

  /** Apply any command-line choice, record the choice and expand the chosen file. */
  expandGroup(
    entry: Extract<DefaultsEntry, { kind: 'group' }>,
    stack: readonly string[],
    fromCommandLine = false,
  ): Contribution[] {
    const { group } = entry;
    let { option, origin } = entry;
    const ov = fromCommandLine ? undefined : this.groupOverrides.get(group);
    if (ov !== undefined && ov.override.kind !== 'add') {
      const o = ov.override;
      if (o.kind === 'delete' && o.hasValue && String(o.value) !== String(option)) {
        throw new ConfigError(
          `cannot apply ${JSON.stringify(o.raw)}: the group ${group} is set to ${String(option)} ` +
            `(in ${origin.describe}), not ${String(o.value)}; use ~${group} to remove it anyway`,
        );
      }
      ov.used = true;
      option = ov.option;
      origin = { describe: `the override ${JSON.stringify(o.raw)}` };
    } else if (ov !== undefined) {
      const where = entry.origin.describe;
      throw new ConfigError(
        `cannot apply ${JSON.stringify(ov.override.raw)}: the group ${group} is already in ${where} ` +
          `(option ${String(entry.option)}); use ${group}=${ov.option ?? 'null'} to change it`,
      );
    }

    const previous = this.chosenIn.get(group);
    if (previous !== undefined) {
      const file = stack[stack.length - 1];
      const here = file === undefined ? 'the command line' : this.rel(file);
      if (option !== null) {
        const optionFile = path.join(this.configDir, group, option + CONFIG_EXT);
        const at = stack.indexOf(optionFile);
        if (at >= 0) {
          const cycle = [...stack.slice(at), optionFile].map((f) => this.rel(f)).join(' -> ');
          throw new ConfigError(`defaults cycle: ${cycle}`, { file: origin.file, line: origin.line, column: origin.column });
        }
      }
      throw new ConfigError(
        `the group ${group} is chosen twice: in ${previous} (${String(this.choices[group])}) and in ${here} ` +
          `(${String(option)}); a group may appear once in the defaults lists (change it with ${group}=<option>)`,
        { file: origin.file, line: origin.line, column: origin.column },
      );
    }
    const chooser = stack[stack.length - 1];
    this.chosenIn.set(group, chooser === undefined ? 'the command line' : this.rel(chooser));
    this.choices[group] = option;
    if (option === null) return [];
    const optionFile = this.optionFile(group, option, origin);
    return this.expand(optionFile, group, stack);
  }

  /** Check the group and option names and that the file exists. */
  optionFile(group: string, option: string, origin: Origin): string {
    const loc = { file: origin.file, line: origin.line, column: origin.column };
    if (!isPlainName(group)) {
      throw new ConfigError(
        `invalid group name ${JSON.stringify(group)} in ${origin.describe}: a group is a folder name directly in ` +
          `the config folder (no "/", no ".."); groups: ${listOrNone(listGroups(this.configDir))}`,
        loc,
      );
    }
    if (!this.isGroup(group) || group === EXPERIMENT_DIR) {
      const groups = listGroups(this.configDir);
      throw new ConfigError(
        `unknown config group ${JSON.stringify(group)} in ${origin.describe}; groups (folders of ` +
          `${this.configDir}): ${listOrNone(groups)}.${didYouMean(group, groups)}`,
        loc,
      );
    }
    const options = listOptions(this.configDir, group);
    if (!isPlainName(option)) {
      throw new ConfigError(
        `invalid option name ${JSON.stringify(option)} for group ${group} in ${origin.describe}: an option is a file ` +
          `name in ${group}/ without ${CONFIG_EXT} (no "/", no ".."); options: ${listOrNone(options)}`,
        loc,
      );
    }
    const file = path.join(this.configDir, group, option + CONFIG_EXT);
    if (!isFile(file)) {
      throw new ConfigError(
        `unknown option ${JSON.stringify(option)} for group ${group} in ${origin.describe}; available options ` +
          `(files in ${group}/): ${listOrNone(options)}.${didYouMean(option, options)}`,
        loc,
      );
    }
    return file;
  }

  /** The file's `defaults:` list as entries, with `_self_` added last when absent. */
  parseDefaults(parsed: ParsedYaml, content: Mapping): DefaultsEntry[] {
    const file = parsed.file as string;
    const rel = this.rel(file);
    const raw = content.defaults;
    if (raw === undefined || raw === null) return [{ kind: 'self' }];
    if (!Array.isArray(raw)) {
      throw new ConfigError(`defaults must be a list; ${ENTRY_FORMS}`, {
        file,
        configPath: 'defaults',
        ...positionOf(parsed, ['defaults']),
      });
    }
    const entries: DefaultsEntry[] = [];
    const seen = new Set<string>();
    let hasSelf = false;
    raw.forEach((item: unknown, i) => {
      const pos = positionOf(parsed, ['defaults', i]);
      const loc = { file, configPath: `defaults.${i}`, ...pos };
      if (item === SELF) {
        if (hasSelf) throw new ConfigError(`${SELF} appears twice in the defaults list`, loc);
        hasSelf = true;
        entries.push({ kind: 'self' });
        return;
      }
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        throw new ConfigError(`invalid defaults entry ${JSON.stringify(item)}; ${ENTRY_FORMS}`, loc);
      }
      const keys = Object.keys(item);
      const group = keys[0];
      if (keys.length !== 1 || group === undefined) {
        throw new ConfigError(`a defaults entry must name one group, found ${keys.length} keys (${keys.join(', ')}); ${ENTRY_FORMS}`, loc);
      }
      const option = (item as Mapping)[group];
      if (option !== null && typeof option !== 'string') {
        throw new ConfigError(
          `the option for group ${group} must be a file name of ${group}/ or null, found ${JSON.stringify(option)}; ` +
            `options: ${listOrNone(listOptions(this.configDir, group))}`,
          loc,
        );
      }
      if (group === EXPERIMENT_DIR) {
        throw new ConfigError(
          `${EXPERIMENT_DIR}/ holds the experiments and is not a config group a defaults list can name; ` +
            `groups: ${listOrNone(listGroups(this.configDir))}`,
          loc,
        );
      }
      if (seen.has(group)) throw new ConfigError(`the group ${group} appears twice in the defaults list`, loc);
      seen.add(group);
      entries.push({
        kind: 'group',
        group,
        option,
        origin: { describe: `the defaults list of ${rel}`, file, line: pos.line, column: pos.column },
      });
    });
    if (!hasSelf) entries.push({ kind: 'self' });
    return entries;
  }

  /** Groups added with `+group=option` (not in any defaults list): appended, in override order. */
  expandAdded(primary: string): Contribution[] {
    const out: Contribution[] = [];
    for (const ov of [...this.groupOverrides.values()]) {
      const o = ov.override;
      if (o.kind === 'add') {
        const entry = {
          kind: 'group' as const,
          group: ov.group,
          option: ov.option,
          origin: { describe: `the override ${JSON.stringify(o.raw)}` },
        };
        out.push(...this.expandGroup(entry, [primary], true));
      } else if (!ov.used) {
        const groupsThere = Object.keys(this.choices);
        throw new ConfigError(
          `cannot apply ${JSON.stringify(o.raw)}: the group ${ov.group} is not in the defaults lists of ` +
            `${this.rel(primary)} (groups there: ${listOrNone(groupsThere)}); ` +
            (o.kind === 'delete' ? 'there is nothing to remove' : `use +${o.key}=${o.text ?? 'null'} to add it`),
        );
      }
    }
    return out;
  }
}

/**
 * Compose the config of an experiment: load `<configDir>/experiment/<experiment>.yaml`, expand
 * its defaults list (recursively, later entries win, `_self_` last unless placed), apply the
 * group choices and value overrides, then resolve `${...}` interpolations.
 */
export function composeConfig(opts: ComposeOptions): ComposedConfig {
  const configDir = path.resolve(opts.configDir);
  if (!isDir(configDir)) {
    throw new ConfigError(`the config folder ${configDir} does not exist (set config_dir in vaelab.config.yaml)`);
  }
  const experiments = listExperiments(configDir);
  if (!isPlainName(opts.experiment)) {
    throw new ConfigError(
      `invalid experiment name ${JSON.stringify(opts.experiment)}: it must be a file name in ${EXPERIMENT_DIR}/ ` +
        `without ${CONFIG_EXT} (no "/", no ".."); experiments: ${listOrNone(experiments)}`,
    );
  }
  const primary = path.join(configDir, EXPERIMENT_DIR, opts.experiment + CONFIG_EXT);
  if (!isFile(primary)) {
    throw new ConfigError(
      `unknown experiment ${JSON.stringify(opts.experiment)}: no file ${EXPERIMENT_DIR}/${opts.experiment}${CONFIG_EXT} ` +
        `in ${configDir}; available experiments: ${listOrNone(experiments)}.${didYouMean(opts.experiment, experiments)}`,
    );
  }

  const composer = new Composer(configDir);
  const valueOverrides: PlainOverride[] = [];
  const overrides = opts.overrides ?? [];
  for (const o of overrides) {
    if (isSweep(o)) {
      throw new ConfigError(
        `the override ${JSON.stringify(o.raw)} is a sweep; expand sweeps into jobs first (expandSweeps) and compose each job`,
      );
    }
    if (o.path.length === 1 && composer.isGroup(o.key)) composer.addGroupOverride(o);
    else valueOverrides.push(o);
  }

  const contributions = composer.expand(primary, null, []);
  contributions.push(...composer.expandAdded(primary));

  let config: Mapping = {};
  for (const c of contributions) {
    if (c.pkg === null) {
      config = mergeConfig(config, c.content) as Mapping;
    } else {
      setOwn(config, c.pkg, mergeConfig(hasOwn(config, c.pkg) ? config[c.pkg] : undefined, c.content));
    }
  }
  for (const o of valueOverrides) {
    try {
      applyOverride(config, o);
    } catch (e) {
      // A one-word key that is neither a config key nor a group folder: say both.
      if (e instanceof ConfigError && o.path.length === 1 && o.kind !== 'add' && !hasOwn(config, o.key)) {
        throw new ConfigError(
          `${e.reason} (${o.key} is not a config group either; groups: ${listOrNone(listGroups(configDir))})`,
          { cause: e },
        );
      }
      throw e;
    }
  }
  config = resolveInterpolations(config);

  return {
    config,
    choices: { ...composer.choices },
    files: [...composer.files],
    overrides: overrides.map((o) => o.raw),
  };
}
