import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import {
  ConfigError,
  type PlainOverride,
  composeConfig,
  expandSweeps,
  loadProjectConfig,
  parseOverrides,
  readYamlFile,
  toYaml,
} from '@vaelab/config';
import { type BackendSelection, COMPONENT_KINDS, type ComponentKind, ComponentRegistry, VaeLabError } from '@vaelab/core';
import { checkConfig } from './build.js';
import { type EvalFlags, evaluateRun, parseEvalFlags } from './eval.js';
import { registerUseCommands } from './use-commands.js';
import { type ExecuteResult, executeRun } from './execute.js';
import { type Io, processIo } from './io.js';
import { builtinRegistry, loadPlugins } from './registry.js';
import { BUILTIN_CONF_DIR, configSearchPath, experimentsOn, groupsOn } from './conf-path.js';
import { initCommand } from './init.js';
import { versionText } from './version.js';
import { RUN_FILES, checkOutDir, createRunDir, writeRunStart } from '@vaelab/runs';
import { type ProgressSettings, progressSettings } from './progress.js';
import { isSweepDir } from '@vaelab/runs';
import { LocalProcessPool, defaultParallelism } from './launcher.js';
import { planSweep, resumeSweep, runSweep } from './sweep.js';
import { type ResultsFlags, resultsCommand } from './results.js';
import { type SchemaFlags, schemaCommand } from './schema-command.js';

/**
 * Exit codes: 0 done, 1 failure while running (a non-finite loss, a full disk), 2 bad input found
 * before anything ran, 130 interrupted by SIGINT, 143 by SIGTERM (both after a checkpoint).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130, terminated: 143 } as const;

class UsageError extends VaeLabError {}

async function setup(io: Io) {
  const project = await loadProjectConfig(io.cwd);
  const registry = builtinRegistry();
  await loadPlugins(registry, project.plugins, project.root, project.filepath);
  return { project, registry };
}

/** Output flags shared by the commands that train or evaluate. */
interface OutputFlags {
  quiet?: boolean;
  logInterval?: string;
}

interface TrainFlags extends OutputFlags {
  out?: string;
  multirun?: boolean;
  cfg?: boolean;
  /** -m: jobs at once (default: the cores, at most the jobs). */
  jobs?: string;
  /** Internal (the sweep launcher): train into this existing, empty job folder. */
  runDir?: string;
}

/** --jobs N, checked: a positive integer, or the default for `count` jobs. */
function jobsFlag(flag: string | undefined, count: number): number {
  if (flag === undefined) return defaultParallelism(count);
  if (!/^\s*\d+\s*$/.test(flag) || Number(flag) < 1) throw new UsageError(`--jobs must be a positive whole number, got '${flag}'`);
  return Math.min(Number(flag), Math.max(1, count));
}

/** --quiet and --log-interval, checked; `quiet` also goes into the Io so that chatter is dropped. */
function outputSettings(flags: OutputFlags, io: Io): ProgressSettings {
  let logInterval: number | undefined;
  if (flags.logInterval !== undefined) {
    logInterval = Number(flags.logInterval);
    if (!/^\s*\d+(\.\d+)?\s*$/.test(flags.logInterval) || !(logInterval > 0)) {
      throw new UsageError(`--log-interval must be a positive number of seconds, got '${flags.logInterval}'`);
    }
  }
  if (flags.quiet) io.quiet = true;
  return progressSettings({ ...(flags.quiet ? { quiet: true } : {}), ...(logInterval !== undefined ? { logInterval } : {}) }, io.tty);
}

/** The out folder, refused up front (exit 2) when it is a file, unwritable or on a pseudo-filesystem. */
function outFolder(flag: string | undefined, io: Io, projectOut: string): string {
  return checkOutDir(flag ? resolve(io.cwd, flag) : projectOut);
}

