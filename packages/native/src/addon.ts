import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** What the compiled addon (addon/vaelab_native.c) exports. */
export interface NativeAddon {
  /**
   * For i in [0, batch): C_i = op(A_i)·op(B_i), row-major float32 on `heap`. Offsets and strides are
   * in bytes; op(A_i) is m×k, op(B_i) k×n, C_i m×n (contiguous, C_{i+1} follows C_i). A stride of 0
   * reuses one matrix for every i. Throws a RangeError when an operand lies outside the heap.
   */
  gemm(
    heap: Uint8Array | ArrayBuffer,
    transposeA: boolean,
    transposeB: boolean,
    m: number,
    n: number,
    k: number,
    aOffset: number,
    bOffset: number,
    cOffset: number,
    batch: number,
    aStride: number,
    bStride: number,
  ): void;
  /**
   * One Adam step over n float32 values at byte offsets of `heap`: m and v in place, the new
   * parameter into out; scalars β₁, 1−β₁, β₂, 1−β₂, 1−β₁ᵗ, 1−β₂ᵗ, ε, −lr (as float32). The same
   * float32 operations in the same order as @vaelab/trainers' wasm kernel. Absent from addons built
   * before it existed.
   */
  adam?(heap: Float32Array | Uint8Array | ArrayBuffer, param: number, grad: number, m: number, v: number, out: number, n: number, ...scalars: number[]): void;
  /** out = x·ℓ − softplus(ℓ) and out = (x − σ(ℓ))·dy, bit for bit @vaelab/likelihoods' fused wasm kernels. Absent from older addons. */
  bernoulliTerm?(heap: Float32Array | Uint8Array | ArrayBuffer, logits: number, x: number, out: number, n: number): void;
  bernoulliTermGrad?(heap: Float32Array | Uint8Array | ArrayBuffer, logits: number, x: number, dy: number, out: number, n: number): void;
  /** OpenBLAS's build string, the core it chose, its thread count, and its threading model (0 none, 1 pthreads, 2 OpenMP). */
  info(): { config: string; corename: string; threads: number; parallel: number };
  /** openblas_set_num_threads(n); returns the count OpenBLAS reports afterwards. */
  setThreads(n: number): number;
}

/** Where `npx vaelab-native-build` puts the addon: build/Release under the package folder. */
export function defaultAddonPath(): string {
  // src/addon.ts in the repository and dist/index.js when built: both one folder below the package.
  return fileURLToPath(new URL('../build/Release/vaelab_native.node', import.meta.url));
}

export const BUILD_HINT =
  'build it with `npx vaelab-native-build` (in the monorepo: npm run build:native -w @vaelab/native); ' +
  'it needs a C compiler, make, python3 and OpenBLAS with headers (Debian/Ubuntu: apt-get install libopenblas-dev)';

/** Load the addon, or say why it cannot be loaded. Never throws. */
export function loadAddon(path: string = defaultAddonPath()): { ok: true; addon: NativeAddon } | { ok: false; reason: string } {
  if (!existsSync(path)) return { ok: false, reason: `the native addon is not built (no ${path}); ${BUILD_HINT}` };
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    if (typeof addon?.gemm !== 'function' || typeof addon.info !== 'function' || typeof addon.setThreads !== 'function') {
      return { ok: false, reason: `${path} is not the @vaelab/native addon (no gemm/info/setThreads); rebuild it: npx vaelab-native-build` };
    }
    return { ok: true, addon };
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
    return { ok: false, reason: `the native addon at ${path} does not load (${message}); rebuild it (npx vaelab-native-build), and check that libopenblas is installed` };
  }
}
