import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { WASM_THREADS_ENV, resolveWasmThreads } from '@vaelab/core';

/** Packages whose resolved versions `vaelab --version` reports after the CLI's own. */
const REPORTED = ['@vaelab/core', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'] as const;

/** This package's own package.json (one folder above both src/ and dist/). */
function ownPackage(): { name: string; version: string } {
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
}

/**
 * The versions as resolved from this package, i.e. the copies the command actually runs with
 * (a project may hold others). `unknown` when a package cannot be resolved.
 */
export function versions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const own = ownPackage();
  const out: Record<string, string> = { [own.name]: own.version };
  for (const name of REPORTED) {
    try {
      out[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      out[name] = 'unknown';
    }
  }
  out.node = process.version;
  return out;
}

/** What `vaelab --version` prints: the CLI's version on the first line, then what it resolved. */
export function versionText(): string {
  const all = versions();
  const [first, ...rest] = Object.entries(all);
  return [`${first![0]} ${first![1]}`, ...rest.map(([name, version]) => `  ${name} ${version}`), `  ${wasmThreadsText()}`].join('\n');
}

/** The wasm thread count a run would ask for, and where it comes from (the backend is not started here). */
function wasmThreadsText(): string {
  try {
    const s = resolveWasmThreads();
    const from = s.source === 'env' ? `from ${WASM_THREADS_ENV}` : `the cores; ${WASM_THREADS_ENV} sets it`;
    return `wasm threads ${s.threads} (${from}${s.note ? `; ${s.note}` : ''})`;
  } catch (e) {
    return `wasm threads: ${(e as Error).message}`;
  }
}
