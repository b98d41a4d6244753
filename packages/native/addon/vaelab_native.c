/*
 * @vaelab/native: single-precision matrix products on the memory of tfjs's WebAssembly backend,
 * computed by OpenBLAS (cblas_sgemm). Plain C against Node-API (node_api.h); no other dependency.
 *
 * The JavaScript side passes the wasm heap (the Uint8Array view `HEAPU8`, or its ArrayBuffer),
 * byte offsets of the operands inside it, the shapes and the transpose flags. Every offset and
 * extent is checked against the heap's length before BLAS touches it, so a wrong offset is a
 * RangeError rather than a crash.
 *
 * Exports:
 *   gemm(heap, transposeA, transposeB, m, n, k, aOffset, bOffset, cOffset, batch, aStride, bStride)
 *     For i in [0, batch): C_i = op(A_i) · op(B_i), all row-major float32, where
 *     A_i starts at aOffset + i·aStride bytes (op(A_i) is m×k; A_i is k×m when transposeA),
 *     B_i at bOffset + i·bStride (op(B_i) is k×n; B_i is n×k when transposeB) and
 *     C_i (m×n, contiguous) at cOffset + i·m·n·4. A stride of 0 broadcasts one matrix over the batch.
 *   adam(heap, param, grad, m, v, out, n, beta1, 1-beta1, beta2, 1-beta2, 1-beta1^t, 1-beta2^t, epsilon, -lr)
 *     One Adam step over n float32 values at those byte offsets: m and v updated in place, the new
 *     parameter written to out. The same float32 operations in the same order as @vaelab/trainers'
 *     wasm kernel and tf.train.adam, so the results are identical (no FMA contraction, IEEE sqrt and
 *     division; see binding.gyp's flags). Vectorized for AVX-512, AVX2 or SSE, chosen at load time.
 *   bernoulliTerm(heap, logits, x, out, n): out = x·ℓ − softplus(ℓ) elementwise
 *   bernoulliTermGrad(heap, logits, x, dy, out, n): out = (x − σ(ℓ))·dy elementwise
 *     The same float32 operations in the same order as @vaelab/likelihoods' fused WebAssembly SIMD
 *     kernels (bernoulli-kernel.ts), so the same bits, with wider vectors.
 *   info() -> { config, corename, threads, parallel }
 *   setThreads(n) -> the thread count OpenBLAS reports afterwards
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <cblas.h>
#include <stdbool.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* OpenBLAS extensions (declared by OpenBLAS's cblas.h; repeated so another cblas.h still compiles). */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern int openblas_get_parallel(void);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);

#define MAX_DIM 2147483647LL /* BLAS takes int dimensions */

static napi_value throw_error(napi_env env, const char *kind, const char *message) {
  if (strcmp(kind, "range") == 0) napi_throw_range_error(env, NULL, message);
  else if (strcmp(kind, "type") == 0) napi_throw_type_error(env, NULL, message);
  else napi_throw_error(env, NULL, message);
  return NULL;
}

/* The bytes of an ArrayBuffer or of a TypedArray/DataView's view of one. */
static bool get_heap(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is;
  if (napi_is_arraybuffer(env, value, &is) == napi_ok && is) {
    void *p = NULL;
    if (napi_get_arraybuffer_info(env, value, &p, length) != napi_ok) return false;
    *data = (uint8_t *)p;
    return true;
  }
  if (napi_is_typedarray(env, value, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count = 0, offset = 0;
    void *p = NULL;
    if (napi_get_typedarray_info(env, value, &type, &count, &p, NULL, &offset) != napi_ok) return false;
    size_t size = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: size = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: size = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: size = 8; break;
      default: size = 1;
    }
    *data = (uint8_t *)p; /* already advanced by the view's byte offset */
    *length = count * size;
    return true;
  }
  return false;
}

static bool get_bool(napi_env env, napi_value v, bool *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_boolean) return napi_get_value_bool(env, v, out) == napi_ok;
  if (t == napi_number) {
    double d;
    if (napi_get_value_double(env, v, &d) != napi_ok) return false;
    *out = d != 0;
    return true;
  }
  return false;
}

/* A non-negative integer below 2^53 (offsets, strides, dimensions). */
static bool get_count(napi_env env, napi_value v, int64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return false;
  if (!(d >= 0) || d > 9007199254740991.0 || d != (double)(int64_t)d) return false;
  *out = (int64_t)d;
  return true;
}

