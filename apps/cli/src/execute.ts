import { join } from 'node:path';
import { type BackendSelection, type ComponentRegistry, NonFiniteLossError, VaeLabError } from '@vaelab/core';
import {
  RUN_FILES,
  type RunLock,
  TensorBoardWriter,
  acquireRunLock,
  appendMetrics,
  type Meta,
  readMeta,
  readMetrics,
  readSummary,
  truncateMetrics,
  writeJson,
} from '@vaelab/runs';
import {
  type CheckpointReason,
  CheckpointStore,
  CheckpointWriteError,
  type MetricsRecord,
  type TrainResult,
  type TrainerState,
  train,
} from '@vaelab/trainers';
import { numBatches } from '@vaelab/data';
import { readdirSync, rmSync } from 'node:fs';
import { type ConfigWhere, type Experiment, buildExperiment } from './build.js';
import type { Io } from './io.js';
import { Progress, type ProgressSettings, progressSettings } from './progress.js';
import type { RunConfig } from './schema.js';

export interface ExecuteOptions {
  config: RunConfig;
  registry: ComponentRegistry;
  /** The run folder, or a function that creates it once the components exist (bad input first). */
  runDir: string | ((backend: BackendSelection) => string);
  /** Resolve relative paths in component options against this folder. */
  root: string;
  io: Io;
  /** Continue from the run folder's checkpoint. */
  resume?: boolean;
  /** How to show progress; by default a bar on a terminal and a line every 30 s elsewhere. */
  progress?: ProgressSettings;
  /** Where the config's values came from, for errors found once the data is loaded. */
  where?: ConfigWhere;
}

export type RunStatus = 'completed' | 'interrupted' | 'non-finite' | 'failed';

export interface ExecuteResult {
  runDir: string;
  status: RunStatus;
  summary: Record<string, unknown>;
  /** The signal that interrupted the run. */
  signal?: 'SIGINT' | 'SIGTERM';
}

/** The scalar loss terms of a metrics record (not its position, split, time, rate or per-dimension vectors). */
function termsOf(record: MetricsRecord): [string, number][] {
  return Object.entries(record).filter(([k, v]) => !['step', 'epoch', 'split', 'time', 'lr'].includes(k) && typeof v === 'number') as [
    string,
    number,
  ][];
}

function fmt(x: number | undefined | null): string {
  return x === undefined || x === null ? '—' : x.toFixed(2);
}

