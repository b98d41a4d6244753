import * as tf from '@tensorflow/tfjs-core';
import { prepareWasmThreads, resolveWasmThreads, wasmThreadsState } from './wasm-threads.js';
import { installWasmTranspose } from './wasm-transpose.js';
import { installWasmSumGradient } from './sum-gradient.js';
import { installWasmIdentity } from './wasm-identity.js';
import { installWasmMatMul } from './wasm-matmul.js';

/* Backend selection (DESIGN §7). tfjs-node(-gpu) are optional and only ever loaded dynamically. */

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export interface BackendSelection {
  /** The active tfjs backend name: 'tensorflow', 'wasm' or 'cpu'. */
  readonly name: string;
  readonly requested: BackendChoice;
  /** The package that provided it, when one was loaded. */
  readonly package?: string;
  /** Backends tried before this one, and why each was passed over. */
  readonly skipped: { backend: string; reason: string }[];
  /** Threads it computes with: wasm's thread-pool size, 1 for cpu; absent for tensorflow (its own pool). */
  readonly threads?: number;
  /** Why wasm runs on fewer threads than asked for: the threaded build did not start, usually (see wasm-threads.ts). */
  readonly threadsFallback?: string;
}

export interface SelectBackendOptions {
  /**
   * Threads for the wasm backend: a positive integer (1 = the single-threaded SIMD build) or
   * 'auto' (the number of cores, at most 8). Default: the environment variable
   * VAELAB_WASM_THREADS, else 'auto'. Fixed once wasm has started in a process.
   */
  wasmThreads?: number | 'auto';
  /**
   * Who computes matMuls on wasm with more than one thread. 'xnnpack' (default): tfjs-wasm's own
   * kernel on XNNPACK's thread pool. 'vaelab': `@vaelab/core`'s k-ordered SIMD kernel on the wasm
   * threads, with XNNPACK (every other kernel) on one thread; faster for dense networks, slower for
   * convolutions (which XNNPACK then runs on one thread). The results are the same bit for bit.
   * The environment variable VAELAB_WASM_MATMUL overrides it.
   */
  wasmMatMul?: 'xnnpack' | 'vaelab';
}

/** The wasm matMul choice: VAELAB_WASM_MATMUL when set, else `option`, else 'xnnpack'. Throws on another value. */
export function resolveWasmMatMul(option?: 'xnnpack' | 'vaelab'): 'xnnpack' | 'vaelab' {
  const raw = typeof process !== 'undefined' ? process.env?.[WASM_MATMUL_ENV]?.trim() : undefined;
  if (raw) {
    if (raw !== 'xnnpack' && raw !== 'vaelab') throw new Error(`${WASM_MATMUL_ENV}: expected xnnpack or vaelab, got '${raw}'`);
    return raw;
  }
  return option ?? 'xnnpack';
}

export const WASM_MATMUL_ENV = 'VAELAB_WASM_MATMUL';

// Held in a variable so that bundlers and tsc do not try to resolve optional packages.
async function importOptional(specifier: string): Promise<void> {
  await import(/* @vite-ignore */ specifier);
}

function reason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.slice(0, 200);
}

async function tryTensorflow(): Promise<{ ok: true; pkg: string } | { ok: false; reason: string }> {
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await importOptional(pkg);
      if (await tf.setBackend('tensorflow')) return { ok: true, pkg };
      reasons.push(`${pkg} loaded but the 'tensorflow' backend did not initialize`);
    } catch (e) {
      reasons.push(`${pkg}: ${reason(e)}`);
    }
  }
  return { ok: false, reason: reasons.join('; ') };
}

async function tryWasm(
  threads: number,
  matMul: 'xnnpack' | 'vaelab',
): Promise<{ ok: true; pkg: string; threads: number; matMul?: 'vaelab'; fallback?: string } | { ok: false; reason: string }> {
  const pkg = '@tensorflow/tfjs-backend-wasm';
  try {
    await importOptional(pkg);
    await prepareWasmThreads(threads, matMul);
    if (await tf.setBackend('wasm')) {
      installFastMatMulGradient();
      installWasmTranspose();
      installWasmSumGradient();
      installWasmIdentity();
      const state = wasmThreadsState();
      const own = state?.matMul === 'vaelab';
      if (own) installWasmMatMul(state.threads);
      return { ok: true, pkg, threads: state?.threads ?? 1, ...(own ? { matMul: 'vaelab' as const } : {}), ...(state?.fallback ? { fallback: state.fallback } : {}) };
    }
    return { ok: false, reason: `${pkg} loaded but the 'wasm' backend did not initialize` };
  } catch (e) {
    return { ok: false, reason: `${pkg}: ${reason(e)}` };
  }
}

let gradientsChecked = false;

/**
 * Make sure tfjs's gradient functions are registered: training needs them, and tfjs-core does
 * not register them on its own. In Node they ship inside the `@tensorflow/tfjs` package (its
 * Node build registers them, and chained ops, into the one shared engine); a browser bundle gets
 * them by importing `@tensorflow/tfjs-core/dist/register_all_gradients` (or `@tensorflow/tfjs`).
 * Sampling, decoding and evaluation run without them. Throws an error saying what to install when
 * neither is there. Idempotent.
 */
