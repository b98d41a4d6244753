import cliProgress from 'cli-progress';

/*
 * Progress of a long phase (training, evaluation). On a terminal: a bar with elapsed time, ETA,
 * throughput and the latest loss terms. Elsewhere (nohup, a cluster log, CI): one plain line every
 * `intervalSeconds`, so that a log shows a run is alive without flooding it. Quiet: nothing.
 */

export type ProgressMode = 'bar' | 'lines' | 'quiet';

export interface ProgressSettings {
  mode: ProgressMode;
  /** Seconds between plain lines (mode 'lines'). */
  intervalSeconds: number;
}

export const DEFAULT_LOG_INTERVAL = 30;

/** The progress mode for an output: a bar on an interactive terminal, lines elsewhere. */
export function progressSettings(flags: { quiet?: boolean; logInterval?: number }, tty: boolean): ProgressSettings {
  return {
    mode: flags.quiet ? 'quiet' : tty ? 'bar' : 'lines',
    intervalSeconds: flags.logInterval ?? DEFAULT_LOG_INTERVAL,
  };
}

/** `h:mm:ss` (or `m:ss` under an hour); `—` when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export interface ProgressUpdate {
  /** Units done so far in this phase (steps, examples), counting work done before a resume. */
  done: number;
  /** Examples processed since the last update (for the samples/s figure). */
  samples: number;
  /** Shown after the counters, e.g. `epoch 2.50/10` or `loss 105.32 (kl 25.10)`. */
  detail?: string;
}

export interface ProgressOptions extends ProgressSettings {
  /** What is counted, e.g. 'train' or 'eval'. */
  label: string;
  /** Units in the whole phase. */
  total: number;
  /** Units already done when this process started (a resume): excluded from the rate. */
  startAt?: number;
  /** A plain line (mode 'lines'). */
  write: (line: string) => void;
  /** The stream the bar draws on (mode 'bar'); stderr by default. */
  stream?: NodeJS.WritableStream;
  now?: () => number;
}

export class Progress {
  private readonly started: number;
  private readonly startAt: number;
  private samples = 0;
  private done: number;
  private lastLine: number;
  private detail = '';
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? Date.now;
    this.started = this.now();
    this.lastLine = this.started;
    this.startAt = opts.startAt ?? 0;
    this.done = this.startAt;
    if (opts.mode === 'bar') {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${opts.label} [{bar}] {value}/{total} | {spent} elapsed, ETA {remaining} | {speed} samples/s | {detail}`,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
          ...(opts.stream ? { stream: opts.stream } : {}),
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(opts.total, this.done, this.tokens());
    }
  }

  /** Seconds since this process started the phase. */
  elapsed(): number {
    return (this.now() - this.started) / 1000;
  }

  /** Examples per second in this process. */
  rate(): number | null {
    const secs = this.elapsed();
    return secs > 0 && this.samples > 0 ? this.samples / secs : null;
  }

  /** Seconds to the end of the phase at this process's pace so far. */
  eta(): number | null {
    const secs = this.elapsed();
    const doneHere = this.done - this.startAt;
    if (doneHere <= 0 || secs <= 0) return null;
    return ((this.opts.total - this.done) * secs) / doneHere;
  }

  private tokens() {
    const rate = this.rate();
    return {
      spent: formatDuration(this.elapsed()),
      remaining: formatDuration(this.eta()),
      speed: rate === null ? '—' : rate.toFixed(0),
      detail: this.detail,
    };
  }

  /** A plain line describing the current state (what 'lines' mode prints). */
  line(): string {
    const rate = this.rate();
    const pct = this.opts.total > 0 ? ((100 * this.done) / this.opts.total).toFixed(1) : '100.0';
    return (
      `${this.opts.label} ${this.done}/${this.opts.total} (${pct}%)${this.detail ? ` ${this.detail}` : ''} | ` +
      `${rate === null ? '—' : rate.toFixed(0)} samples/s | elapsed ${formatDuration(this.elapsed())}, ETA ${formatDuration(this.eta())}`
    );
  }

  update(u: ProgressUpdate): void {
    this.done = u.done;
    this.samples += u.samples;
    if (u.detail !== undefined) this.detail = u.detail;
    if (this.bar) {
      // Restarted after stop(), which clears it for a line of its own (an epoch's results).
      if (!this.bar.isActive) this.bar.start(this.opts.total, this.done, this.tokens());
      else this.bar.update(this.done, this.tokens());
    } else if (this.opts.mode === 'lines' && this.now() - this.lastLine >= this.opts.intervalSeconds * 1000) {
      this.lastLine = this.now();
      this.opts.write(this.line());
    }
  }

  /** Clear the bar (before printing a line of its own, or at the end). */
  stop(): void {
    this.bar?.stop();
  }
}
