import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ComponentRegistry, VaeLabError } from '@vaelab/core';
import { type EvalSplit, encodePng, evaluateModel } from '@vaelab/eval';
import { CheckpointStore } from '@vaelab/trainers';
import { RUN_FILES, TensorBoardWriter, writeJson } from '@vaelab/runs';
import { buildExperiment } from './build.js';
import type { Io } from './io.js';
import { Progress, type ProgressSettings, progressSettings } from './progress.js';
import type { RunConfig } from './schema.js';

/* `vaelab eval <run>`: metrics of a trained run's latest checkpoint, written into its folder. */

/** What `vaelab eval` writes, relative to the run folder. */
export const EVAL_FILES = {
  report: 'eval.json',
  reconstructions: join('images', 'reconstructions.png'),
} as const;

/** K when --iw-samples is not given. Burda et al. (2016) report K = 5000. */
export const DEFAULT_IW_SAMPLES = 1000;

/** The command line's flags, as commander hands them over (strings). */
export interface EvalFlags {
  iwSamples?: string;
  split?: string;
  limit?: string;
  batchSize?: string;
}

export interface EvalSettings {
  iwSamples: number;
  split: EvalSplit;
  /** First N examples of the split; null for all. */
  limit: number | null;
  /** Examples per batch; null for the config's trainer.eval_batch_size. */
  batchSize: number | null;
}

function positiveInt(flag: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new VaeLabError(`eval: ${flag} must be a positive integer, got '${value}'`);
  }
  return Number(value);
}

/** Check the flags before anything is loaded; errors name the flag and what is allowed. */
export function parseEvalFlags(flags: EvalFlags): EvalSettings {
  const split = flags.split ?? 'test';
  if (split !== 'test' && split !== 'train') {
    throw new VaeLabError(`eval: --split must be 'test' or 'train', got '${split}'`);
  }
  return {
    iwSamples: positiveInt('--iw-samples (K)', flags.iwSamples) ?? DEFAULT_IW_SAMPLES,
    split,
    limit: positiveInt('--limit', flags.limit),
    batchSize: positiveInt('--batch-size', flags.batchSize),
  };
}

export interface EvaluateRunOptions extends EvalSettings {
  runDir: string;
  config: RunConfig;
  registry: ComponentRegistry;
  /** Resolve relative paths in component options against this folder. */
  root: string;
  io: Io;
  /** How to show progress; by default a bar on a terminal and a line every 30 s elsewhere. */
  progress?: ProgressSettings;
}

function fmt(x: number | null, digits = 2): string {
  return x === null ? '—' : x.toFixed(digits);
}

/**
 * Build the run's experiment from its config, restore the latest checkpoint's weights (and random
 * streams), evaluate with the run's 'eval' stream, and write eval.json and the reconstruction grid.
 * Returns what eval.json holds.
 */