/* offset + count·stride + extra <= length, without overflow. */
static bool inside(int64_t offset, int64_t count, int64_t stride, int64_t extra, int64_t length) {
  int64_t span, end;
  if (__builtin_mul_overflow(count, stride, &span) || __builtin_add_overflow(offset, span, &end) ||
      __builtin_add_overflow(end, extra, &end))
    return false;
  return end <= length;
}

static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 12) return throw_error(env, "type", "gemm: expected 12 arguments (heap, transposeA, transposeB, m, n, k, aOffset, bOffset, cOffset, batch, aStride, bStride)");
  uint8_t *heap = NULL;
  size_t heap_length = 0;
  if (!get_heap(env, argv[0], &heap, &heap_length)) return throw_error(env, "type", "gemm: heap must be an ArrayBuffer or a typed array");
  if (heap == NULL && heap_length == 0) return throw_error(env, "range", "gemm: the heap is empty or detached (did the wasm memory grow? pass the current buffer)");
  bool ta, tb;
  if (!get_bool(env, argv[1], &ta) || !get_bool(env, argv[2], &tb)) return throw_error(env, "type", "gemm: transposeA and transposeB must be booleans");
  int64_t v[9];
  static const char *names[9] = {"m", "n", "k", "aOffset", "bOffset", "cOffset", "batch", "aStride", "bStride"};
  for (int i = 0; i < 9; i++) {
    if (!get_count(env, argv[3 + i], &v[i])) {
      char msg[96];
      snprintf(msg, sizeof msg, "gemm: %s must be a non-negative integer", names[i]);
      return throw_error(env, "type", msg);
    }
  }
  const int64_t m = v[0], n = v[1], k = v[2], a_off = v[3], b_off = v[4], c_off = v[5], batch = v[6], a_stride = v[7], b_stride = v[8];
  if (m > MAX_DIM || n > MAX_DIM || k > MAX_DIM) return throw_error(env, "range", "gemm: a dimension exceeds 2^31 - 1");
  if ((a_off | b_off | c_off | a_stride | b_stride) & 3) return throw_error(env, "range", "gemm: offsets and strides must be multiples of 4 bytes (float32)");
  if (batch == 0 || m == 0 || n == 0) {
    napi_value undef;
    napi_get_undefined(env, &undef);
    return undef;
  }
  /* Every byte each operand spans must lie inside the heap. */
  const int64_t len = (int64_t)heap_length;
  int64_t a_bytes, b_bytes, c_bytes;
  bool overflow = __builtin_mul_overflow(m, k, &a_bytes) || __builtin_mul_overflow(a_bytes, 4, &a_bytes) ||
                  __builtin_mul_overflow(k, n, &b_bytes) || __builtin_mul_overflow(b_bytes, 4, &b_bytes) ||
                  __builtin_mul_overflow(m, n, &c_bytes) || __builtin_mul_overflow(c_bytes, 4, &c_bytes);
  if (overflow || !inside(a_off, batch - 1, a_stride, a_bytes, len) || !inside(b_off, batch - 1, b_stride, b_bytes, len) ||
      !inside(c_off, batch, c_bytes, 0, len)) {
    char msg[160];
    snprintf(msg, sizeof msg, "gemm: an operand lies outside the heap (%lld bytes)", (long long)len);
    return throw_error(env, "range", msg);
  }
  float *c = (float *)(heap + c_off);
  if (k == 0) {
    memset(c, 0, (size_t)(batch * c_bytes)); /* an empty sum */
  } else {
    const int lda = (int)(ta ? m : k), ldb = (int)(tb ? k : n), ldc = (int)n;
    for (int64_t i = 0; i < batch; i++) {
      const float *a = (const float *)(heap + a_off + i * a_stride);
      const float *b = (const float *)(heap + b_off + i * b_stride);
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, a,
                  lda, b, ldb, 0.0f, c + i * m * n, ldc);
    }
  }
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

