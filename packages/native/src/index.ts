import {
  BatchMatMul,
  findBackend,
  getBackend,
  getGradient,
  getKernel,
  matMul,
  registerGradient,
  registerKernel,
  tensor2d,
  tidy,
  unregisterKernel,
  type GradConfig,
  type KernelConfig,
} from '@tensorflow/tfjs-core';
import { BUILD_HINT, type NativeAddon, defaultAddonPath, loadAddon } from './addon.js';
import { counters, hasWasmInternals, nativeBatchMatMulKernel, nativeMatMulGradient } from './kernel.js';

export { defaultAddonPath, type NativeAddon } from './addon.js';

/** Where the OpenBLAS thread count came from. */
export type ThreadsSource = 'option' | 'OPENBLAS_NUM_THREADS' | 'default';

export type NativeInstall =
  | {
      ok: true;
      /** OpenBLAS's version, build options and the CPU core type it chose, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell". */
      blas: string;
      /** OpenBLAS's thread count. */
      threads: number;
      /** Who chose it: the `threads` option (or setNativeThreads), the OPENBLAS_NUM_THREADS variable, or this package's default (1). */
      threadsFrom: ThreadsSource;
      /** The wasm kernels now computed natively. */
      kernels: string[];
      /** Whether matMul's gradient uses transposed products (free in BLAS) instead of explicit transposes. */
      gradient: boolean;
    }
  | { ok: false; reason: string };

export interface InstallOptions {
  /**
   * OpenBLAS threads (openblas_set_num_threads). Default: OPENBLAS_NUM_THREADS when set, else 1 (not
   * OpenBLAS's own default of all cores): results then do not depend on the machine's core count,
   * and the wasm backend's own threads are not crowded out (see the README's measurements).
   */
  threads?: number;
  /** Where the compiled addon is. Default: build/Release/vaelab_native.node in this package. */
  addonPath?: string;
  /** Register matMul's gradient through transposed products (default true). */
  gradient?: boolean;
}

interface Installed {
  addon: NativeAddon;
  stockKernel: KernelConfig;
  previousGradient: GradConfig | undefined;
  result: Extract<NativeInstall, { ok: true }>;
}

let installed: Installed | undefined;

function blasName(addon: NativeAddon): string {
  const { config, corename } = addon.info();
  const text = config.trim().replace(/\s+/g, ' ');
  return text.includes(corename) || !corename ? text : `${text} (${corename})`;
}

function checkThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) throw new RangeError(`threads: expected an integer from 1 to 1024, got ${threads}`);
}

/**
 * A product whose answer is known, on the wasm backend when it is the active one: a kernel that
 * computes wrongly (a tfjs-backend-wasm whose internals differ from 4.22's) is found here.
 */
function selfTest(): string | undefined {
  if (getBackend() !== 'wasm') return undefined;
  const before = counters.native;
  const got = tidy(() => {
    const a = tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tensor2d([7, 8, 9, 10, 11, 12], [2, 3]);
    return [matMul(a, b, false, true).dataSync(), matMul(a, b, true, false).dataSync()];
  });
  const want = [
    [50, 68, 122, 167],
    [47, 52, 57, 64, 71, 78, 81, 90, 99],
  ];
  const ran = counters.native - before;
  counters.native = before; // the check's own products are not the user's
  if (ran !== 2) return 'the native kernel did not run for a float32 product on the wasm backend';
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (g.length !== w.length || w.some((x, j) => x !== g[j])) {
      return `the native kernel computed a wrong product (${Array.from(g).join(',')} instead of ${w.join(',')}); is this tfjs-backend-wasm 4.22?`;
    }
  }
  return undefined;
}

/**
 * Compute the wasm backend's BatchMatMul with OpenBLAS on the wasm heap (and matMul's gradient
 * through transposed products, which BLAS runs at full speed), when the addon is built. Call it
 * after the wasm backend is loaded (`selectBackend('wasm')` from @vaelab/core, or importing
 * `@tensorflow/tfjs-backend-wasm`). When the addon is missing or does not load it returns
 * `{ ok: false, reason }` and tfjs's own kernels stay; it throws only for a bad `threads` option.
 * Calling it again returns the same result (with `threads`, it changes the thread count first).
 */