export async function ensureGradients(): Promise<void> {
  if (gradientsChecked || tf.getGradient('Add')) {
    gradientsChecked = true;
    return;
  }
  try {
    await importOptional('@tensorflow/tfjs');
  } catch (e) {
    throw new Error(
      `training needs tfjs's gradient functions, which @tensorflow/tfjs-core does not register (${reason(e)}); ` +
        "in Node install @tensorflow/tfjs; in a bundled app import '@tensorflow/tfjs-core/dist/register_all_gradients'",
    );
  }
  if (!tf.getGradient('Add')) throw new Error('@tensorflow/tfjs was loaded but registered no gradients; is a second copy of @tensorflow/tfjs-core installed?');
  gradientsChecked = true;
}

/**
 * Select and initialize a backend. `auto` tries tensorflow (tfjs-node-gpu, then tfjs-node), then
 * wasm, then cpu; an explicit choice that cannot be had is an error that says why.
 */
export async function selectBackend(
  requested: BackendChoice = 'auto',
  log?: (line: string) => void,
  options: SelectBackendOptions = {},
): Promise<BackendSelection> {
  if (!BACKEND_CHOICES.includes(requested)) {
    throw new Error(`backend: unknown backend '${String(requested)}'; allowed: ${BACKEND_CHOICES.join(', ')}`);
  }
  // Before the wasm backend installs its fast matMul gradient over the stock one.
  await ensureGradients();
  const skipped: { backend: string; reason: string }[] = [];
  let selection: BackendSelection | undefined;
  let wasmNote: string | undefined;
  if (requested === 'tensorflow' || requested === 'auto') {
    const r = await tryTensorflow();
    if (r.ok) selection = { name: 'tensorflow', requested, package: r.pkg, skipped };
    else if (requested === 'tensorflow') {
      throw new Error(`backend 'tensorflow' is not available (${r.reason}); install @tensorflow/tfjs-node or -node-gpu, or use backend=wasm`);
    } else skipped.push({ backend: 'tensorflow', reason: 'not installed (optional: @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node)' });
  }
  if (!selection && (requested === 'wasm' || requested === 'auto')) {
    const wasmThreads = resolveWasmThreads(options.wasmThreads);
    wasmNote = wasmThreads.note;
    const r = await tryWasm(wasmThreads.threads, resolveWasmMatMul(options.wasmMatMul));
    if (r.ok) {
      const pkg = r.matMul ? `${r.pkg} + VAE Lab matMul` : r.pkg;
      selection = { name: 'wasm', requested, package: pkg, skipped, threads: r.threads, ...(r.fallback ? { threadsFallback: r.fallback } : {}) };
    }
    else if (requested === 'wasm') throw new Error(`backend 'wasm' is not available: ${r.reason}`);
    else skipped.push({ backend: 'wasm', reason: r.reason });
  }
  if (!selection) {
    // tfjs-core registers no backend of its own: the cpu kernels come from tfjs-backend-cpu
    // (already registered when the @tensorflow/tfjs umbrella was imported).
    const pkg = '@tensorflow/tfjs-backend-cpu';
    if (!tf.findBackendFactory('cpu')) {
      try {
        await importOptional(pkg);
      } catch (e) {
        const tried = skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ');
        throw new Error(
          `backend 'cpu' is not available (${pkg}: ${reason(e)})${tried ? `; also tried ${tried}` : ''}; install @tensorflow/tfjs-backend-wasm (recommended) or ${pkg}`,
        );
      }
    }
    if (!(await tf.setBackend('cpu'))) throw new Error("backend 'cpu' failed to initialize");
    selection = { name: 'cpu', requested, package: pkg, skipped, threads: 1 };
  }
  await tf.ready();
  const threads =
    selection.threads === undefined
      ? ''
      : `, ${selection.threads} thread${selection.threads === 1 ? '' : 's'}` +
        (selection.threadsFallback ? ` (${selection.threads === 1 ? 'threaded build not used: ' : ''}${selection.threadsFallback})` : '') +
        (selection.name === 'wasm' && wasmNote ? ` (${wasmNote})` : '');
  log?.(
    `backend: ${selection.name}${selection.package ? ` (${selection.package})` : ''}${threads}` +
      (skipped.length ? `; skipped ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}` : ''),
  );
  return selection;
}

let fastMatMulInstalled = false;

/**
 * tfjs-wasm runs matMul with transposeA or transposeB about ten times slower than a plain matMul
 * (DESIGN §7), and the stock gradient of matMul uses exactly those forms. This replaces the
 * gradient of BatchMatMul, for rank-2 operands, with an explicit transpose followed by a plain
 * matMul: the same value, computed by the fast kernel. Higher ranks keep the stock gradient.
 * The gradient thunks stay lazy, so no gradient is computed for an input that needs none (data).
 */
export function installFastMatMulGradient(): void {
  if (fastMatMulInstalled) return;
  const stock = tf.getGradient('BatchMatMul');
  if (!stock) return;
  const mm = (a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor =>
    tf.matMul(ta ? tf.transpose(a) : a, tb ? tf.transpose(b) : b);
  tf.registerGradient({
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as [tf.Tensor, tf.Tensor];
      const g = dy as tf.Tensor;
      if (a.rank !== 2 || b.rank !== 2) return stock.gradFunc(dy, saved, attrs);
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      // The four cases of d(op(A) op(B)), as in the stock gradient, with transposes made explicit.
      if (!transposeA && !transposeB) return { a: () => mm(g, b, false, true), b: () => mm(a, g, true, false) };
      if (!transposeA && transposeB) return { a: () => mm(g, b, false, false), b: () => mm(g, a, true, false) };
      if (transposeA && !transposeB) return { a: () => mm(b, g, false, true), b: () => mm(a, g, false, false) };
      return { a: () => mm(b, g, true, true), b: () => mm(g, a, true, true) };
    },
  });
  fastMatMulInstalled = true;
}
