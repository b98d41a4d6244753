import * as tf from '@tensorflow/tfjs-core';
import {
  type ComponentKind,
  type ComponentRegistry,
  ComponentConfigError,
  type Dataset,
  type Objective,
  RandomStreams,
  type BackendSelection,
  VaeLabError,
  fusedKernelsEnabled,
  type HeapKernel,
  heapKernel,
  setHeapKernel,
  FUSED_KERNELS_ENV,
  setFusedKernels,
  reportsBitsPerDim,
  selectBackend,
  WASM_THREADS_ENV,
  withValidation,
} from '@vaelab/core';
import { TrainerOptionsError, batchCondition, batchInput, checkTrainerAgainstData } from '@vaelab/trainers';
import { BYTE_LEVELS, type ValidatedDataset, ValidationSplitError, withValidationSplit } from '@vaelab/data';
import { type OriginLookup, describeOrigin, validate } from '@vaelab/config';
import { VaeModel } from '@vaelab/objectives';
import { type RunConfig, runConfigSchema } from './schema.js';

export interface Experiment {
  config: RunConfig;
  backend: BackendSelection;
  streams: RandomStreams;
  /** With a `validation` split when the config's `data.validation` asks for one. */
  dataset: Dataset | ValidatedDataset;
  model: VaeModel;
  objective: Objective;
  optimizer: tf.Optimizer;
  dispose(): void;
}

const COMPONENT_PATHS: [ComponentKind, keyof RunConfig | 'trainer.optimizer'][] = [
  ['data', 'data'],
  ['encoder', 'encoder'],
  ['decoder', 'decoder'],
  ['prior', 'prior'],
  ['posterior', 'posterior'],
  ['likelihood', 'likelihood'],
  ['objective', 'objective'],
  ['optimizer', 'trainer.optimizer'],
];

/** Where a config came from, so that errors point at the override or the file and line. */
export interface ConfigWhere {
  /** The file a config was read from (a run folder's config.yaml, an experiment file). */
  file?: string;
  /** The origin of each value of a composed config (from `composeConfig`). */
  origin?: OriginLookup;
}

/** Prefix a message with where the value at `path` came from: the override, or the file and line. */
export function locate(where: ConfigWhere, path: string, message: string): string {
  const origin = where.origin?.(path.split('.'));
  if (origin) return `${describeOrigin(origin)}: ${message}`;
  return where.file ? `${where.file}: ${message}` : message;
}

/**
 * `data.validation`: a count (integer >= 1) or a fraction in (0, 1) of the training split, carved
 * out by the CLI for every data component (so it is not one of their options); null for none.
 */
function validationSpec(config: RunConfig, where: ConfigWhere = {}): number | null {
  const spec = (config.data as Record<string, unknown>).validation;
  if (spec === undefined || spec === null) return null;
  if (typeof spec !== 'number' || !Number.isFinite(spec) || spec <= 0 || (spec >= 1 && !Number.isInteger(spec))) {
    throw new ComponentConfigError(
      locate(where, 'data.validation', `data.validation: expected a count (an integer >= 1) or a fraction in (0, 1) of the training split, or null; got ${JSON.stringify(spec)}`),
      'data.validation',
    );
  }
  return spec;
}

/** The data block as its component sees it: without the CLI's own `validation` key. */
function dataBlock(config: RunConfig): Record<string, unknown> {
  const { validation: _, ...rest } = config.data as Record<string, unknown>;
  return rest as { name: string };
}

/**
 * The config path of the first option a component's schema rejects (`prior.components`), so that
 * an error names the override or file line that set it rather than the whole block.
 */
function rejectedOption(registry: ComponentRegistry, kind: ComponentKind, block: unknown, path: string): string {
  try {
    const { name, ...rest } = block as Record<string, unknown>;
    const def = registry.get(kind, String(name), path);
    const parsed = def.schema.strict().safeParse(rest);
    const issue = parsed.success ? undefined : parsed.error.issues[0];
    if (!issue) return path;
    // An unknown key is reported on the block with the key's name in `keys`.
    const keys = (issue as { keys?: string[] }).keys;
    const tail = [...issue.path.map(String), ...(keys?.length ? [keys[0]!] : [])];
    return tail.length ? `${path}.${tail.join('.')}` : path;
  } catch {
    return path;
  }
}

/**
 * Check a resolved config completely — its own schema and every component's options — without
 * creating anything, so that bad input fails before a run folder exists. Errors name the
 * command-line override or the file (and line) the bad value came from.
 */
