import fs from 'node:fs';
import path from 'node:path';
import { applyOverride } from './apply.js';
import { ConfigError } from './errors.js';
import { resolveInterpolations } from './interpolate.js';
import { OriginTree, type OriginLookup, type ValueOrigin } from './origin.js';
import { isSweep, type Override, type PlainOverride } from './overrides.js';
import { didYouMean, hasOwn, isMapping, isPlainName, listOrNone, mergeConfig, setOwn, type Mapping } from './util.js';
import { entryLine, positionOf, readYamlFile, topLevelMapping, type ParsedYaml } from './yaml.js';

/**
 * A config folder, or a search path of them (Hydra's config search path): for each file
 * (`experiment/x.yaml`, `prior/vamp.yaml`) the first folder that has it wins, and listings
 * are the union. A project puts its own folder first and a package's built-in one after it.
 */
export type ConfigSearchPath = string | readonly string[];

export interface ComposeOptions {
  /**
   * Folder holding `experiment/` and one folder per config group, or several such folders,
   * searched in order for each file (the first that has it wins).
   */
  configDir: ConfigSearchPath;
  /** Name of `experiment/<experiment>.yaml` in the config folder(s), without `.yaml`. */
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
  /**
   * Where the value at a config path came from: the override that set it last, or the file
   * (and line of its key) it was merged from. Interpolated values keep the origin of the key
   * that holds the `${...}`. See {@link OriginLookup}.
   */
  origin: OriginLookup;
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

/** The folders of a search path, absolute, without repeats, in order. */
function searchDirs(configDir: ConfigSearchPath): string[] {
  const dirs = typeof configDir === 'string' ? [configDir] : [...configDir];
  return [...new Set(dirs.map((d) => path.resolve(d)))];
}

function union(lists: readonly string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}

/** The experiments of a config folder or search path (files in `experiment/`; union, sorted). */
export function listExperiments(configDir: ConfigSearchPath): string[] {
  return union(searchDirs(configDir).map((d) => yamlNames(path.join(d, EXPERIMENT_DIR))));
}

function groupsOf(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory() && e.name !== EXPERIMENT_DIR && !e.name.startsWith('.')).map((e) => e.name);
}

/** The config groups of a config folder or search path (sub-folders, except `experiment`; union, sorted). */
export function listGroups(configDir: ConfigSearchPath): string[] {
  return union(searchDirs(configDir).map(groupsOf));
}

/** The options of a group (files in `<group>/` of each folder; union, sorted). */
export function listOptions(configDir: ConfigSearchPath, group: string): string[] {
  if (!isPlainName(group)) return [];
  return union(searchDirs(configDir).map((d) => yamlNames(path.join(d, group))));
}

/** The first `<dir>/<sub>/<name>.yaml` of the search path that exists, if any. */
function findConfigFile(dirs: readonly string[], sub: string, name: string): string | undefined {
  return dirs.map((d) => path.join(d, sub, name + CONFIG_EXT)).find(isFile);
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
  /** The file it was read from, for origins. */
  parsed: ParsedYaml;
}

interface GroupOverride {
  override: PlainOverride;
  group: string;
  option: string | null;
  used: boolean;
}

const ENTRY_FORMS = `allowed entries are "- group: option", "- group: null" and "- ${SELF}"`;

class Composer {
  /** The config folders that exist, in search order. */
  readonly dirs: readonly string[];
  readonly files: string[] = [];
  readonly choices: Record<string, string | null> = {};
  /** File (relative to configDir) that made each group's choice. */
  private readonly chosenIn = new Map<string, string>();
  private readonly groupOverrides = new Map<string, GroupOverride>();

  constructor(dirs: readonly string[]) {
    this.dirs = dirs;
  }

  /** A file's path relative to the config folder it is in (`prior/vamp.yaml`). */
  rel(file: string): string {
    for (const dir of this.dirs) {
      const rel = path.relative(dir, file);
      if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
    }
    return file;
  }

  isGroup(name: string): boolean {
    return isPlainName(name) && this.dirs.some((d) => isDir(path.join(d, name)));
  }