async function trainCommand(args: string[], flags: TrainFlags, io: Io, argv: string[]): Promise<number> {
  const progress = outputSettings(flags, io);
  const { project, registry } = await setup(io);
  const expArgs = args.filter((a) => a.startsWith('experiment='));
  const configDir = configSearchPath(project); // the project's config_dir, then the built-in groups
  const available = experimentsOn(configDir).map((e) => e.name);
  if (expArgs.length !== 1) {
    throw new UsageError(
      `train: name exactly one experiment, as experiment=<name>; available (vaelab list experiments): ${available.join(', ') || '(none)'}`,
    );
  }
  const experiment = expArgs[0]!.slice('experiment='.length);
  const overrides = parseOverrides(
    args.filter((a) => !a.startsWith('experiment=')),
    { multirun: Boolean(flags.multirun) },
  );
  const groupOptions = (group: string) => groupsOn(configDir).find((g) => g.group === group)?.options.map((o) => o.name) ?? [];
  const jobs = flags.multirun ? expandSweeps(overrides, groupOptions) : [overrides];
  // Compose and check every job before anything runs, so a bad sweep value fails up front.
  const composed = jobs.map((job) => composeConfig({ configDir, experiment, overrides: job }));
  for (const c of composed) c.config.name ??= experiment;
  if (flags.cfg) {
    composed.forEach((c, i) => {
      if (jobs.length > 1) io.out(`# job ${i}: ${c.overrides.join(' ')}`);
      io.out(toYaml(c.config).trimEnd());
    });
    return EXIT.ok;
  }
  const checked = composed.map((c) => checkConfig(c.config, registry, { origin: c.origin, ...(c.files[0] ? { file: c.files[0] } : {}) }));
  if (flags.jobs !== undefined && !flags.multirun) throw new UsageError('--jobs goes with -m (a sweep); one run is one process');
  if (flags.multirun) {
    // A sweep folder with one run folder per job, each job its own `vaelab train` process (sweep.ts).
    if (flags.runDir) throw new UsageError('--run-dir names the folder of one run; it cannot be combined with -m');
    const outDir = outFolder(flags.out, io, project.out_dir);
    const plan = planSweep({ experiment, overrides, jobs: jobs as PlainOverride[][], command: argv, cwd: io.cwd });
    const launcher = new LocalProcessPool({ parallelism: jobsFlag(flags.jobs, jobs.length), cwd: io.cwd });
    return runSweep(plan, outDir, launcher, io, checked[0]!.name ?? experiment);
  }
  const config = checked[0]!;
  const c = composed[0]!;
  const start = { experiment, config: c.config, overrides: c.overrides, seed: config.seed, command: argv, cwd: project.root };
  const result = await executeRun({
    config,
    registry,
    root: project.root,
    io,
    progress,
    where: { origin: c.origin },
    runDir: flags.runDir
      ? intoJobFolder(io, resolve(io.cwd, flags.runDir), start)
      : newRunFolder(io, outFolder(flags.out, io, project.out_dir), config.name ?? experiment, undefined, start),
  });
  return exitCode(result);
}

/** A sweep job's run folder, made by the launcher (status.json, checkpoints/): refused if a run was already started in it. */
function intoJobFolder(io: Io, dir: string, start: Omit<Parameters<typeof writeRunStart>[1], 'backend'>): (backend: BackendSelection) => string {
  if (!existsSync(dir)) throw new UsageError(`--run-dir ${dir} does not exist`);
  if (existsSync(join(dir, RUN_FILES.config))) throw new UsageError(`--run-dir ${dir} already holds a run; continue it with: vaelab resume ${dir}`);
  return (backend) => {
    writeRunStart(dir, { ...start, backend });
    io.out(`run folder: ${dir}`);
    return dir;
  };
}

function exitCode(result: ExecuteResult): number {
  if (result.status === 'completed') return EXIT.ok;
  if (result.status === 'interrupted') return result.signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  return EXIT.failure;
}