export function checkConfig(raw: unknown, registry: ComponentRegistry, where: ConfigWhere | string = {}): RunConfig {
  const at: ConfigWhere = typeof where === 'string' ? { file: where } : where;
  const config = validate(runConfigSchema, raw, at);
  validationSpec(config, at);
  for (const [kind, path] of COMPONENT_PATHS) {
    const block = path === 'trainer.optimizer' ? config.trainer.optimizer : path === 'data' ? dataBlock(config) : config[path];
    try {
      registry.resolve(kind, block, path);
    } catch (e) {
      if (!(e instanceof ComponentConfigError)) throw e;
      const precise = e.configPath === path ? rejectedOption(registry, kind, block, path) : e.configPath;
      throw new ComponentConfigError(locate(at, precise, e.message), e.configPath);
    }
  }
  return config;
}

/**
 * One forward pass and loss on two training examples, before any run folder exists: shape
 * mismatches between data, networks and distributions surface here as errors that name the
 * component and the shapes. It draws from its own stream, so the run's streams are untouched.
 */
function preflight(dataset: Dataset, model: VaeModel, objective: Objective, streams: RandomStreams): void {
  const noise = streams.stream('preflight');
  const n = Math.min(2, dataset.train.size);
  if (n === 0) throw new VaeLabError('data: the training split is empty');
  // With validation on, distributions check their parameters' values (σ > 0, probabilities in
  // [0, 1]) once, here, rather than on every step.
  withValidation(() =>
    tf.tidy(() => {
      model.setStep(0);
      const indices = Array.from({ length: n }, (_, i) => i);
      const x = batchInput(dataset, dataset.train, indices, noise, true);
      // training: false, so that the objective's training-only updates (a VQ codebook's EMA
      // statistics, dead-code resets) do not run before training starts.
      objective.loss(model.forward(x, noise, batchCondition(model, dataset.train, indices)), { step: 0, epoch: 0, training: false, noise });
    }),
  );
}

/**
 * The number of classes a conditional run one-hot encodes: the dataset's `numClasses`, else one
 * more than its largest label. A dataset without labels cannot condition on them.
 */
function conditionClasses(dataset: Dataset, where: ConfigWhere): number {
  const splits = [dataset.train, dataset.test];
  if (splits.some((s) => !s.labels)) {
    throw new ComponentConfigError(
      locate(where, 'conditional', `conditional: true needs labels, and dataset '${dataset.name}' has none; set conditional: false or use a labelled dataset (mnist, fashion_mnist)`),
      'conditional',
    );
  }
  if (dataset.numClasses) return dataset.numClasses;
  let most = -1;
  for (const s of splits) for (const l of s.labels!) most = Math.max(most, l);
  return most + 1;
}

/**
 * @vaelab/native when the user asks for it with VAELAB_NATIVE=1 (optional, not a dependency): the
 * wasm backend's matMul computed by OpenBLAS. Opt-in because it changes the arithmetic (another
 * summation order), so installing a package never silently moves a run's results. Its use is
 * logged and recorded in meta.json (backend.package); when it cannot be used the log says why.
 */
type NativeInstall = { ok: true; blas: string; threads: number } | { ok: false; reason: string };
interface NativePackage {
  nativeAvailable(): { ok: true } | { ok: false; reason: string };
  installNative(): NativeInstall;
  /** Absent before @vaelab/native had it; without a kernel the built addon predates. */
  nativeHeapKernels?(): Partial<Record<'adam' | 'bernoulliTerm' | 'bernoulliTermGrad', HeapKernel>>;
}

/**
 * VAELAB_NATIVE=1: @vaelab/native, loaded before the backend starts, or why it cannot be used;
 * undefined when not asked for. It is not a dependency of the CLI: imported by name when asked.
 */
async function loadNative(): Promise<{ pkg: NativePackage } | { reason: string } | undefined> {
  if (process.env.VAELAB_NATIVE !== '1') return undefined;
  try {
    const name = '@vaelab/native'; // a variable: optional, never bundled or resolved at build time
    const pkg = (await import(/* @vite-ignore */ name)) as NativePackage;
    const available = pkg.nativeAvailable();
    return available.ok ? { pkg } : { reason: available.reason };
  } catch (e) {
    return { reason: `@vaelab/native is not installed (${String((e as Error)?.message ?? e).split('\n')[0]})` };
  }
}