/** The run folder's TensorBoard events, rebuilt from metrics.jsonl (so a resumed run has no duplicates), then appended to. */
function openTensorBoard(runDir: string, records: MetricsRecord[]): TensorBoardWriter {
  const dir = join(runDir, RUN_FILES.tensorboard);
  // Training's own event files sit directly in tb/ (evaluation writes to tb/eval/).
  try {
    for (const f of readdirSync(dir)) if (f.startsWith('events.out.tfevents.')) rmSync(join(dir, f));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const writer = new TensorBoardWriter(dir);
  for (const r of records) logScalars(writer, r);
  return writer;
}

/** A metrics record's terms (and learning rate) as TensorBoard scalars `<split>/<term>` at its step. */
function logScalars(writer: TensorBoardWriter, r: MetricsRecord): void {
  const { step, epoch: _epoch, split, time, ...terms } = r;
  writer.scalars(terms, step, split, typeof time === 'number' ? time : undefined);
}

/** The store's name for why a checkpoint was written. */
const STORE_REASON: Record<CheckpointReason, string> = { step: 'steps', time: 'minutes', epoch: 'epoch', interrupt: 'interrupt', 'non-finite': 'non-finite' };

/**
 * Train one run into its folder: build the components, restore the newest complete checkpoint
 * when resuming, train with checkpoints by step count, time, epoch, signal and non-finite loss,
 * and write summary.json. One process at a time holds the run folder's lock.
 */
export async function executeRun(opts: ExecuteOptions): Promise<ExecuteResult> {
  const { config, io } = opts;
  const info = (line: string) => {
    if (!io.quiet) io.out(line);
  };
  // An existing run folder (resume) is locked before anything is built, so a second process is
  // turned away at once; a new one as soon as it exists.
  let lock: RunLock | undefined = typeof opts.runDir === 'string' ? acquireRunLock(opts.runDir) : undefined;
  let tensorboard: TensorBoardWriter | undefined;
  let exp: Awaited<ReturnType<typeof buildExperiment>> | undefined;
  let runDir = typeof opts.runDir === 'string' ? opts.runDir : '';
  try {
    exp = await buildExperiment(config, opts.registry, opts.root, info, opts.where);
    if (typeof opts.runDir !== 'string') {
      runDir = opts.runDir(exp.backend);
      lock = acquireRunLock(runDir);
    }
    if (lock?.note) io.err(`note: ${lock.note}`);
    const store = new CheckpointStore(join(runDir, RUN_FILES.checkpoints), config.trainer.checkpoint);
    const parts = { variables: exp.model.checkpointVariables(), optimizer: exp.optimizer, streams: exp.streams };
    let state: TrainerState | undefined;
    if (opts.resume) {
      const loaded = await store.load(parts);
      for (const w of loaded?.warnings ?? []) io.err(`warning: ${w}`);
      if (!loaded) {
        // Killed before its first checkpoint: nothing was trained that a checkpoint kept.
        io.out(`no checkpoint in ${runDir} yet (the run stopped before its first one): starting from step 0`);
        truncateMetrics(runDir, 0);
      } else {
        state = loaded.state as TrainerState;
        const finished = state.earlyStopping?.stopped
          ? `stopped early (${state.earlyStopping.stopped})`
          : state.epoch >= config.trainer.epochs
            ? `has finished all ${config.trainer.epochs} epochs`
            : null;
        if (finished) {
          io.out(`nothing to resume: ${runDir} ${finished}`);
          // Killed after its last checkpoint but before summary.json: write it now.
          let summary = readSummary(runDir);
          if (summary.status !== 'completed') {
            truncateMetrics(runDir, state.step);
            const stoppedEarly = state.earlyStopping?.stopped ? { reason: state.earlyStopping.stopped, best: state.earlyStopping.best } : undefined;
            summary = runSummary(runDir, config, exp, store, { state, interrupted: false, stoppedEarly, seconds: 0, epochSeconds: [] });
          }
          return { runDir, status: 'completed', summary };
        }
        truncateMetrics(runDir, state.step);
        const changed = backendChange(runDir, exp.backend);
        if (changed) io.err(`warning: ${changed}`);
        io.out(`resuming at epoch ${state.epoch + 1}, batch ${state.batch}, step ${state.step} (checkpoint ${loaded.name})`);
      }
    }
    const { dataset, objective } = exp;
    if ('validationIndices' in dataset) {
      writeJson(join(runDir, RUN_FILES.validation), {
        spec: (config.data as Record<string, unknown>).validation,
        seed: config.seed,
        size: dataset.validation.size,
        // Positions in the data component's training split, ascending.
        indices: Array.from(dataset.validationIndices),
      });
    }
    tensorboard = openTensorBoard(runDir, readMetrics(runDir) as MetricsRecord[]);

    const stepsPerEpoch = numBatches(dataset.train.size, config.trainer.batch_size, config.trainer.drop_last);
    const totalSteps = stepsPerEpoch * config.trainer.epochs;
    const progress = new Progress({
      ...(opts.progress ?? progressSettings({}, io.tty)),
      label: 'train step',
      total: totalSteps,
      startAt: state?.step ?? 0,
      write: (l) => io.out(l),
    });
    // SIGINT (Ctrl-C) and SIGTERM (a cluster's preemption, `kill`): finish the step, checkpoint,
    // exit 130 or 143. A second signal aborts at once; the last checkpoint stays.
    let stop: 'SIGINT' | 'SIGTERM' | undefined;
    const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
      if (stop) process.exit(signal === 'SIGINT' ? 130 : 143);
      stop = signal;
      progress.stop();
      io.err(`\n${signal}: finishing the current step and writing a checkpoint (send it again to abort)`);
    };
    const onSigint = () => onSignal('SIGINT');
    const onSigterm = () => onSignal('SIGTERM');
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);

    const validationNote = 'validation' in dataset ? `, ${dataset.validation.size} validation` : '';
    info(
      `data: ${config.data.name} (${dataset.train.size} train${validationNote}, ${dataset.test.size} test, shape [${dataset.shape.join(', ')}]); ` +
        `model: ${config.encoder.name} encoder, ${config.posterior.name} posterior, ${config.prior.name} prior, ` +
        `${config.decoder.name} decoder, ${config.likelihood.name} likelihood; objective: ${config.objective.name}`,
    );
    // The preflight pass in buildExperiment has run the objective once, so it can say how it computes its terms.
    for (const line of objective.describe?.() ?? []) info(`objective: ${line}`);

    const started = Date.now();
    let epochStarted = Date.now();
    const epochSeconds: number[] = [];
    let lastTrainLoss: number | undefined;
    let lastValidation: MetricsRecord | undefined;
    let result;
    try {
      result = await train({
        model: exp.model,
        objective,
        optimizer: exp.optimizer,
        dataset,
        streams: exp.streams,
        options: config.trainer,
        ...(state ? { state } : {}),
        checkpoint: async (s, reason, meta) => {
          const saved = await store.save(parts, s, { reason: STORE_REASON[reason], ...(meta?.best ? { best: meta.best } : {}) });
          for (const w of saved.warnings) io.err(`warning: ${w}`);
        },
        onStep: (step) => {
          const epochAt = step.epoch + step.batch / step.batches;
          progress.update({
            done: step.step,
            samples: step.size,
            detail: `epoch ${epochAt.toFixed(2)}/${config.trainer.epochs} loss ${step.loss.toFixed(2)} lr ${step.lr.toPrecision(3)}`,
          });
        },
        onMetrics: (record) => {
          appendMetrics(runDir, record);
          if (tensorboard) logScalars(tensorboard, record);
          if (record.split === 'train') lastTrainLoss = record.loss;
          else if (record.split === 'validation') lastValidation = record;
          else if (record.split === 'test') {
            progress.stop();
            const secs = (Date.now() - epochStarted) / 1000;
            epochSeconds.push(secs);
            const terms = termsOf(record)
              .filter(([k]) => k !== 'loss')
              .map(([k, v]) => `${k} ${fmt(v)}`)
              .join(', ');
            const validation = lastValidation && lastValidation.step === record.step ? `  validation loss ${fmt(lastValidation.loss)}` : '';
            io.out(
              `epoch ${record.epoch}/${config.trainer.epochs}  train loss ${fmt(lastTrainLoss)}${validation}  test loss ${fmt(record.loss)} (${terms})  ${secs.toFixed(1)} s`,
            );
            epochStarted = Date.now();
          }
        },
        shouldStop: () => stop !== undefined,
      });
    } catch (e) {
      progress.stop();
      if (e instanceof NonFiniteLossError) {
        const summary = { status: 'non-finite', error: e.message, step: e.step, terms: e.terms };
        writeJson(join(runDir, RUN_FILES.summary), summary);
        io.err(`error: ${e.message}\nthe last good state is in ${store.latest()?.path ?? join(runDir, RUN_FILES.checkpoints)}`);
        return { runDir, status: 'non-finite', summary };
      }
      // A disk or path fault while training (a checkpoint, a metrics line): say which file and
      // why, keep the previous checkpoint, and record the failure when the disk still lets us.
      const message = e instanceof Error ? e.message : String(e);
      const summary = { status: 'failed', error: message, steps_checkpointed: store.latest()?.step ?? null };
      try {
        writeJson(join(runDir, RUN_FILES.summary), summary);
      } catch {
        // The disk may be full; the message below still says what happened.
      }
      const latest = store.latest();
      io.err(
        `error: ${e instanceof CheckpointWriteError || e instanceof VaeLabError ? message : describeFsError(e)}\n` +
          (latest ? `the last complete checkpoint is ${latest.path} (step ${latest.step}); continue with: vaelab resume ${runDir}` : 'no checkpoint was written'),
      );
      return { runDir, status: 'failed', summary };
    } finally {
      progress.stop();
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    }
    // From metrics.jsonl rather than this process's memory, so that a resumed run's summary
    // covers the epochs trained before the interruption too.
    const summary = runSummary(runDir, config, exp, store, {
      state: result.state,
      interrupted: result.interrupted,
      stoppedEarly: result.stoppedEarly,
      seconds: (Date.now() - started) / 1000,
      epochSeconds,
    });
    writeJson(join(runDir, RUN_FILES.summary), summary);
    if (result.interrupted) {
      const signal = stop ?? 'SIGINT';
      io.err(`interrupted (${signal}) at step ${result.state.step}; checkpoint written. Continue with: vaelab resume ${runDir}`);
      return { runDir, status: 'interrupted', summary, signal };
    }
    if (result.stoppedEarly) io.out(`stopped early: ${result.stoppedEarly.reason}`);
    io.out(`test loss ${fmt(summary.test_loss as number | null)} nats per example; run folder: ${runDir}`);
    return { runDir, status: 'completed', summary };
  } finally {
    tensorboard?.close();
    lock?.release();
    exp?.dispose();
  }
}

