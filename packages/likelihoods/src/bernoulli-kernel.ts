import * as tf from '@tensorflow/tfjs-core';
import {
  I32,
  V128,
  type WasmFunction,
  type WasmMemory,
  byteLoop,
  functionBody,
  type KernelArgs,
  fusedKernelsEnabled,
  heapKernel,
  kernelsOnHeap,
  voidType,
  wasmBackendInternals,
  wasmModule,
  wasmOp as op,
  wasmValidates,
} from '@vaelab/core';

/*
 * The Bernoulli log-likelihood term per element, x·ℓ − softplus(ℓ), and its gradient with respect
 * to the logits, (x − σ(ℓ))·dy, each as one WebAssembly SIMD pass over tfjs-wasm's heap. The stock
 * composition takes 4 kernels forward (Multiply, Softplus, Sub and the reduction) and 7 backward
 * (Neg, Sigmoid, several Multiply and Add); tfjs-wasm's Softplus alone is a scalar double-precision
 * log(1 + exp(ℓ)) per element, the costliest elementwise kernel of the MNIST VAE step.
 *
 * softplus(ℓ) = max(ℓ, 0) + log1p(exp(−|ℓ|)), stable for every ℓ:
 * - exp(y), y = −|ℓ| ≤ 0, taken as 0 below −87 (exp(−87) ≈ 1.6e−38 is the last normal float the
 *   exponent trick below reaches; anything smaller is lost next to |ℓ| > 87 in the term, and in
 *   the gradient it is an error under 1.6e−38): y = k·ln 2 + r with k = round(y/ln 2) and
 *   |r| ≤ ln 2 / 2 (ln 2 split in two parts so r is exact), e^r by Cephes' degree-7 polynomial for
 *   expf, then 2^k put into the exponent bits (k ≥ −126, so the result stays normal).
 * - log1p(t), t ∈ (0, 1]: 2·atanh(s) with s = t / (2 + t) ∈ (0, 1/3], the odd series to s^15
 *   (truncation below 2e−9 relative), no cancellation for small t.
 * σ(ℓ) = 1 / (1 + t) for ℓ ≥ 0, t / (1 + t) otherwise, with the same t = exp(−|ℓ|).
 * Float32 throughout; the results agree with tfjs's kernels to a few units in the last place
 * (bernoulli-kernel.test.ts), not to the bit, which is why they are opt-in (VAELAB_FUSED_KERNELS=1,
 * core's setFusedKernels(true), or the CLI's VAELAB_NATIVE=1): a training run's losses move in
 * their last digits.
 */

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693359375;
const LN2_LO = -2.12194440e-4;
const EXP_POLY = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
const ATANH_SERIES = [1 / 15, 1 / 13, 1 / 11, 1 / 9, 1 / 7, 1 / 5, 1 / 3, 1];

/**
 * A SIMD loop over `pointers` float32 arrays of n elements (n a multiple of 4), with named v128
 * locals and splatted constants. Parameters: the pointers (byte offsets), then n.
 */
function simdLoop(name: string, pointers: number, body: (k: Emit) => number[]): WasmFunction {
  const n = pointers;
  const offset = n + 1;
  const end = n + 2;
  const firstVec = n + 3;
  const constants = new Map<number, number>();
  const temps = new Map<string, number>();
  const vecLocal = (key: string) => {
    if (!temps.has(key)) temps.set(key, firstVec + temps.size);
    return temps.get(key)!;
  };
  const emit: Emit = {
    load: (p) => [...op.get(p), ...op.get(offset), ...op.i32Add, ...op.v128Load],
    store: (p, value) => [...op.get(p), ...op.get(offset), ...op.i32Add, ...value, ...op.v128Store],
    c: (value) => {
      if (!constants.has(value)) constants.set(value, vecLocal(`const ${value}`));
      return op.get(constants.get(value)!);
    },
    set: (key) => op.set(vecLocal(key)),
    get: (key) => op.get(vecLocal(key)),
  };
  const loop = body(emit);
  const init = [...constants].flatMap(([value, local]) => [...op.f32(value), ...op.f32x4Splat, ...op.set(local)]);
  const instructions = [
    ...init,
    // end = n * 4 bytes
    ...op.get(n),
    ...op.i32(2),
    ...op.i32Shl,
    ...op.set(end),
    ...byteLoop(offset, end, 16, loop),
  ];
  return {
    name,
    type: voidType(Array(pointers + 1).fill(I32)),
    code: functionBody(
      [
        [2, I32],
        [temps.size, V128],
      ],
      instructions,
    ),
  };
}

