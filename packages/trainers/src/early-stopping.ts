import { z } from 'zod';

export const earlyStoppingSchema = z
  .object({
    metric: z
      .string()
      .regex(/^validation\.[^.\s]+$/, "expected 'validation.<term>', e.g. 'validation.loss'")
      .default('validation.loss')
      .describe("validation term watched once per epoch: 'validation.loss' or 'validation.<term>'"),
    patience: z.number().int().min(1).describe('epochs without improvement before training stops'),
    min_delta: z.number().min(0).default(0).describe('smallest change that counts as an improvement'),
    mode: z.enum(['min', 'max']).default('min').describe('min: lower is better; max: higher is better'),
  })
  .strict();
export type EarlyStoppingOptions = z.output<typeof earlyStoppingSchema>;

/** The best value seen so far of a watched metric. Plain JSON: it lives in TrainState. */
export interface BestValue {
  metric: string;
  mode: 'min' | 'max';
  value: number;
  /** Epochs completed (1-based) when it was reached. */
  epoch: number;
  step: number;
}

/** Early-stopping counters, part of TrainState so that a resumed run stops where the straight one would. */
export interface EarlyStoppingState {
  best: BestValue | null;
  /** Epochs since the last improvement. */
  badEpochs: number;
  /** Set when the rule fired: why training stopped. */
  stopped: string | null;
}

/** Whether `value` improves on `best` by more than `minDelta` (NaN never improves). */
export function improves(value: number, best: number | null, mode: 'min' | 'max', minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === null) return true;
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}

/**
 * Stop when the watched metric has not improved by more than `min_delta` for `patience`
 * consecutive epochs (Prechelt 1998, "Early stopping — but when?", the patience rule). The
 * first value always counts as an improvement.
 */
export class EarlyStopping {
  private current: EarlyStoppingState;

  constructor(
    readonly options: EarlyStoppingOptions,
    state?: EarlyStoppingState,
  ) {
    this.current = state ? structuredClone(state) : { best: null, badEpochs: 0, stopped: null };
  }

  get state(): EarlyStoppingState {
    return structuredClone(this.current);
  }

  get stopped(): boolean {
    return this.current.stopped !== null;
  }

  /** Record the metric of a finished epoch (1-based `epoch`). */
  update(value: number, epoch: number, step: number): { improved: boolean; stop: boolean } {
    const { metric, mode, min_delta: minDelta, patience } = this.options;
    const improved = improves(value, this.current.best?.value ?? null, mode, minDelta);
    if (improved) {
      this.current.best = { metric, mode, value, epoch, step };
      this.current.badEpochs = 0;
    } else {
      this.current.badEpochs += 1;
    }
    if (!improved && this.current.badEpochs >= patience) {
      const best = this.current.best;
      this.current.stopped = best
        ? `${metric} did not improve on ${best.value} (epoch ${best.epoch}) by more than ${minDelta} for ${patience} epoch${patience > 1 ? 's' : ''}`
        : `${metric} was not finite for ${patience} epoch${patience > 1 ? 's' : ''}`;
    }
    return { improved, stop: this.stopped };
  }
}
