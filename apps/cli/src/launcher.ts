import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/*
 * How a sweep's jobs are started. The sweep (sweep.ts) decides what to run and keeps the status
 * files; a launcher only starts `vaelab <args>` for each job somewhere and says how it ended. The
 * local process pool runs them as child processes on this machine; a cluster launcher (Slurm,
 * Kubernetes) implements the same interface and nothing else changes.
 */

/** One job to start: `vaelab <argv>` run from `cwd`, writing into its run folder `dir`. */
export interface LaunchJob {
  index: number;
  name: string;
  dir: string;
  /** The arguments of the `vaelab` command for this job, e.g. `['train', 'experiment=x', 'seed=2', '--run-dir', dir]`. */
  argv: string[];
}

/** How a job ended, from its exit code: 0 completed, 130/143 or a signal interrupted, anything else failed. */
export interface JobOutcome {
  state: 'completed' | 'failed' | 'interrupted';
  exitCode: number | null;
  signal: string | null;
  /** The job's last `error: ...` line, for a failed job. */
  error: string | null;
  seconds: number;
}

export interface LaunchHooks {
  onStart?(job: LaunchJob, info: { pid: number | null }): void;
  /** One line of the job's output (stdout or stderr). */
  onLine?(job: LaunchJob, stream: 'stdout' | 'stderr', line: string): void;
  onEnd?(job: LaunchJob, outcome: JobOutcome): void;
}

export interface Launcher {
  /** For the manifest and messages, e.g. `local (2 processes)`. */
  readonly description: string;
  /** Run every job (at most the launcher's parallelism at a time); resolves when all have ended or were never started after `stop`. */
  run(jobs: readonly LaunchJob[], hooks: LaunchHooks): Promise<void>;
  /**
   * Stop: start no more jobs and pass the signal to the running ones once; each writes a
   * checkpoint and exits 130 (SIGINT) or 143 (SIGTERM). Jobs never started stay pending.
   */
  stop(signal: 'SIGINT' | 'SIGTERM'): void;
}

/** The `vaelab` launcher script of this package (bin/vaelab.js), which children run. */
export const VAELAB_BIN = fileURLToPath(new URL('../bin/vaelab.js', import.meta.url));

/** How many jobs at once when --jobs is not given: the cores, at most the number of jobs. */
export function defaultParallelism(jobs: number): number {
  return Math.max(1, Math.min(jobs, availableParallelism()));
}

/** wasm threads for each of `parallelism` jobs running at once: the cores shared out, at least 1. */
export function threadsPerJob(parallelism: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / parallelism));
}

export interface LocalProcessPoolOptions {
  /** Jobs running at once. */
  parallelism: number;
  cwd: string;
  /** The script children run with node (default: this package's bin). */
  bin?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs each job as `node <bin> <argv>` in its own process (its own tfjs engine, random streams
 * and wasm memory, so a job's metrics do not depend on what ran before it or beside it). Each
 * child gets its own process group: a Ctrl-C at the terminal reaches only the launcher, which
 * passes it on once, so no job sees it twice (the second signal aborts a run without a checkpoint).
 */
export class LocalProcessPool implements Launcher {
  readonly description: string;
  private readonly running = new Map<ChildProcess, LaunchJob>();
  private stopping: 'SIGINT' | 'SIGTERM' | undefined;

  constructor(private readonly options: LocalProcessPoolOptions) {
    if (!Number.isInteger(options.parallelism) || options.parallelism < 1) throw new Error(`parallelism must be a positive integer, got ${options.parallelism}`);
    this.description = `local (${options.parallelism} process${options.parallelism === 1 ? '' : 'es'})`;
  }

  async run(jobs: readonly LaunchJob[], hooks: LaunchHooks): Promise<void> {
    const queue = [...jobs];
    const worker = async () => {
      for (let job = queue.shift(); job && !this.stopping; job = queue.shift()) await this.runOne(job, hooks);
    };
    await Promise.all(Array.from({ length: Math.min(this.options.parallelism, jobs.length) }, worker));
  }

  stop(signal: 'SIGINT' | 'SIGTERM'): void {
    if (this.stopping) return;
    this.stopping = signal;
    for (const child of this.running.keys()) child.kill(signal);
  }

  private runOne(job: LaunchJob, hooks: LaunchHooks): Promise<void> {
    const started = Date.now();
    const env: NodeJS.ProcessEnv = { ...(this.options.env ?? process.env), CI: '1' };
    // Jobs side by side share the cores: each gets its share of wasm threads unless the user chose.
    if (env['VAELAB_WASM_THREADS'] === undefined) env['VAELAB_WASM_THREADS'] = String(threadsPerJob(this.options.parallelism));
    const child = spawn(process.execPath, [this.options.bin ?? VAELAB_BIN, ...job.argv], {
      cwd: this.options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.running.set(child, job);
    hooks.onStart?.(job, { pid: child.pid ?? null });
    let lastError: string | null = null;
    // A crash before the CLI could report (a module that fails to load) prints a stack instead.
    let crash: string | null = null;
    const lines = (stream: 'stdout' | 'stderr') => {
      let buffer = '';
      const emit = (line: string) => {
        if (stream === 'stderr' && line.startsWith('error: ')) lastError = line.slice('error: '.length);
        else if (stream === 'stderr' && crash === null && /^\s*(\w*Error\b|Error \[)/.test(line)) crash = line.trim();
        hooks.onLine?.(job, stream, line);
      };
      child[stream]!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const parts = buffer.split('\n');
        buffer = parts.pop()!;
        for (const line of parts) emit(line.replace(/\r$/, ''));
      });
      child[stream]!.on('end', () => {
        if (buffer) emit(buffer);
      });
    };
    lines('stdout');
    lines('stderr');
    return new Promise((resolvePromise) => {
      let spawnError: string | null = null;
      child.on('error', (e) => {
        spawnError = e.message;
      });
      child.on('close', (code, signal) => {
        this.running.delete(child);
        const interrupted = code === 130 || code === 143 || (signal !== null && code === null);
        const state = code === 0 ? 'completed' : interrupted ? 'interrupted' : 'failed';
        hooks.onEnd?.(job, {
          state,
          exitCode: code,
          signal,
          error: state === 'failed' ? (lastError ?? crash ?? spawnError ?? `exited with code ${code}`) : null,
          seconds: (Date.now() - started) / 1000,
        });
        resolvePromise();
      });
      // The stop may have come while this job was being spawned.
      if (this.stopping) child.kill(this.stopping);
    });
  }
}