/*
 * The Adam update. Compiled with -ffp-contract=off (no fused multiply-adds) and -fno-math-errno
 * (so that sqrtf vectorizes; it is still the correctly rounded IEEE square root): every operation
 * is one float32 operation, as in the wasm kernel, whatever the vector width. target_clones builds
 * one copy per instruction set and picks the best the CPU has when the addon loads, so an addon
 * built on one x86-64 machine still runs on an older one.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void adam_update(const float *restrict param, const float *restrict grad, float *restrict m, float *restrict v,
                        float *restrict out, int64_t n, const float *s) {
  const float beta1 = s[0], one_minus_beta1 = s[1], beta2 = s[2], one_minus_beta2 = s[3];
  const float one_minus_beta1_power = s[4], one_minus_beta2_power = s[5], epsilon = s[6], neg_lr = s[7];
  for (int64_t i = 0; i < n; i++) {
    const float g = grad[i];
    const float mi = m[i] * beta1 + g * one_minus_beta1;
    const float vi = v[i] * beta2 + (g * g) * one_minus_beta2;
    m[i] = mi;
    v[i] = vi;
    const float denominator = sqrtf(vi / one_minus_beta2_power) + epsilon;
    out[i] = ((mi / one_minus_beta1_power) / denominator) * neg_lr + param[i];
  }
}

/*
 * The arguments of an elementwise heap kernel: the heap, `count` byte offsets of float32 arrays
 * (the last `outputs` of them written), n, then `scalars` numbers. Every array must lie inside the
 * heap and be 4-byte aligned, and the written ones must not overlap any other. On a bad argument
 * it throws (returns false).
 */
static bool heap_args(napi_env env, napi_callback_info info, const char *fn, const char *const *names, int count, int outputs, int scalars,
                      float **arrays, int64_t *n_out, float *scalar_values) {
  napi_value argv[24];
  size_t argc = 24;
  char msg[192];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if ((int)argc != 2 + count + scalars) {
    snprintf(msg, sizeof msg, "%s: expected %d arguments (heap, %d offsets, n%s)", fn, 2 + count + scalars, count, scalars ? ", scalars" : "");
    throw_error(env, "type", msg);
    return false;
  }
  uint8_t *heap = NULL;
  size_t heap_length = 0;
  if (!get_heap(env, argv[0], &heap, &heap_length)) {
    snprintf(msg, sizeof msg, "%s: heap must be an ArrayBuffer or a typed array", fn);
    throw_error(env, "type", msg);
    return false;
  }
  int64_t off[16], n;
  for (int i = 0; i <= count; i++) {
    if (!get_count(env, argv[1 + i], i < count ? &off[i] : &n)) {
      snprintf(msg, sizeof msg, "%s: %s must be a non-negative integer", fn, i < count ? names[i] : "n");
      throw_error(env, "type", msg);
      return false;
    }
  }
  int64_t bytes;
  if (__builtin_mul_overflow(n, 4, &bytes)) {
    snprintf(msg, sizeof msg, "%s: n is too large", fn);
    throw_error(env, "range", msg);
    return false;
  }
  for (int i = 0; i < count; i++) {
    if (off[i] & 3) {
      snprintf(msg, sizeof msg, "%s: offsets must be multiples of 4 bytes (float32)", fn);
      throw_error(env, "range", msg);
      return false;
    }
    if (!inside(off[i], 0, 0, bytes, (int64_t)heap_length)) {
      snprintf(msg, sizeof msg, "%s: %s lies outside the heap (%lld bytes)", fn, names[i], (long long)heap_length);
      throw_error(env, "range", msg);
      return false;
    }
  }
  for (int i = count - outputs; i < count && n > 0; i++) {
    for (int j = 0; j < count; j++) {
      if (i != j && off[i] < off[j] + bytes && off[j] < off[i] + bytes) {
        snprintf(msg, sizeof msg, "%s: %s must not overlap %s", fn, names[i], names[j]);
        throw_error(env, "range", msg);
        return false;
      }
    }
  }
  for (int i = 0; i < scalars; i++) {
    double d;
    if (napi_get_value_double(env, argv[2 + count + i], &d) != napi_ok) {
      snprintf(msg, sizeof msg, "%s: the scalars must be numbers", fn);
      throw_error(env, "type", msg);
      return false;
    }
    scalar_values[i] = (float)d;
  }
  for (int i = 0; i < count; i++) arrays[i] = (float *)(heap + off[i]);
  *n_out = n;
  return true;
}

