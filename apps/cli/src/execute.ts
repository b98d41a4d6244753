import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { type BackendSelection, type ComponentRegistry, NonFiniteLossError, VaeLabError } from '@vaelab/core';
import { type MetricsRecord, type TrainState, hasCheckpoint, loadCheckpoint, saveCheckpoint, train } from '@vaelab/trainers';
import { buildExperiment } from './build.js';
import type { Io } from './io.js';
import { RUN_FILES, appendMetrics, readMetrics, readSummary, truncateMetrics, writeJson } from './run-folder.js';
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
}

export interface ExecuteResult {
  runDir: string;
  status: 'completed' | 'interrupted' | 'non-finite';
  summary: Record<string, unknown>;
}

/** The scalar loss terms of a metrics record (not its position, split or per-dimension vectors). */
function termsOf(record: MetricsRecord): [string, number][] {
  return Object.entries(record).filter(([k, v]) => !['step', 'epoch', 'split'].includes(k) && typeof v === 'number') as [string, number][];
}

function fmt(x: number | undefined): string {
  return x === undefined ? '—' : x.toFixed(2);
}

/**
 * Train one run into its folder: build the components, restore the checkpoint when resuming,
 * train with a checkpoint per epoch, on Ctrl-C and on a non-finite loss, and write summary.json.
 */
export async function executeRun(opts: ExecuteOptions): Promise<ExecuteResult> {
  const { config, io } = opts;
  const exp = await buildExperiment(config, opts.registry, opts.root, (l) => io.out(l));
  try {
    const runDir = typeof opts.runDir === 'string' ? opts.runDir : opts.runDir(exp.backend);
    const ckptDir = join(runDir, RUN_FILES.checkpoint);
    const parts = { variables: exp.model.checkpointVariables(), optimizer: exp.optimizer, streams: exp.streams };
    let state: TrainState | undefined;
    if (opts.resume) {
      if (!hasCheckpoint(ckptDir)) throw new VaeLabError(`${runDir}: no checkpoint to resume from (${ckptDir} is missing)`);
      state = (await loadCheckpoint(ckptDir, parts)).state;
      if (state.epoch >= config.trainer.epochs) {
        io.out(`nothing to resume: ${runDir} has finished all ${config.trainer.epochs} epochs`);
        return { runDir, status: 'completed', summary: readSummary(runDir) };
      }
      truncateMetrics(runDir, state.step);
      io.out(`resuming at epoch ${state.epoch + 1}, batch ${state.batch}, step ${state.step}`);
    }
    let stop = false;
    const onSigint = () => {
      if (stop) process.exit(130);
      stop = true;
      io.err('\ninterrupt: finishing the current step and writing a checkpoint (Ctrl-C again to abort)');
    };
    process.on('SIGINT', onSigint);
    const { dataset, objective } = exp;
    io.out(
      `data: ${config.data.name} (${dataset.train.size} train, ${dataset.test.size} test, shape [${dataset.shape.join(', ')}]); ` +
        `model: ${config.encoder.name} encoder, ${config.posterior.name} posterior, ${config.prior.name} prior, ` +
        `${config.decoder.name} decoder, ${config.likelihood.name} likelihood; objective: ${config.objective.name}`,
    );
    // The preflight pass in buildExperiment has run the objective once, so it can say how it computes its terms.
    for (const line of objective.describe?.() ?? []) io.out(`objective: ${line}`);

    const bar = io.tty
      ? new cliProgress.SingleBar(
          { format: 'epoch {epoch} [{bar}] {value}/{total} batches | loss {loss} | {speed} samples/s', hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    const started = Date.now();
    let epochStarted = Date.now();
    const epochSeconds: number[] = [];
    let lastTrainLoss: number | undefined;
    let samplesThisEpoch = 0;
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
        checkpoint: async (s, reason) => {
          await saveCheckpoint(ckptDir, parts, s, { reason });
        },
        onStep: (info) => {
          samplesThisEpoch += info.size;
          if (bar) {
            if (info.batch === 1 || !bar.isActive) bar.start(info.batches, 0, { epoch: info.epoch + 1, loss: '—', speed: '—' });
            const secs = (Date.now() - epochStarted) / 1000;
            bar.update(info.batch, { loss: info.loss.toFixed(2), speed: secs > 0 ? (samplesThisEpoch / secs).toFixed(0) : '—' });
          }
        },
        onMetrics: (record) => {
          appendMetrics(runDir, record);
          if (record.split === 'train') lastTrainLoss = record.loss;
          else {
            bar?.stop();
            const secs = (Date.now() - epochStarted) / 1000;
            epochSeconds.push(secs);
            const terms = termsOf(record)
              .filter(([k]) => k !== 'loss')
              .map(([k, v]) => `${k} ${fmt(v)}`)
              .join(', ');
            io.out(
              `epoch ${record.epoch}/${config.trainer.epochs}  train loss ${fmt(lastTrainLoss)}  test loss ${fmt(record.loss)} (${terms})  ${secs.toFixed(1)} s`,
            );
            epochStarted = Date.now();
            samplesThisEpoch = 0;
          }
        },
        shouldStop: () => stop,
      });
    } catch (e) {
      bar?.stop();
      if (e instanceof NonFiniteLossError) {
        const summary = { status: 'non-finite', error: e.message, step: e.step, terms: e.terms };
        writeJson(join(runDir, RUN_FILES.summary), summary);
        io.err(`error: ${e.message}\nthe last good state is in ${ckptDir}`);
        return { runDir, status: 'non-finite', summary };
      }
      throw e;
    } finally {
      bar?.stop();
      process.off('SIGINT', onSigint);
    }
    // From metrics.jsonl rather than this process's memory, so that a resumed run's summary
    // covers the epochs trained before the interruption too.
    const records = readMetrics(runDir);
    const test = records.filter((r) => r.split === 'test').at(-1);
    const lastTrain = records.filter((r) => r.split === 'train').at(-1);
    const summary: Record<string, unknown> = {
      status: result.interrupted ? 'interrupted' : 'completed',
      experiment: config.name,
      epochs: result.state.epoch,
      steps: result.state.step,
      test_loss: test?.loss ?? null,
      test: test ? Object.fromEntries(termsOf(test)) : null,
      train_loss: lastTrain?.loss ?? null,
      units: 'nats per example',
      // How the objective computed its terms, e.g. "kl: Monte Carlo estimate with 1 sample(s)".
      objective_notes: exp.objective.describe?.() ?? [],
      // This process only: a resumed run counts the time since it resumed.
      seconds: (Date.now() - started) / 1000,
      seconds_per_epoch: epochSeconds.length ? epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length : null,
      backend: exp.backend.name,
    };
    writeJson(join(runDir, RUN_FILES.summary), summary);
    if (result.interrupted) {
      io.err(`interrupted at step ${result.state.step}; checkpoint written. Continue with: vaelab resume ${runDir}`);
      return { runDir, status: 'interrupted', summary };
    }
    io.out(`test loss ${fmt(test?.loss)} nats per example; run folder: ${runDir}`);
    return { runDir, status: 'completed', summary };
  } finally {
    exp.dispose();
  }
}
