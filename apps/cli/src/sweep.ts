import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Override, type PlainOverride, isSweep } from '@vaelab/config';
import {
  type JobState,
  type JobStatus,
  RUN_FILES,
  type SweepJob,
  type SweepManifest,
  createJobDir,
  createSweepDir,
  jobName,
  readSweep,
  shortKeys,
  writeJobStatus,
  writeSweepManifest,
} from '@vaelab/runs';
import type { Io } from './io.js';
import { type JobOutcome, type LaunchJob, type Launcher } from './launcher.js';

/*
 * A multirun (`vaelab train -m`) as a sweep folder: the manifest, one run folder per job with its
 * status, jobs started by a launcher, and `vaelab resume <sweep>` for what is unfinished.
 */

/** Exit codes of a sweep: the number of failed jobs (at most this), or 130/143 when it was interrupted. */
export const MAX_FAILED_EXIT = 100;

/** The manifest of a new sweep: its parameters (the swept keys, values in order) and one entry per job. */
export function planSweep(args: {
  experiment: string;
  overrides: readonly Override[];
  jobs: readonly PlainOverride[][];
  command: string[];
  cwd: string;
}): Omit<SweepManifest, 'created_at'> {
  const swept = args.overrides.filter(isSweep);
  const sweptKeys = new Set(swept.map((o) => o.key));
  const parameters = swept.map((o) => {
    const values: string[] = [];
    for (const job of args.jobs) {
      const text = job.find((p) => p.key === o.key)?.text ?? '';
      if (!values.includes(text)) values.push(text);
    }
    return { key: o.key, form: o.form, values };
  });
  const short = shortKeys([...sweptKeys]);
  const jobs: SweepJob[] = args.jobs.map((job, index) => {
    const swept = job.filter((p) => sweptKeys.has(p.key));
    const params = Object.fromEntries(swept.map((p) => [p.key, p.text ?? '']));
    const label = swept.map((p): [string, string] => [short[p.key]!, p.text ?? '']);
    return { index, name: jobName(index, args.jobs.length, label), overrides: job.map((p) => p.raw), params };
  });
  return {
    version: 1,
    experiment: args.experiment,
    command: args.command,
    cwd: args.cwd,
    overrides: args.overrides.filter((o) => !isSweep(o)).map((o) => o.raw),
    parameters,
    jobs,
  };
}

/** What the jobs should print: epoch lines, results and errors (`--quiet`), or everything. */
export interface SweepOutput {
  quiet: boolean;
}

function jobArgv(manifest: SweepManifest, job: SweepJob, dir: string, resume: boolean): string[] {
  // A job that wrote its config has a run folder to resume (from its checkpoint, or from step 0).
  if (resume && existsSync(join(dir, RUN_FILES.config))) return ['resume', dir, '--quiet'];
  return ['train', `experiment=${manifest.experiment}`, ...job.overrides, '--run-dir', dir, '--quiet'];
}

interface RunJobsResult {
  counts: Record<JobState, number>;
  interrupted: 'SIGINT' | 'SIGTERM' | undefined;
}