static napi_value undefined_value(napi_env env) {
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

static napi_value adam(napi_env env, napi_callback_info info) {
  static const char *const names[5] = {"param", "grad", "m", "v", "out"};
  float *a[5], scalars[8];
  int64_t n;
  if (!heap_args(env, info, "adam", names, 5, 3, 8, a, &n, scalars)) return NULL;
  adam_update(a[0], a[1], a[2], a[3], a[4], n, scalars);
  return undefined_value(env);
}

/*
 * exp(−|ℓ|) as the wasm kernel computes it: y = max(−|ℓ|, −87) = k·ln 2 + r with k = round(y·log2 e)
 * (ties to even) and ln 2 in two parts, e^r by Cephes' degree-7 polynomial for expf (Horner),
 * 2^k added to the exponent bits, and 0 where −|ℓ| < −87. One float32 operation per step.
 */
static inline float exp_neg_abs(float l) {
  const float a = -fabsf(l);
  const float y = a > -87.0f ? a : -87.0f;
  const float m = rintf(y * 1.4426950408889634f);
  const float r = (y - m * 0.693359375f) - m * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = ((p * r) * r + r) + 1.0f;
  uint32_t bits;
  memcpy(&bits, &e, 4);
  bits += (uint32_t)(int32_t)m << 23;
  float t;
  memcpy(&t, &bits, 4);
  return a >= -87.0f ? t : 0.0f;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void bernoulli_term(const float *restrict logits, const float *restrict x, float *restrict out, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float l = logits[i];
    const float t = exp_neg_abs(l);
    /* log1p(t) = 2s·Σ z^i/(2i+1), s = t/(2+t), z = s² */
    const float s = t / (2.0f + t);
    const float z = s * s;
    float h = (float)(1.0 / 15);
    h = h * z + (float)(1.0 / 13);
    h = h * z + (float)(1.0 / 11);
    h = h * z + (float)(1.0 / 9);
    h = h * z + (float)(1.0 / 7);
    h = h * z + (float)(1.0 / 5);
    h = h * z + (float)(1.0 / 3);
    h = h * z + 1.0f;
    out[i] = x[i] * l - ((l > 0.0f ? l : 0.0f) + (h * s) * 2.0f);
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void bernoulli_term_grad(const float *restrict logits, const float *restrict x, const float *restrict dy, float *restrict out, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float l = logits[i];
    const float t = exp_neg_abs(l);
    const float u = 1.0f / (1.0f + t);
    const float sigma = l >= 0.0f ? u : t * u;
    out[i] = (x[i] - sigma) * dy[i];
  }
}

static napi_value bernoulli_term_js(napi_env env, napi_callback_info info) {
  static const char *const names[3] = {"logits", "x", "out"};
  float *a[3];
  int64_t n;
  if (!heap_args(env, info, "bernoulliTerm", names, 3, 1, 0, a, &n, NULL)) return NULL;
  bernoulli_term(a[0], a[1], a[2], n);
  return undefined_value(env);
}

static napi_value bernoulli_term_grad_js(napi_env env, napi_callback_info info) {
  static const char *const names[4] = {"logits", "x", "dy", "out"};
  float *a[4];
  int64_t n;
  if (!heap_args(env, info, "bernoulliTermGrad", names, 4, 1, 0, a, &n, NULL)) return NULL;
  bernoulli_term_grad(a[0], a[1], a[2], a[3], n);
  return undefined_value(env);
}

static void set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value s;
  if (napi_create_string_utf8(env, value ? value : "", NAPI_AUTO_LENGTH, &s) == napi_ok) napi_set_named_property(env, obj, key, s);
}

static void set_int(napi_env env, napi_value obj, const char *key, int value) {
  napi_value x;
  if (napi_create_int32(env, value, &x) == napi_ok) napi_set_named_property(env, obj, key, x);
}

static napi_value info(napi_env env, napi_callback_info cb) {
  (void)cb;
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  set_string(env, obj, "config", openblas_get_config());
  set_string(env, obj, "corename", openblas_get_corename());
  set_int(env, obj, "threads", openblas_get_num_threads());
  /* 0: sequential build, 1: pthreads, 2: OpenMP */
  set_int(env, obj, "parallel", openblas_get_parallel());
  return obj;
}

static napi_value set_threads(napi_env env, napi_callback_info cb) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, cb, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int64_t n;
  if (argc != 1 || !get_count(env, argv[0], &n) || n < 1 || n > 1024) return throw_error(env, "range", "setThreads: expected an integer from 1 to 1024");
  openblas_set_num_threads((int)n);
  napi_value out;
  napi_create_int32(env, openblas_get_num_threads(), &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adam", NULL, adam, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bernoulliTerm", NULL, bernoulli_term_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bernoulliTermGrad", NULL, bernoulli_term_grad_js, NULL, NULL, NULL, napi_enumerable, NULL},
      {"info", NULL, info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