/**
 * How the backend a run is resumed on differs from the one it started on (meta.json): the thread
 * count, the native matMul or the fused kernels change the arithmetic, so the resumed steps would
 * not match an uninterrupted run bit for bit. null when they agree (or meta.json is unreadable).
 */
export function backendChange(runDir: string, now: BackendSelection): string | null {
  let before: Partial<Meta['backend']>;
  try {
    before = readMeta(runDir).backend ?? {};
  } catch {
    return null;
  }
  const describe = (b: Partial<Meta['backend']>) => `${b.name} (${b.package ?? 'no package'}; ${b.threads ?? '?'} thread(s))`;
  const current = { name: now.name, package: now.package ?? null, threads: now.threads ?? null };
  // VAE Lab's matMul computes tfjs-wasm's products bit for bit: switching it on or off changes nothing
  const arithmetic = (pkg: string | null | undefined) => pkg?.replace(' + VAE Lab matMul', '') ?? null;
  if (before.name === current.name && arithmetic(before.package) === arithmetic(current.package) && (before.threads ?? null) === current.threads) return null;
  return (
    `this run started on ${describe(before)} and resumes on ${describe(current)}: the steps from here will not match an ` +
    'uninterrupted run bit for bit (set VAELAB_WASM_THREADS, VAELAB_NATIVE and VAELAB_FUSED_KERNELS as when it started)'
  );
}

