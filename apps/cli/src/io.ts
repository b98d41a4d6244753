/** Where a command writes; tests pass their own. */
export interface Io {
  cwd: string;
  out(line: string): void;
  err(line: string): void;
  /** Whether stderr is an interactive terminal (progress bar). */
  tty: boolean;
  /** --quiet: only epoch lines, results and errors (no progress, no chatter). */
  quiet?: boolean;
}

export function processIo(): Io {
  return {
    cwd: process.cwd(),
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    tty: Boolean(process.stderr.isTTY) && !process.env.CI,
  };
}