export async function evaluateRun(opts: EvaluateRunOptions): Promise<Record<string, unknown>> {
  const { runDir, config, io } = opts;
  const ckptDir = join(runDir, RUN_FILES.checkpoints);
  if (!CheckpointStore.exists(ckptDir)) {
    throw new VaeLabError(`${runDir}: no checkpoint to evaluate (${ckptDir} holds none); train the run first, or resume it`);
  }
  const info = (line: string) => {
    if (!io.quiet) io.out(line);
  };
  const exp = await buildExperiment(config, opts.registry, opts.root, info);
  try {
    const parts = { variables: exp.model.checkpointVariables(), optimizer: exp.optimizer, streams: exp.streams };
    // The newest complete checkpoint; a damaged one is skipped with a warning.
    const loaded = await new CheckpointStore(ckptDir, config.trainer.checkpoint).load(parts);
    if (!loaded) throw new VaeLabError(`${runDir}: no checkpoint to evaluate in ${ckptDir}`);
    for (const w of loaded.warnings) io.err(`warning: ${w}`);
    const { state } = loaded;
    const split = exp.dataset[opts.split];
    const examples = Math.min(split.size, opts.limit ?? split.size);
    const batchSize = opts.batchSize ?? config.trainer.eval_batch_size;
    info(
      `evaluating the checkpoint at step ${state.step} (epoch ${state.epoch}) on ${examples} ${opts.split} examples of ${config.data.name}, ` +
        `K = ${opts.iwSamples} importance samples, batches of ${batchSize}`,
    );
    const progress = new Progress({
      ...(opts.progress ?? progressSettings({}, io.tty)),
      label: 'eval examples',
      total: examples,
      write: (l) => io.out(l),
    });
    const started = Date.now();
    let seen = 0;
    let result;
    try {
      result = evaluateModel(exp.model, {
        dataset: exp.dataset,
        split: opts.split,
        iwSamples: opts.iwSamples,
        batchSize,
        limit: opts.limit,
        rng: exp.streams.stream('eval'),
        step: state.step,
        onBatch: (done) => {
          progress.update({ done, samples: done - seen, detail: `K = ${opts.iwSamples}` });
          seen = done;
        },
      });
    } finally {
      progress.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    const { report, grid } = result;
    const out: Record<string, unknown> = {
      iw_samples: report.iw_samples,
      split: report.split,
      examples: report.examples,
      log_likelihood: report.log_likelihood,
      elbo: report.elbo,
      kl: report.kl,
      reconstruction: report.reconstruction,
      bits_per_dim: report.bits_per_dim,
      active_units: report.active_units,
      kl_per_dim: report.kl_per_dim,
      reconstruction_mse: report.reconstruction_mse,
      seconds,
      units: report.units,
      kl_analytic: report.kl_analytic,
      active_threshold: report.active_threshold,
      latent_variances: report.latent_variances,
      reconstruction_at: report.reconstruction_at,
      latent_dim: config.latent_dim,
      step: state.step,
      epoch: state.epoch,
      batch_size: batchSize,
      backend: exp.backend.name,
      evaluated_at: new Date().toISOString(),
    };
    writeJson(join(runDir, EVAL_FILES.report), out);
    const written: string[] = [EVAL_FILES.report];
    if (grid) {
      const png = join(runDir, EVAL_FILES.reconstructions);
      mkdirSync(dirname(png), { recursive: true });
      const bytes = encodePng(grid);
      writeFileSync(png, bytes);
      written.push(EVAL_FILES.reconstructions);
      // The grid in TensorBoard too, beside the run's curves (its own folder: training rebuilds tb/ on resume).
      const tb = new TensorBoardWriter(join(runDir, RUN_FILES.tensorboard, 'eval'));
      try {
        tb.image('eval/reconstructions', bytes, grid.height, grid.width, grid.channels, state.step);
        tb.scalars(
          Object.fromEntries(Object.entries(out).filter(([k, v]) => typeof v === 'number' && !['step', 'epoch', 'seconds', 'batch_size', 'latent_dim'].includes(k))),
          state.step,
          `eval_${opts.split}`,
        );
      } finally {
        tb.close();
      }
    }
    const latent = report.active_units === null ? '—' : `${report.active_units}/${report.latent_variances?.length ?? config.latent_dim}`;
    if (report.log_likelihood === null) {
      io.out(`the posterior is a point mass (${config.posterior.name}): no log-likelihood estimate, ELBO or KL`);
      io.out(`reconstruction ${fmt(report.reconstruction)} nats; reconstruction MSE ${report.reconstruction_mse.toExponential(3)}`);
    } else {
      io.out(
        `log p(x) ≈ ${fmt(report.log_likelihood)} nats (importance sampled, K = ${report.iw_samples})` +
          (report.bits_per_dim === null ? '' : `, ${fmt(report.bits_per_dim, 4)} bits/dim`),
      );
      io.out(
        `ELBO ${fmt(report.elbo)} (reconstruction ${fmt(report.reconstruction)}, KL ${fmt(report.kl)}); ` +
          `active units ${latent}; reconstruction MSE ${report.reconstruction_mse.toExponential(3)}`,
      );
    }
    io.out(`wrote ${written.join(' and ')} in ${runDir} (${seconds.toFixed(1)} s)`);
    return out;
  } finally {
    exp.dispose();
  }
}