interface Emit {
  load: (p: number) => number[];
  store: (p: number, value: number[]) => number[];
  /** A float32 constant, splatted once before the loop. */
  c: (value: number) => number[];
  set: (key: string) => number[];
  get: (key: string) => number[];
}

/** Pushes Σ coefficients[i]·v^(len−1−i) (Horner) for the vector in local `v`. */
function horner(k: Emit, v: string, coefficients: readonly number[]): number[] {
  const out = [...k.c(coefficients[0]!)];
  for (const c of coefficients.slice(1)) out.push(...k.get(v), ...op.f32x4Mul, ...k.c(c), ...op.f32x4Add);
  return out;
}

/** Sets local `t` = exp(−|ℓ|) (ℓ in local `l`), the shared part of both kernels. */
function expNegAbs(k: Emit): number[] {
  return [
    // y = max(−|ℓ|, −87)
    ...k.get('l'), ...op.f32x4Abs, ...op.f32x4Neg, ...k.c(-87), ...op.f32x4Max, ...k.set('y'),
    // m = round(y·log2 e)
    ...k.get('y'), ...k.c(LOG2E), ...op.f32x4Mul, ...op.f32x4Nearest, ...k.set('m'),
    // r = y − m·ln2_hi − m·ln2_lo
    ...k.get('y'), ...k.get('m'), ...k.c(LN2_HI), ...op.f32x4Mul, ...op.f32x4Sub,
    ...k.get('m'), ...k.c(LN2_LO), ...op.f32x4Mul, ...op.f32x4Sub, ...k.set('r'),
    // e^r = poly(r)·r² + r + 1
    ...horner(k, 'r', EXP_POLY), ...k.get('r'), ...op.f32x4Mul, ...k.get('r'), ...op.f32x4Mul,
    ...k.get('r'), ...op.f32x4Add, ...k.c(1), ...op.f32x4Add,
    // · 2^m: add m to the exponent bits
    ...k.get('m'), ...op.i32x4TruncSatF32x4S, ...op.i32(23), ...op.i32x4Shl, ...op.i32x4Add,
    // and 0 where −|ℓ| < −87 (e^−|ℓ| < 1.6e−38, below the float32 normals)
    ...k.get('l'), ...op.f32x4Abs, ...op.f32x4Neg, ...k.c(-87), ...op.f32x4Ge, ...op.v128And, ...k.set('t'),
  ];
}

/* term(logits, x, out, n): out = x·ℓ − (max(ℓ, 0) + log1p(exp(−|ℓ|))) */
const TERM = simdLoop('term', 3, (k) => {
  const [L, X, OUT] = [0, 1, 2];
  return [
    ...k.load(L), ...k.set('l'),
    ...expNegAbs(k),
    // s = t / (2 + t), z = s²
    ...k.get('t'), ...k.c(2), ...k.get('t'), ...op.f32x4Add, ...op.f32x4Div, ...k.set('s'),
    ...k.get('s'), ...k.get('s'), ...op.f32x4Mul, ...k.set('z'),
    ...k.store(OUT, [
      ...k.load(X), ...k.get('l'), ...op.f32x4Mul,
      ...k.get('l'), ...k.c(0), ...op.f32x4Max,
      // log1p(t) = 2s · Σ z^i / (2i + 1)
      ...horner(k, 'z', ATANH_SERIES), ...k.get('s'), ...op.f32x4Mul, ...k.c(2), ...op.f32x4Mul,
      ...op.f32x4Add,
      ...op.f32x4Sub,
    ]),
  ];
});

/* grad(logits, x, dy, out, n): out = (x − σ(ℓ))·dy */
const GRAD = simdLoop('grad', 4, (k) => {
  const [L, X, DY, OUT] = [0, 1, 2, 3];
  return [
    ...k.load(L), ...k.set('l'),
    ...expNegAbs(k),
    // u = 1 / (1 + t); σ = ℓ ≥ 0 ? u : t·u
    ...k.c(1), ...k.c(1), ...k.get('t'), ...op.f32x4Add, ...op.f32x4Div, ...k.set('u'),
    ...k.store(OUT, [
      ...k.load(X),
      ...k.get('u'), ...k.get('t'), ...k.get('u'), ...op.f32x4Mul,
      ...k.get('l'), ...k.c(0), ...op.f32x4Ge, ...op.v128Bitselect,
      ...op.f32x4Sub,
      ...k.load(DY), ...op.f32x4Mul,
    ]),
  ];
});

const moduleBytes = (shared = false) => wasmModule([TERM, GRAD], shared);