/** The run folder for a new run: created, with config, overrides and meta, once the backend is known. */
function newRunFolder(
  io: Io,
  outDir: string,
  name: string,
  job: number | undefined,
  start: Omit<Parameters<typeof writeRunStart>[1], 'backend'>,
): (backend: BackendSelection) => string {
  return (backend) => {
    const dir = createRunDir(outDir, name, job);
    writeRunStart(dir, { ...start, backend });
    if (!io.quiet) io.out(`run folder: ${dir}`);
    return dir;
  };
}

function readRunConfig(runDir: string): { dir: string; raw: Record<string, unknown>; file: string } {
  const file = join(runDir, RUN_FILES.config);
  if (!existsSync(file)) throw new UsageError(`${runDir} is not a run folder (no ${RUN_FILES.config})`);
  return { dir: runDir, raw: readYamlFile(file).value as Record<string, unknown>, file };
}

async function resumeCommand(runDirArg: string, flags: OutputFlags & { jobs?: string; retryFailed?: boolean }, io: Io): Promise<number> {
  const sweepDir = resolve(io.cwd, runDirArg);
  if (isSweepDir(sweepDir)) {
    // A sweep folder: run its unfinished jobs, each resuming its own run folder (sweep.ts).
    return resumeSweep(sweepDir, (count, cwd) => new LocalProcessPool({ parallelism: jobsFlag(flags.jobs, count), cwd }), io, {
      ...(flags.retryFailed ? { retryFailed: true } : {}),
    });
  }
  const progress = outputSettings(flags, io);
  const { project, registry } = await setup(io);
  const { dir, raw, file } = readRunConfig(resolve(io.cwd, runDirArg));
  const config = checkConfig(raw, registry, file);
  const result = await executeRun({ config, registry, root: project.root, io, progress, where: { file }, runDir: dir, resume: true });
  return exitCode(result);
}

async function rerunCommand(runDirArg: string, flags: OutputFlags & { out?: string }, io: Io, argv: string[]): Promise<number> {
  const progress = outputSettings(flags, io);
  const { project, registry } = await setup(io);
  const { dir, raw, file } = readRunConfig(resolve(io.cwd, runDirArg));
  const config = checkConfig(raw, registry, file);
  const outDir = outFolder(flags.out, io, project.out_dir);
  const experiment = config.name ?? 'rerun';
  const result = await executeRun({
    config,
    registry,
    root: project.root,
    io,
    progress,
    where: { file },
    runDir: newRunFolder(io, outDir, experiment, undefined, {
      experiment,
      config: raw,
      overrides: [`rerun of ${dir}`],
      seed: config.seed,
      command: argv,
      cwd: project.root,
    }),
  });
  return exitCode(result);
}

async function evalCommand(runDirArg: string, flags: EvalFlags & OutputFlags, io: Io): Promise<number> {
  const settings = parseEvalFlags(flags); // bad flags fail before anything is loaded
  const progress = outputSettings(flags, io);
  const runDir = resolve(io.cwd, runDirArg);
  if (!existsSync(runDir)) throw new UsageError(`eval: run folder ${runDir} does not exist`);
  const { project, registry } = await setup(io);
  const { dir, raw, file } = readRunConfig(runDir);
  const config = checkConfig(raw, registry, file);
  await evaluateRun({ ...settings, runDir: dir, config, registry, root: project.root, io, progress });
  return EXIT.ok;
}

/** `vaelab list experiments|groups`: what the config search path offers, and where each file comes from. */
async function listConfigCommand(what: 'experiments' | 'groups', io: Io): Promise<number> {
  const project = await loadProjectConfig(io.cwd); // no plugins needed: only files are listed
  const searchPath = configSearchPath(project);
  io.out('config search path (first wins):');
  if (!searchPath.includes(project.config_dir)) io.out(`  ${project.config_dir}  (project config_dir; does not exist)`);
  for (const dir of searchPath) io.out(`  ${dir}  (${dir === BUILTIN_CONF_DIR ? 'built-in' : 'project'})`);
  const entries = (list: { name: string; source: string }[]) => {
    const width = Math.max(0, ...list.map((e) => e.name.length));
    for (const e of list) io.out(`  ${e.name.padEnd(width)}  (${e.source})`);
  };
  if (what === 'experiments') {
    io.out('experiments:');
    entries(experimentsOn(searchPath));
  } else {
    for (const { group, options } of groupsOn(searchPath)) {
      io.out(`${group}:`);
      entries(options);
    }
  }
  return EXIT.ok;
}