export function installNative(options: InstallOptions = {}): NativeInstall {
  if (options.threads !== undefined) checkThreads(options.threads); // a bad option is the caller's error
  try {
    if (installed) {
      if (options.threads !== undefined) setNativeThreads(options.threads);
      return { ...installed.result };
    }
    const stockKernel = getKernel(BatchMatMul, 'wasm');
    if (!stockKernel) {
      return { ok: false, reason: "the wasm backend is not loaded: select it first (selectBackend('wasm') from @vaelab/core, or import '@tensorflow/tfjs-backend-wasm')" };
    }
    const wasm = findBackend('wasm');
    if (wasm && !hasWasmInternals(wasm)) {
      return { ok: false, reason: "the wasm backend's internals are not those of tfjs-backend-wasm 4.22 (wasm.HEAPU8, dataIdMap, makeOutput); the stock kernels stay" };
    }
    const loaded = loadAddon(options.addonPath ?? defaultAddonPath());
    if (!loaded.ok) return loaded;
    const { addon } = loaded;
    // OpenBLAS read OPENBLAS_NUM_THREADS itself when it loaded; anything else is set here.
    const fromEnv = !!process.env.OPENBLAS_NUM_THREADS?.trim();
    const threadsFrom: ThreadsSource = options.threads !== undefined ? 'option' : fromEnv ? 'OPENBLAS_NUM_THREADS' : 'default';
    if (threadsFrom !== 'OPENBLAS_NUM_THREADS') addon.setThreads(options.threads ?? 1);
    const previousGradient = getGradient(BatchMatMul);
    const gradient = options.gradient !== false && !!previousGradient;
    installed = {
      addon,
      stockKernel,
      previousGradient,
      result: { ok: true, blas: blasName(addon), threads: addon.info().threads, threadsFrom, kernels: [BatchMatMul], gradient },
    };
    unregisterKernel(BatchMatMul, 'wasm');
    registerKernel(nativeBatchMatMulKernel(addon, stockKernel));
    if (gradient) registerGradient(nativeMatMulGradient(previousGradient!, () => installed !== undefined));
    const wrong = selfTest();
    if (wrong) {
      uninstallNative();
      return { ok: false, reason: `${wrong}; the stock kernels stay` };
    }
    return { ...installed.result };
  } catch (e) {
    if (installed) uninstallNative();
    return { ok: false, reason: `installing the native kernels failed: ${(e as Error)?.message ?? String(e)}` };
  }
}

/** A kernel on tfjs-wasm's heap, as @vaelab/core's setHeapKernel takes it. */
export type NativeHeapKernel = (heap: Float32Array, ...args: number[]) => void;

/**
 * The addon's stand-ins for VAE Lab's own WebAssembly kernels, by the names @vaelab/core's
 * `setHeapKernel` takes: 'adam' (the fused Adam update of @vaelab/trainers) and 'bernoulliTerm',
 * 'bernoulliTermGrad' (the fused Bernoulli kernels of @vaelab/likelihoods). Each gives the same
 * float32 results, bit for bit, as the kernel it stands in for, with the CPU's widest vectors.
 * Empty until `installNative()` succeeded; an addon built before a kernel existed lacks it (rebuild).
 */
export function nativeHeapKernels(): Partial<Record<'adam' | 'bernoulliTerm' | 'bernoulliTermGrad', NativeHeapKernel>> {
  const addon = installed?.addon;
  if (!addon) return {};
  const out: Partial<Record<'adam' | 'bernoulliTerm' | 'bernoulliTermGrad', NativeHeapKernel>> = {};
  const call = (f: (...a: never[]) => void): NativeHeapKernel => (heap, ...args) => (f as unknown as (...a: unknown[]) => void)(heap, ...args);
  if (addon.adam) out.adam = call(addon.adam);
  if (addon.bernoulliTerm) out.bernoulliTerm = call(addon.bernoulliTerm);
  if (addon.bernoulliTermGrad) out.bernoulliTermGrad = call(addon.bernoulliTermGrad);
  return out;
}

/** `nativeHeapKernels().adam ?? null`: the Adam update for `setHeapKernel('adam', …)`. */
export function nativeAdamKernel(): NativeHeapKernel | null {
  return nativeHeapKernels().adam ?? null;
}

/**
 * Whether the addon is built and loads, without touching tfjs: for choosing settings before the
 * wasm backend starts. (The `vaelab` CLI starts wasm on one thread when the matMuls will be
 * native: tfjs's thread pool then only slows the small kernels.) Never throws.
 */
export function nativeAvailable(options: Pick<InstallOptions, 'addonPath'> = {}): { ok: true } | { ok: false; reason: string } {
  const loaded = loadAddon(options.addonPath ?? defaultAddonPath());
  return loaded.ok ? { ok: true } : loaded;
}

/** Put tfjs's own BatchMatMul kernel (and the gradient registered before) back. Idempotent. */
export function uninstallNative(): void {
  if (!installed) return;
  const { stockKernel, previousGradient, result } = installed;
  installed = undefined;
  if (getKernel(BatchMatMul, 'wasm') !== stockKernel) {
    if (getKernel(BatchMatMul, 'wasm')) unregisterKernel(BatchMatMul, 'wasm');
    registerKernel(stockKernel);
  }
  if (result.gradient && previousGradient) registerGradient(previousGradient);
}

/** The current state: the install result while installed, else why not. */
export function nativeStatus(): NativeInstall {
  if (installed) return { ...installed.result, threads: installed.addon.info().threads };
  return { ok: false, reason: `not installed (call installNative(); the addon: ${BUILD_HINT})` };
}

/** Set OpenBLAS's thread count (openblas_set_num_threads); returns the count in effect. Throws when not installed. */
export function setNativeThreads(threads: number): number {
  checkThreads(threads);
  if (!installed) throw new Error('@vaelab/native is not installed: call installNative() first');
  const now = installed.addon.setThreads(threads);
  installed.result = { ...installed.result, threads: now, threadsFrom: 'option' };
  return now;
}

/** How many BatchMatMul calls the native kernel computed, and how many it passed to the stock kernel. */
export function nativeCounters(): { native: number; fallback: number } {
  return { ...counters };
}