/**
 * Wasm's thread count when the matMuls will be native and VAELAB_WASM_THREADS does not say: 1.
 * OpenBLAS then computes the products (on its own thread), and tfjs-wasm's pool only adds a
 * round trip to each small kernel: a mnist_vae step takes ~0.9 ms less on one thread (see
 * experiments/README.md, Speed). The results are the same for any thread count.
 */
function nativeWasmThreads(native: Awaited<ReturnType<typeof loadNative>>): { wasmThreads?: number } {
  return native && 'pkg' in native && !process.env[WASM_THREADS_ENV]?.trim() ? { wasmThreads: 1 } : {};
}

/**
 * Who computes matMuls on a multi-threaded wasm backend: VAE Lab's own kernel ('vaelab': the same
 * bits, no per-call packing, on the wasm threads, with XNNPACK on one thread) for dense networks,
 * XNNPACK for anything with convolutions (which XNNPACK's thread pool speeds up). Not with the
 * native matMul. VAELAB_WASM_MATMUL overrides it (resolved in @vaelab/core's selectBackend).
 */
function wasmMatMul(config: RunConfig, native: Awaited<ReturnType<typeof loadNative>>): { wasmMatMul?: 'vaelab' } {
  if (native && 'pkg' in native) return {};
  return config.encoder.name === 'mlp' && config.decoder.name === 'mlp' ? { wasmMatMul: 'vaelab' } : {};
}

function useNative(backend: BackendSelection, native: Awaited<ReturnType<typeof loadNative>>, log: (line: string) => void): BackendSelection {
  const r: NativeInstall | null = backend.name !== 'wasm' || !native ? null : 'pkg' in native ? native.pkg.installNative() : { ok: false, reason: native.reason };
  // VAE Lab's own wasm kernels natively (the same bits), those the addon has: Adam, the Bernoulli
  // term (used when the fused kernels are on; useFusedKernels says so). Set, or cleared, per build.
  const kernels = r?.ok && native && 'pkg' in native ? (native.pkg.nativeHeapKernels?.() ?? {}) : {};
  for (const name of ['adam', 'bernoulliTerm', 'bernoulliTermGrad'] as const) setHeapKernel(name, kernels[name] ?? null);
  if (!r) return backend;
  if (!r.ok) {
    log(`native: not used: ${r.reason}`);
    return backend;
  }
  const adamNote = kernels.adam ? '; the fused Adam update in C' : '';
  const threadsNote = nativeWasmThreads(native).wasmThreads ? '; wasm on 1 thread (its pool only slows the other kernels; VAELAB_WASM_THREADS overrides)' : '';
  log(`native: matMul by ${r.blas}, ${r.threads} thread(s)${adamNote} (@vaelab/native, VAELAB_NATIVE=1)${threadsNote}`);
  return { ...backend, package: `${backend.package} + @vaelab/native (${r.blas}; ${r.threads} thread(s))` };
}

/**
 * The fused wasm kernels for likelihood terms (@vaelab/likelihoods' Bernoulli term, one pass forward
 * and one backward): with VAELAB_FUSED_KERNELS=1, and with VAELAB_NATIVE=1 unless
 * VAELAB_FUSED_KERNELS=0. They move a run's losses in the last digits, so the default install
 * leaves them off; the native path changes the last digits anyway (OpenBLAS sums in another order),
 * so it is the fast path as a whole. Logged and recorded in meta.json (backend.package).
 */
function useFusedKernels(backend: BackendSelection, log: (line: string) => void): BackendSelection {
  const withNative = !!backend.package?.includes('@vaelab/native') && !process.env[FUSED_KERNELS_ENV]?.trim();
  setFusedKernels(withNative ? true : null); // set (or cleared) on every build: the setting is per process
  if (backend.name !== 'wasm' || !fusedKernelsEnabled()) return backend;
  const why = withNative ? 'VAELAB_NATIVE=1' : 'VAELAB_FUSED_KERNELS=1';
  const inC = heapKernel('bernoulliTerm') ? ' (in C, @vaelab/native)' : '';
  log(`fused kernels: on (${why}${withNative ? '; VAELAB_FUSED_KERNELS=0 turns them off' : ''}): the Bernoulli term runs as one fused pass forward and one backward${inC}`);
  return { ...backend, package: `${backend.package} + fused kernels (${why})` };
}

/**
 * Select the backend and create every component from a checked config. The encoder's output and
 * the decoder's output are sized from what the posterior and the likelihood say they need.
 */