/** summary.json from metrics.jsonl (so a resumed run's covers the epochs before the interruption too); written and returned. */
function runSummary(
  runDir: string,
  config: RunConfig,
  exp: Experiment,
  store: CheckpointStore,
  run: { state: TrainerState; interrupted: boolean; stoppedEarly: TrainResult['stoppedEarly']; seconds: number; epochSeconds: number[] },
): Record<string, unknown> {
  const records = readMetrics(runDir) as MetricsRecord[];
  const test = records.filter((r) => r.split === 'test').at(-1);
  const lastTrain = records.filter((r) => r.split === 'train').at(-1);
  const validation = records.filter((r) => r.split === 'validation').at(-1);
  const summary: Record<string, unknown> = {
    status: run.interrupted ? 'interrupted' : 'completed',
    experiment: config.name,
    epochs: run.state.epoch,
    steps: run.state.step,
    test_loss: test?.loss ?? null,
    test: test ? Object.fromEntries(termsOf(test)) : null,
    train_loss: lastTrain?.loss ?? null,
    ...(validation ? { validation_loss: validation.loss, validation: Object.fromEntries(termsOf(validation)) } : {}),
    ...(run.stoppedEarly ? { stopped_early: run.stoppedEarly } : {}),
    ...(run.state.best ? { best: run.state.best, best_checkpoint: store.bestName() } : {}),
    units: 'nats per example',
    // How the objective computed its terms, e.g. "kl: Monte Carlo estimate with 1 sample(s)".
    objective_notes: exp.objective.describe?.() ?? [],
    // This process only: a resumed run counts the time since it resumed.
    seconds: run.seconds,
    seconds_per_epoch: run.epochSeconds.length ? run.epochSeconds.reduce((a, b) => a + b, 0) / run.epochSeconds.length : null,
    backend: exp.backend.name,
  };
  writeJson(join(runDir, RUN_FILES.summary), summary);
  return summary;
}

const FS_CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a file is in the way of a folder',
  EEXIST: 'a file is in the way',
  EISDIR: 'a folder is in the way of a file',
  ENOENT: 'no such file or folder',
  EIO: 'input/output error',
};

/** An fs error as one sentence naming the path and the cause. */
export function describeFsError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && FS_CAUSES[err.code]) {
    return `${err.path ?? 'a run file'}: ${FS_CAUSES[err.code]} (${err.code})`;
  }
  return e instanceof Error ? e.message : String(e);
}