async function listCommand(kind: string | undefined, io: Io): Promise<number> {
  if (kind === 'experiments' || kind === 'groups') return listConfigCommand(kind, io);
  const { registry } = await setup(io);
  if (kind !== undefined && !COMPONENT_KINDS.includes(kind as ComponentKind)) {
    throw new UsageError(`list: unknown kind '${kind}'; kinds: ${COMPONENT_KINDS.join(', ')}; or experiments, groups`);
  }
  const kinds = kind ? [kind as ComponentKind] : [...COMPONENT_KINDS];
  for (const k of kinds) {
    io.out(`${k}:`);
    for (const def of registry.list(k)) {
      io.out(`  ${def.name} — ${def.description}`);
      for (const o of ComponentRegistry.options(def)) {
        const dflt = o.default !== undefined ? ` = ${JSON.stringify(o.default)}` : o.required ? ' (required)' : ' (optional)';
        io.out(`      ${o.name}: ${o.type}${dflt}${o.description ? `  — ${o.description}` : ''}`);
      }
    }
  }
  return EXIT.ok;
}

/** Run the `vaelab` command with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command()
    .name('vaelab')
    .description('Compose VAE experiments from YAML config groups, train them, and keep reproducible run folders.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .version(versionText(), '-V, --version', 'print the version of vaelab and of the @vaelab/core and tfjs it runs with');
  program
    .command('init')
    .description('scaffold a project: vaelab.config.yaml, an experiment, a config group option, a plugin prior, a README')
    .argument('[dir]', 'project folder, created if missing (default: the working folder)')
    .action(async (dir?: string) => {
      code = initCommand(dir, io);
    });
  program
    .command('train')
    .description('train an experiment: vaelab train experiment=<name> [key=value ...] [+key=value] [~key] [group=option]')
    .argument('[overrides...]', 'experiment=<name> and config overrides')
    .option('-o, --out <dir>', 'folder for run folders (default: out_dir of the project config, else ./runs)')
    .option('-m, --multirun', 'sweep: comma-separated values give one job per combination')
    .option('--cfg', 'print the resolved config and exit')
    .option('-j, --jobs <N>', 'with -m: jobs run at once, each its own process (default: the number of cores, at most the number of jobs)')
    .addOption(new Option('--run-dir <dir>', 'train into this existing job folder (used by the sweep launcher)').hideHelp())
    .option('-q, --quiet', 'print only the epoch lines, the result and errors')
    .option('--log-interval <seconds>', 'without a terminal: seconds between progress lines (default 30)')
    .action(async (args: string[], flags: TrainFlags) => {
      code = await trainCommand(args, flags, io, argv);
    });
  program
    .command('resume')
    .description('continue a run from its latest checkpoint; or a sweep: run its pending, interrupted and unfinished jobs')
    .argument('<run>', 'run folder or sweep folder')
    .option('-j, --jobs <N>', 'sweep: jobs run at once (default: the number of cores, at most the number of jobs)')
    .option('--retry-failed', 'sweep: run the failed jobs again too')
    .option('-q, --quiet', 'print only the epoch lines, the result and errors')
    .option('--log-interval <seconds>', 'without a terminal: seconds between progress lines (default 30)')
    .action(async (run: string, flags: OutputFlags & { jobs?: string; retryFailed?: boolean }) => {
      code = await resumeCommand(run, flags, io);
    });
  program
    .command('rerun')
    .description("train again from a run folder's resolved config.yaml, into a new run folder")
    .argument('<run>', 'run folder')
    .option('-o, --out <dir>', 'folder for run folders')
    .option('-q, --quiet', 'print only the epoch lines, the result and errors')
    .option('--log-interval <seconds>', 'without a terminal: seconds between progress lines (default 30)')
    .action(async (run: string, flags: OutputFlags & { out?: string }) => {
      code = await rerunCommand(run, flags, io, argv);
    });
  program
    .command('eval')
    .description("evaluate a run's latest checkpoint: importance-sampled log-likelihood, ELBO, bits/dim, active units; writes eval.json")
    .argument('<run>', 'run folder')
    .option('-k, --iw-samples <K>', 'importance samples per example (default 1000)')
    .option('--split <split>', 'test or train (default test)')
    .option('--limit <N>', 'evaluate only the first N examples of the split')
    .option('--batch-size <B>', "examples per batch (default: the run's trainer.eval_batch_size)")
    .option('-q, --quiet', 'print only the results and errors')
    .option('--log-interval <seconds>', 'without a terminal: seconds between progress lines (default 30)')
    .action(async (run: string, flags: EvalFlags & OutputFlags) => {
      code = await evalCommand(run, flags, io);
    });
  // sample, reconstruct, interpolate, traverse, edit, compress, decompress, latent, report (use-commands.ts)
  registerUseCommands(program, io, (c) => {
    code = c;
  });
  program
    .command('list')
    .description('list registered components with their options and defaults; or the experiments, or the config groups and their options')
    .argument('[kind]', `one of: ${COMPONENT_KINDS.join(', ')}; or experiments, groups`)
    .action(async (kind?: string) => {
      code = await listCommand(kind, io);
    });
  program
    .command('results')
    .description('a table of metrics over sweeps or runs, grouped over seeds (mean ± std, n); plots with --plot and --curves')
    .argument('<paths...>', 'sweep folders, run folders, or <out>/<experiment> folders of sweeps')
    .option('--metrics <list>', 'comma-separated metrics: a key of summary.json, eval.json or the last metrics record (default: test_loss)')
    .option('--over <keys>', "comma-separated swept keys to average over (default: seed); '' for none")
    .option('--csv <file>', 'also write the table as CSV')
    .option('--json <file>', 'also write the table and every run as JSON')
    .option('--plot <metric>', 'plot a metric (mean ± std over seeds) against --x; writes .vl.json, .svg and .png')
    .option('--x <key>', 'with --plot: the x axis, a swept key or a metric')
    .option('--color <key>', 'with --plot or --curves: a swept key to colour by')
    .option('--curves <metric>', 'plot learning curves of a metrics.jsonl term across jobs (mean ± std over seeds)')
    .option('--split <split>', "with --curves: the records' split (default test)")
    .option('--plot-dir <dir>', 'where plots go (default: <sweep>/plots, or ./plots for run folders)')
    .option('--title <text>', 'plot title')
    .action(async (paths: string[], flags: ResultsFlags) => {
      code = await resultsCommand(paths, flags, io);
    });
  program
    .command('schema')
    .description("print the JSON Schema of an experiment file (or a group's files), from every registered component's options, plugins included")
    .option('--group <group>', 'the schema of one config group\'s option files (prior, likelihood, trainer, ...) instead of an experiment file')
    .option('--write <dir>', 'write experiment.schema.json and <group>.schema.json for every group into this folder')
    .action(async (flags: SchemaFlags) => {
      code = await schemaCommand(flags, io);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const message = e instanceof Error ? e.message : String(e);
    io.err(`error: ${message}`);
    if (e instanceof ConfigError || e instanceof VaeLabError) return EXIT.usage;
    if (process.env.VAELAB_DEBUG && e instanceof Error) io.err(e.stack ?? '');
    return EXIT.failure;
  }
}