interface BernoulliKernels {
  term(logits: number, x: number, out: number, n: number): void;
  grad(logits: number, x: number, dy: number, out: number, n: number): void;
}

const instances = new WeakMap<WasmMemory, BernoulliKernels | null>();

/** The kernel module's bytes (tests). */
export const bernoulliKernelBytes = moduleBytes;

/** Whether this runtime compiles the kernels (WebAssembly SIMD). */
export function bernoulliKernelsValidate(): boolean {
  return wasmValidates(moduleBytes());
}

const TERM_KERNEL = 'VaelabBernoulliTerm';
const GRAD_KERNEL = 'VaelabBernoulliTermGrad';

/** Runs `which` on the wasm backend of `args`: the inputs' heap offsets, a fresh output. */
function runOnHeap(args: KernelArgs, names: string[], which: 'term' | 'grad'): tf.TensorInfo {
  const backend = wasmBackendInternals(args.backend)!;
  const inputs = names.map((name) => args.inputs[name] as tf.TensorInfo);
  const first = inputs[0]!;
  const out = backend.makeOutput([...first.shape], 'float32');
  // offsets are read after the allocation, which may have grown the heap (offsets stay valid)
  const pointers = [...inputs, out].map((t) => backend.getMemoryOffset(t.dataId));
  const n = first.shape.reduce((a, b) => a * b, 1);
  // a native stand-in (core's setHeapKernel; @vaelab/native has both), the same bits as the wasm kernel
  const native = heapKernel(which === 'term' ? 'bernoulliTerm' : 'bernoulliTermGrad');
  if (native) {
    native(backend.wasm.HEAPF32, ...pointers, n);
    return out;
  }
  const kernels = kernelsOnHeap(instances, moduleBytes, args.backend)!;
  if (which === 'term') kernels.term(pointers[0]!, pointers[1]!, pointers[2]!, n);
  else kernels.grad(pointers[0]!, pointers[1]!, pointers[2]!, pointers[3]!, n);
  return out;
}

let registered = false;

/** Registers the two kernels with the wasm backend and the term's gradient (once per process). */
function register(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel(TERM_KERNEL, 'wasm')) {
    tf.registerKernel({ kernelName: TERM_KERNEL, backendName: 'wasm', kernelFunc: ((args: KernelArgs) => runOnHeap(args, ['logits', 'x'], 'term')) as tf.KernelFunc });
  }
  if (!tf.getKernel(GRAD_KERNEL, 'wasm')) {
    tf.registerKernel({ kernelName: GRAD_KERNEL, backendName: 'wasm', kernelFunc: ((args: KernelArgs) => runOnHeap(args, ['logits', 'x', 'dy'], 'grad')) as tf.KernelFunc });
  }
  if (!tf.getGradient(TERM_KERNEL)) {
    tf.registerGradient({
      kernelName: TERM_KERNEL,
      inputsToSave: ['logits', 'x'],
      gradFunc: (dy, saved) => {
        const [logits, x] = saved as [tf.Tensor, tf.Tensor];
        return {
          logits: () => tf.engine().runKernel(GRAD_KERNEL, { logits, x, dy: dy as tf.Tensor }) as tf.Tensor,
          x: () => tf.mul(dy as tf.Tensor, logits),
        };
      },
    });
  }
}

/**
 * Whether the fused kernel serves (logits, x): the wasm backend with SIMD, fused kernels enabled,
 * float32 tensors of one shape whose size is a multiple of 4.
 */
export function fusedBernoulliApplies(logits: tf.Tensor, x: tf.Tensor): boolean {
  if (!fusedKernelsEnabled() || tf.getBackend() !== 'wasm') return false;
  if (logits.dtype !== 'float32' || x.dtype !== 'float32' || logits.size % 4 !== 0) return false;
  if (logits.rank !== x.rank || logits.shape.some((d, i) => d !== x.shape[i])) return false;
  return kernelsOnHeap(instances, moduleBytes) !== null;
}

/**
 * x·ℓ − softplus(ℓ) elementwise (the Bernoulli log-density per element), differentiable in both
 * arguments: one fused pass forward and one backward on wasm where `fusedBernoulliApplies`, the
 * stock tfjs kernels otherwise.
 */
export function bernoulliTerms(logits: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (!fusedBernoulliApplies(logits, x)) return tf.tidy(() => tf.sub(tf.mul(x, logits), tf.softplus(logits)));
  register();
  return tf.engine().runKernel(TERM_KERNEL, { logits, x }) as tf.Tensor;
}