/** Start `todo` with the launcher, keeping each job's status.json; SIGINT/SIGTERM stop every job with a checkpoint. */
async function runJobs(sweepDir: string, manifest: SweepManifest, todo: SweepJob[], launcher: Launcher, io: Io, resume: boolean): Promise<RunJobsResult> {
  const total = manifest.jobs.length;
  const statuses = new Map<number, JobStatus>(readSweep(sweepDir).jobs.map((j) => [j.job.index, j.status]));
  const tag = (job: { index: number }) => `[${String(job.index).padStart(String(total - 1).length, '0')}]`;
  const launchJobs: LaunchJob[] = todo.map((job) => {
    const dir = join(sweepDir, job.name);
    return { index: job.index, name: job.name, dir, argv: jobArgv(manifest, job, dir, resume) };
  });
  const update = (job: LaunchJob, change: Partial<JobStatus>) => {
    const previous = statuses.get(job.index) ?? { index: job.index, name: job.name, state: 'pending' as const, attempts: 0, updated_at: '' };
    const { updated_at: _u, ...rest } = { ...previous, ...change };
    statuses.set(job.index, writeJobStatus(job.dir, rest));
  };
  let interrupted: 'SIGINT' | 'SIGTERM' | undefined;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (interrupted) return; // the jobs already have it; a second Ctrl-C must not abort their checkpoints
    interrupted = signal;
    io.err(`\n${signal}: stopping every running job after its current step (each writes a checkpoint); jobs not started stay pending`);
    launcher.stop(signal);
  };
  const onSigint = () => onSignal('SIGINT');
  const onSigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  io.out(`sweep folder: ${sweepDir}`);
  io.out(`${todo.length} of ${total} job(s) to run, ${launcher.description}`);
  try {
    await launcher.run(launchJobs, {
      onStart: (job, { pid }) => {
        const previous = statuses.get(job.index);
        update(job, { state: 'running', pid, attempts: (previous?.attempts ?? 0) + 1, started_at: new Date().toISOString(), finished_at: null, exit_code: null, signal: null, error: null });
        io.out(`${tag(job)} start ${job.name}${job.argv[0] === 'resume' ? ' (resume)' : ''}`);
      },
      onLine: (job, stream, line) => {
        if (!line.trim() || line.startsWith('run folder: ')) return;
        (stream === 'stderr' ? io.err : io.out)(`${tag(job)} ${line}`);
      },
      onEnd: (job, outcome: JobOutcome) => {
        update(job, {
          state: outcome.state,
          pid: null,
          exit_code: outcome.exitCode,
          signal: outcome.signal,
          error: outcome.error,
          finished_at: new Date().toISOString(),
          seconds: outcome.seconds,
        });
        io.out(`${tag(job)} ${outcome.state} ${job.name} (${outcome.seconds.toFixed(1)} s)${outcome.error ? `: ${outcome.error}` : ''}`);
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
  const counts = { pending: 0, running: 0, completed: 0, failed: 0, interrupted: 0 } as Record<JobState, number>;
  for (const s of statuses.values()) counts[s.state]++;
  return { counts, interrupted };
}

function finish(sweepDir: string, result: RunJobsResult, io: Io): number {
  const { counts, interrupted } = result;
  const parts = (Object.entries(counts) as [JobState, number][]).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`);
  io.out(`sweep: ${parts.join(', ')}; ${sweepDir}`);
  const unfinished = counts.pending + counts.interrupted + counts.running;
  if (interrupted || unfinished > 0) {
    io.err(`continue with: vaelab resume ${sweepDir}`);
    if (interrupted) return interrupted === 'SIGTERM' ? 143 : 130;
  }
  if (counts.completed) io.out(`results: vaelab results ${sweepDir}`);
  return Math.min(counts.failed, MAX_FAILED_EXIT);
}

/** Create the sweep folder (manifest, one pending run folder per job) and run every job. Returns the exit code. */
export async function runSweep(plan: Omit<SweepManifest, 'created_at'>, outDir: string, launcher: Launcher, io: Io, folderName = plan.experiment): Promise<number> {
  const sweepDir = createSweepDir(outDir, folderName);
  const manifest: SweepManifest = { ...plan, created_at: new Date().toISOString() };
  writeSweepManifest(sweepDir, manifest);
  for (const job of manifest.jobs) createJobDir(sweepDir, job);
  return finish(sweepDir, await runJobs(sweepDir, manifest, manifest.jobs, launcher, io, false), io);
}

/**
 * Run what is unfinished in a sweep: pending, interrupted and running-without-a-launcher jobs
 * (and failed ones with `retryFailed`). A job with a run folder resumes from its checkpoint.
 */
export async function resumeSweep(sweepDir: string, launcher: (jobs: number, cwd: string) => Launcher, io: Io, opts: { retryFailed?: boolean } = {}): Promise<number> {
  const sweep = readSweep(sweepDir);
  const todo = sweep.jobs
    .filter((j) => j.status.state !== 'completed' && (opts.retryFailed || j.status.state !== 'failed'))
    .map((j) => j.job);
  const failed = sweep.jobs.filter((j) => j.status.state === 'failed').length;
  if (todo.length === 0) {
    io.out(`nothing to resume in ${sweepDir}: ${sweep.jobs.length - failed} completed, ${failed} failed${failed ? ' (rerun them with --retry-failed)' : ''}`);
    return Math.min(failed, MAX_FAILED_EXIT);
  }
  return finish(sweepDir, await runJobs(sweepDir, sweep.manifest, todo, launcher(todo.length, existsSync(sweep.manifest.cwd) ? sweep.manifest.cwd : io.cwd), io, true), io);
}