  addGroupOverride(o: PlainOverride): void {
    const group = o.key;
    if (group === EXPERIMENT_DIR) {
      throw new ConfigError(
        `the override ${JSON.stringify(o.raw)} cannot choose the experiment; the experiment is chosen by name ` +
          `(one of: ${listOrNone(listExperiments(this.dirs))}), not by an override`,
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
          `an option name (one of: ${listOrNone(listOptions(this.dirs, group))}) or null`,
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
        out.push({ pkg, content: own, parsed });
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
      const optionFile = option !== null && isPlainName(option) ? findConfigFile(this.dirs, group, option) : undefined;
      if (optionFile !== undefined) {
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
          `the config folder (no "/", no ".."); groups: ${listOrNone(listGroups(this.dirs))}`,
        loc,
      );
    }
    if (!this.isGroup(group) || group === EXPERIMENT_DIR) {
      const groups = listGroups(this.dirs);
      throw new ConfigError(
        `unknown config group ${JSON.stringify(group)} in ${origin.describe}; groups (folders of ` +
          `${this.dirs.join(', ')}): ${listOrNone(groups)}.${didYouMean(group, groups)}`,
        loc,
      );
    }
    const options = listOptions(this.dirs, group);
    if (!isPlainName(option)) {
      throw new ConfigError(
        `invalid option name ${JSON.stringify(option)} for group ${group} in ${origin.describe}: an option is a file ` +
          `name in ${group}/ without ${CONFIG_EXT} (no "/", no ".."); options: ${listOrNone(options)}`,
        loc,
      );
    }
    const file = findConfigFile(this.dirs, group, option);
    if (file === undefined) {
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
            `options: ${listOrNone(listOptions(this.dirs, group))}`,
          loc,
        );
      }
      if (group === EXPERIMENT_DIR) {
        throw new ConfigError(
          `${EXPERIMENT_DIR}/ holds the experiments and is not a config group a defaults list can name; ` +
            `groups: ${listOrNone(listGroups(this.dirs))}`,
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

/** The value at `path`, or undefined when the path does not lead anywhere. */
function valueAt(config: Mapping, at: readonly string[]): unknown {
  let node: unknown = config;
  for (const seg of at) {
    if (Array.isArray(node)) node = node[Number(seg)];
    else if (isMapping(node) && hasOwn(node, seg)) node = node[seg];
    else return undefined;
  }
  return node;
}

/** Record in `origins` what a value override did to `config` (after it was applied). */
function recordOverride(origins: OriginTree, config: Mapping, o: PlainOverride, wasList: boolean): void {
  if (o.kind === 'delete') {
    origins.delete(o.path, wasList);
    return;
  }
  origins.replace(o.path, valueAt(config, o.path), { kind: 'override', text: o.raw });
}

/**
 * Compose the config of an experiment: load `experiment/<experiment>.yaml` from the config
 * folder(s), expand its defaults list (recursively, later entries win, `_self_` last unless
 * placed), apply the group choices and value overrides, then resolve `${...}` interpolations.
 * With several config folders, each file is taken from the first folder that has it; folders
 * that do not exist are skipped (at least one must exist).
 */
export function composeConfig(opts: ComposeOptions): ComposedConfig {
  const searched = searchDirs(opts.configDir);
  const dirs = searched.filter(isDir);
  if (dirs.length === 0) {
    throw new ConfigError(
      searched.length === 1
        ? `the config folder ${searched[0] ?? ''} does not exist (set config_dir in vaelab.config.yaml)`
        : `none of the config folders exist: ${listOrNone(searched)} (set config_dir in vaelab.config.yaml)`,
    );
  }
  const experiments = listExperiments(dirs);
  if (!isPlainName(opts.experiment)) {
    throw new ConfigError(
      `invalid experiment name ${JSON.stringify(opts.experiment)}: it must be a file name in ${EXPERIMENT_DIR}/ ` +
        `without ${CONFIG_EXT} (no "/", no ".."); experiments: ${listOrNone(experiments)}`,
    );
  }
  const primary = findConfigFile(dirs, EXPERIMENT_DIR, opts.experiment);
  if (primary === undefined) {
    throw new ConfigError(
      `unknown experiment ${JSON.stringify(opts.experiment)}: no file ${EXPERIMENT_DIR}/${opts.experiment}${CONFIG_EXT} ` +
        `in ${dirs.join(', ')}; available experiments: ${listOrNone(experiments)}.${didYouMean(opts.experiment, experiments)}`,
    );
  }

  const composer = new Composer(dirs);
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
  const origins = new OriginTree();
  for (const c of contributions) {
    const file = c.parsed.file ?? primary;
    const source = (sub: readonly string[]): ValueOrigin => {
      const line = sub.length === 0 ? undefined : entryLine(c.parsed, sub);
      return line === undefined ? { kind: 'file', file } : { kind: 'file', file, line };
    };
    if (c.pkg === null) {
      origins.merge([], config, c.content, source);
      config = mergeConfig(config, c.content) as Mapping;
    } else {
      const before = hasOwn(config, c.pkg) ? config[c.pkg] : undefined;
      origins.merge([c.pkg], before, c.content, source);
      setOwn(config, c.pkg, mergeConfig(before, c.content));
    }
  }
  for (const o of valueOverrides) {
    const wasList = Array.isArray(valueAt(config, o.path.slice(0, -1)));
    try {
      applyOverride(config, o);
    } catch (e) {
      // A one-word key that is neither a config key nor a group folder: say both.
      if (e instanceof ConfigError && o.path.length === 1 && o.kind !== 'add' && !hasOwn(config, o.key)) {
        throw new ConfigError(
          `${e.reason} (${o.key} is not a config group either; groups: ${listOrNone(listGroups(dirs))})`,
          { cause: e },
        );
      }
      throw e;
    }
    recordOverride(origins, config, o, wasList);
  }
  config = resolveInterpolations(config);

  return {
    config,
    choices: { ...composer.choices },
    files: [...composer.files],
    overrides: overrides.map((o) => o.raw),
    origin: (at) => origins.lookup(at),
  };
}
