// Shared by the CLI's tests (not part of the package's API: index.ts does not export it).
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Io } from './io.js';

/** The repository root. */
export const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** Tiny and quick: 64 generated 8x8 images, 2 epochs of 16-example batches, on wasm. */
export const TINY = ['experiment=synthetic_vae', 'data.n_train=64', 'data.n_test=32', 'trainer.epochs=2', 'trainer.batch_size=16', 'backend=wasm'];

export interface Captured extends Io {
  stdout: string[];
  stderr: string[];
}

/** An Io that keeps what the CLI prints (and passes each stdout line to `onOut`). */
export function capture(cwd = repo, onOut?: (line: string) => void): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    cwd,
    tty: false,
    stdout,
    stderr,
    out: (l) => {
      stdout.push(l);
      onOut?.(l);
    },
    err: (l) => stderr.push(l),
  };
}

/** The run folders under `<out>/<experiment>/`. */
export function runDirs(out: string): string[] {
  if (!existsSync(out)) return [];
  return readdirSync(out).flatMap((exp) => readdirSync(join(out, exp)).map((d) => join(out, exp, d)));
}