export async function buildExperiment(
  config: RunConfig,
  registry: ComponentRegistry,
  cwd: string,
  log: (line: string) => void,
  where: ConfigWhere = {},
): Promise<Experiment> {
  const native = await loadNative();
  const backend = useFusedKernels(useNative(await selectBackend(config.backend, log, { ...nativeWasmThreads(native), ...wasmMatMul(config, native) }), native, log), log);
  const streams = new RandomStreams(config.seed);
  const base = { streams, cwd };
  let dataset: Dataset | ValidatedDataset = await registry.build('data', dataBlock(config) as RunConfig['data'], base, 'data');
  const validation = validationSpec(config, where);
  try {
    if (validation !== null) dataset = withValidationSplit(dataset, validation, config.seed);
    // Settings that would run zero steps or cannot fit the data fail here, before a run folder exists.
    checkTrainerAgainstData(config.trainer, dataset.train.size, { validationSize: 'validation' in dataset ? dataset.validation.size : null });
  } catch (e) {
    if (e instanceof ValidationSplitError) throw new ComponentConfigError(locate(where, 'data.validation', `data.validation: ${e.message}`), 'data.validation');
    if (e instanceof TrainerOptionsError) throw new ComponentConfigError(locate(where, e.path, e.message), e.path);
    throw e;
  }
  const dataShape = dataset.shape;
  const latentDim = config.latent_dim;
  const posterior = registry.build('posterior', config.posterior, { ...base, latentDim }, 'posterior');
  const likelihood = registry.build('likelihood', config.likelihood, { ...base, dataShape, levels: dataset.levels }, 'likelihood');
  if (likelihood.checkData) {
    for (const [split, data] of [['train', dataset.train], ['test', dataset.test]] as const) {
      try {
        const info = { split, dataset: dataset.name, levels: dataset.levels };
        // An 8-bit split holds only the 256 levels k/255, so checking those checks the data without
        // building its float32 copy; when a level fails, x itself is checked, for the exact place.
        if (data.bytes) {
          try {
            likelihood.checkData(BYTE_LEVELS, info);
          } catch {
            likelihood.checkData(data.x, info);
          }
        } else {
          likelihood.checkData(data.x, info);
        }
      } catch (e) {
        likelihood.dispose();
        posterior.dispose();
        throw e;
      }
    }
  }
  const objective = registry.build('objective', config.objective, { ...base, dataShape, latentDim, discrete: reportsBitsPerDim(likelihood, dataset.levels) }, 'objective');
  if (objective.needsReparameterization && !posterior.reparameterized) {
    throw new ComponentConfigError(
      `objective '${config.objective.name}' needs reparameterized samples, but posterior '${config.posterior.name}' has none`,
      'objective',
    );
  }
  // A conditional VAE: the encoder and decoder take one-hot labels of numClasses classes.
  const numClasses = config.conditional ? conditionClasses(dataset, where) : 0;
  const cond = numClasses > 0 ? { condDim: numClasses } : {};
  // A network that cannot produce the shapes (too many stride-2 stages for the image) says so
  // with the override or file line of the option.
  const located = <T>(build: () => T): T => {
    try {
      return build();
    } catch (e) {
      if (e instanceof ComponentConfigError) throw new ComponentConfigError(locate(where, e.configPath, e.message), e.configPath);
      throw e;
    }
  };
  const encoder = located(() =>
    registry.build('encoder', config.encoder, { ...base, inputShape: dataShape, outputShape: posterior.paramShape({ dim: latentDim }), ...cond }, 'encoder'),
  );
  const decoder = located(() =>
    registry.build('decoder', config.decoder, { ...base, latentDim, outputShape: likelihood.paramShape(dataShape), ...cond }, 'decoder'),
  );
  const prior = registry.build('prior', config.prior, { ...base, latentDim, dataShape }, 'prior');
  const model = new VaeModel(
    { encoder, posterior, decoder, likelihood, prior, latentDim, dataShape, ...(numClasses > 0 ? { numClasses } : {}) },
    config.posterior.name,
  );
  const optimizer = registry.build('optimizer', config.trainer.optimizer, base, 'trainer.optimizer');
  try {
    preflight(dataset, model, objective, streams);
  } catch (e) {
    model.dispose();
    optimizer.dispose();
    throw e;
  }
  return {
    config,
    backend,
    streams,
    dataset,
    model,
    objective,
    optimizer,
    dispose() {
      model.dispose();
      optimizer.dispose();
    },
  };
}
