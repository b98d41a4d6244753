import * as tf from '@tensorflow/tfjs-core';

/*
 * Multi-threaded wasm under Node (DESIGN §7, notes/performance.md "The threaded wasm build under
 * Node"). @tensorflow/tfjs-backend-wasm ships a threaded SIMD build (Emscripten pthreads on
 * SharedArrayBuffer, an XNNPACK thread pool) but only starts it in browsers. This module starts it
 * under Node with worker_threads, without editing node_modules, through a shim on PRIVATE
 * internals of the 4.22 bundle (dist/tf-backend-wasm.node.js). It is tested against exactly that
 * version and refuses any other (single-threaded then, as before). What it relies on:
 *
 * 1. The flag WASM_HAS_MULTITHREAD_SUPPORT, false under Node, picks the threaded build when set.
 * 2. During start-up Emscripten assigns worker_threads' Worker to globalThis.Worker and then runs
 *    `new Worker(url)` for its pool of pthread workers: a global accessor hands it our class
 *    instead (for the duration of the start-up only).
 * 3. That url is a blob: URL of the pthread worker script, which worker_threads cannot load, and
 *    node:buffer's resolveObjectURL gives the Blob only in the thread that made it: the Blob
 *    travels to the worker in workerData, and a small bootstrap (BOOTSTRAP below) reads and runs it.
 * 4. The worker's 'load' message carries the main script as a Blob too: the bootstrap reads it
 *    before passing the message on, and its importScripts runs the text.
 * 5. That main script is the toString() of a function inside the rollup bundle, which refers to
 *    bundle-level names (require$$0/1/3/4, commonjsGlobal, __values, __read, __spreadArray): the
 *    bootstrap defines them (our own helpers) in the worker's global scope.
 * 6. backend.cc caps the pool at min(n, 8, os.cpus().length / 2), 1 on a 2-core machine: os.cpus
 *    reports enough cores while the backend starts.
 * 7. Emscripten ref()s a worker when it runs a pthread, so the pool keeps the process alive
 *    forever: our workers ignore ref() (they are unref()'d once loaded).
 * Emscripten also allocates 8 pool workers up front, each a Node thread that compiles the module;
 * ours are stand-ins that become real threads only when needed: the n-1 that will run XNNPACK's
 * threads (the last ones created, since the pool hands workers out with pop()) start eagerly so
 * that a failure shows before the backend blocks on them, any other on its first real message.
 *
 * Anything that goes wrong while starting (an unknown version, a worker that fails, a start that
 * takes too long) falls back to the single-threaded SIMD build, with the reason reported.
 */

/** The environment variable that sets the wasm thread count (a positive integer, or `auto`). */
export const WASM_THREADS_ENV = 'VAELAB_WASM_THREADS';
/** The most wasm threads used (Emscripten's pre-started pool holds 8 workers; XNNPACK's own cap is 8). */
export const MAX_WASM_THREADS = 8;
/** The only @tensorflow/tfjs-backend-wasm version whose private internals the threaded shim is tested against. */
export const WASM_THREADS_TESTED_VERSION = '4.22.0';
/**
 * How long (ms) the threaded build may take to start before the single-threaded build is used
 * instead: 30 s, or the environment variable VAELAB_WASM_THREADS_TIMEOUT_MS.
 */
function startTimeoutMs(): number {
  const raw = Number(env()[`${WASM_THREADS_ENV}_TIMEOUT_MS`]);
  return Number.isFinite(raw) && raw > 0 ? raw : 30_000;
}

export interface WasmThreadsSetting {
  /** Threads to ask for (1 = the single-threaded SIMD build). */
  threads: number;
  /** Where the number came from. */
  source: 'option' | 'env' | 'default';
  /** Set when the number asked for was changed (clamped to MAX_WASM_THREADS). */
  note?: string;
}

function env(): Record<string, string | undefined> {
  return typeof process !== 'undefined' && process.env ? process.env : {};
}

/** Cores of this machine (os.availableParallelism() in Node; navigator.hardwareConcurrency elsewhere; 1 when unknown). */
function cores(): number {
  try {
    if (typeof process !== 'undefined' && typeof process.getBuiltinModule === 'function') {
      return process.getBuiltinModule('node:os').availableParallelism();
    }
  } catch {
    // fall through
  }
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency && nav.hardwareConcurrency > 0 ? nav.hardwareConcurrency : 1;
}

/**
 * The wasm thread count to use: `option` when given, else the environment variable
 * VAELAB_WASM_THREADS, else the number of cores; `auto` (or an empty variable) means the number of
 * cores; at most MAX_WASM_THREADS. Throws on anything that is not a positive integer or `auto`.
 */
export function resolveWasmThreads(option?: number | 'auto', environment: Record<string, string | undefined> = env()): WasmThreadsSetting {
  let asked: number | 'auto';
  let source: WasmThreadsSetting['source'];
  if (option !== undefined) {
    if (option !== 'auto' && !(Number.isInteger(option) && option >= 1)) {
      throw new Error(`wasmThreads must be a positive integer or 'auto', got ${String(option)}`);
    }
    asked = option;
    source = 'option';
  } else {
    const raw = environment[WASM_THREADS_ENV]?.trim();
    if (raw === undefined || raw === '') {
      asked = 'auto';
      source = 'default';
    } else if (raw.toLowerCase() === 'auto') {
      asked = 'auto';
      source = 'env';
    } else if (/^\d+$/.test(raw) && Number(raw) >= 1) {
      asked = Number(raw);
      source = 'env';
    } else {
      throw new Error(`${WASM_THREADS_ENV} must be a positive integer or 'auto', got '${raw}'`);
    }
  }
  const n = asked === 'auto' ? cores() : asked;
  if (n > MAX_WASM_THREADS) {
    return { threads: MAX_WASM_THREADS, source, ...(asked === 'auto' ? {} : { note: `${n} threads asked for, at most ${MAX_WASM_THREADS} are used` }) };
  }
  return { threads: Math.max(1, n), source };
}

/** What the wasm backend runs with, once started. */
export interface WasmThreadsState {
  /** Threads asked for. */
  requested: number;
  /** Threads in use (XNNPACK's pool size, or VAE Lab's matMul threads with `matMul: 'vaelab'`; 1 with the single-threaded build). */
  threads: number;
  /**
   * 'vaelab': the threaded build runs XNNPACK on one thread and `@vaelab/core`'s own matMul kernel
   * on `threads` threads (wasm-matmul.ts); 'xnnpack' (or absent): XNNPACK on `threads` threads.
   */
  matMul?: 'vaelab' | 'xnnpack';
  /** Why fewer threads than asked for are in use (the threaded build did not start, usually). */
  fallback?: string;
}

/** The parts of @tensorflow/tfjs-backend-wasm's exports this module uses. */
interface WasmPackage {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
  version_wasm?: string;
}

type BackendFactory = () => tf.KernelBackend | Promise<tf.KernelBackend>;

const WASM_PRIORITY = 2; // the priority tfjs-backend-wasm registers 'wasm' with

let wrapped: { want: number; matMul: 'vaelab' | 'xnnpack'; state?: WasmThreadsState } | undefined;
let wasmPackage: WasmPackage | undefined;

function inNode(): boolean {
  return typeof process !== 'undefined' && typeof process.getBuiltinModule === 'function' && !!process.versions?.node;
}

function message(e: unknown): string {
  const text = e instanceof Error ? e.message : typeof e === 'object' && e && 'message' in e ? String((e as { message: unknown }).message) : String(e);
  return text.split('\n')[0]!.slice(0, 200);
}

/**
 * Prepare the 'wasm' backend (whose package must already be imported) to start with `threads`
 * threads: wraps its registered factory, so the next `tf.setBackend('wasm')` starts the threaded
 * build (or, for 1 thread or when that fails, the single-threaded SIMD build). Does nothing once
 * the backend has started: a process has one wasm module. Call `wasmThreadsState()` after the
 * backend started for what it runs with.
 */
export async function prepareWasmThreads(threads: number, matMul: 'vaelab' | 'xnnpack' = 'xnnpack'): Promise<void> {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`wasm threads must be a positive integer, got ${threads}`);
  const pkg = (await import(/* @vite-ignore */ PACKAGE)) as unknown as WasmPackage;
  wasmPackage = pkg;
  if (!inNode()) return; // in a browser tfjs decides on threads itself (cross-origin isolation)
  if (tf.findBackend('wasm')) {
    // Started already: by us (the state says how), or by someone else (tf.ready() picks wasm too).
    if (!wrapped?.state) {
      const used = pkg.getThreadsCount();
      const fallback = threads > used ? 'the wasm backend had been started before selectBackend' : undefined;
      wrapped = { want: threads, matMul: 'xnnpack', state: { requested: threads, threads: used, ...(fallback ? { fallback } : {}) } };
    }
    return;
  }
  if (wrapped) {
    wrapped.want = threads;
    wrapped.matMul = matMul;
    return;
  }
  const stock = tf.findBackendFactory('wasm') as BackendFactory | null;
  if (!stock) return;
  const w: { want: number; matMul: 'vaelab' | 'xnnpack'; state?: WasmThreadsState } = { want: threads, matMul };
  const factory = async (): Promise<tf.KernelBackend> => {
    const requested = w.want;
    let fallback: string | undefined;
    if (requested > 1) {
      const refused = unsupported(pkg);
      if (refused) fallback = refused;
      else {
        try {
          // 'vaelab': the threaded build (a shared heap) with XNNPACK on one thread; the matMul
          // kernel of wasm-matmul.ts brings its own workers (installed by selectBackend)
          const own = w.matMul === 'vaelab';
          const backend = await startThreaded(stock, pkg, own ? 1 : requested);
          const threads = own ? requested : pkg.getThreadsCount();
          const short = threads < requested ? `XNNPACK started ${threads} of the ${requested} threads asked for` : undefined;
          w.state = { requested, threads, matMul: w.matMul, ...(short ? { fallback: short } : {}) };
          return backend;
        } catch (e) {
          fallback = message(e);
        }
      }
    }
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    const backend = await stock();
    w.state = { requested, threads: 1, ...(fallback ? { fallback } : {}) };
    return backend;
  };
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', factory, WASM_PRIORITY);
  wrapped = w;
}

/** What the started wasm backend runs with (undefined before it started). */
export function wasmThreadsState(): WasmThreadsState | undefined {
  if (!tf.findBackend('wasm')) return undefined;
  if (wrapped?.state) return wrapped.state;
  try {
    const threads = wasmPackage?.getThreadsCount();
    return threads === undefined ? undefined : { requested: threads, threads };
  } catch {
    return undefined;
  }
}

const PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** Why the threaded build cannot be tried here, or undefined when it can. */
function unsupported(pkg: WasmPackage): string | undefined {
  if (!inNode()) return 'the threaded shim runs in Node only (in a browser tfjs decides itself)';
  if (pkg.version_wasm !== WASM_THREADS_TESTED_VERSION) {
    return `the threaded shim relies on private internals of ${PACKAGE} ${WASM_THREADS_TESTED_VERSION} and found ${pkg.version_wasm ?? 'an unknown version'}`;
  }
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available';
  if (tf.env().getBool('IS_BROWSER')) return 'not in Node';
  return undefined;
}

/**
 * Start tfjs-backend-wasm's threaded SIMD build with `n` threads: the stock factory, with the
 * flag, the Worker class, the core count and the thread count it reads set for the duration.
 * Rejects (after cleaning up every worker it started) when anything fails or the start takes too long.
 */
async function startThreaded(stock: BackendFactory, pkg: WasmPackage, n: number): Promise<tf.KernelBackend> {
  if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) throw new Error('this runtime has no wasm SIMD');
  const os = process.getBuiltinModule('node:os');
  const pool = pthreadPool(n - 1);
  const listenersBefore = {
    uncaughtException: process.listeners('uncaughtException'),
    unhandledRejection: process.listeners('unhandledRejection'),
  };
  const workerBefore = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    get: () => pool.Worker,
    set: () => {}, // Emscripten assigns worker_threads.Worker here (obstacle 2)
  });
  const cpus = os.cpus;
  // backend.cc caps the pool at half the cores (obstacle 6).
  os.cpus = () => {
    const list = cpus();
    const one = list[0] ?? { model: 'unknown', speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } };
    while (list.length < 2 * n) list.push(one);
    return list;
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  pkg.setThreadsCount(n);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ms = startTimeoutMs();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the threaded build did not start within ${ms / 1000} s`)), ms);
  });
  try {
    const backend = await Promise.race([Promise.resolve(stock()), pool.failed, timeout]);
    pool.started();
    return backend;
  } catch (e) {
    pool.terminate();
    // Should the abandoned start still complete, its pool is one thread: no pthread waits for a worker.
    pkg.setThreadsCount(1);
    // The failed Emscripten module's process listeners would outlive it.
    for (const l of process.listeners('uncaughtException')) {
      if (!listenersBefore.uncaughtException.includes(l)) process.removeListener('uncaughtException', l);
    }
    for (const l of process.listeners('unhandledRejection')) {
      if (!listenersBefore.unhandledRejection.includes(l)) process.removeListener('unhandledRejection', l);
    }
    throw e;
  } finally {
    clearTimeout(timer);
    os.cpus = cpus;
    if (workerBefore) Object.defineProperty(globalThis, 'Worker', workerBefore);
    else delete (globalThis as { Worker?: unknown }).Worker;
  }
}

/**
 * The code each pthread worker thread runs first (a worker_threads eval script, CommonJS). It
 * gets the Blob of Emscripten's pthread worker script in workerData, defines the bundle-level
 * names the main script needs, runs the pthread script with a `require` whose worker_threads has
 * a parentPort we feed, and turns the main-script Blob of the 'load' message into text that its
 * importScripts runs. Messages are passed on in order, each after the previous one.
 */
const BOOTSTRAP = `'use strict';
const threads = require('node:worker_threads');
const { EventEmitter } = require('node:events');
const parent = threads.parentPort;
const port = new EventEmitter();
port.postMessage = (message, transfer) => parent.postMessage(message, transfer);
const iterate = (o) => o[Symbol.iterator]();
Object.assign(globalThis, {
  require$$0: require('node:fs'),
  require$$1: require('node:path'),
  require$$3: require('node:perf_hooks'),
  require$$4: require('node:os'),
  commonjsGlobal: globalThis,
  __values: iterate,
  __read: (o, n) => {
    const out = [];
    const it = iterate(o);
    while (n === undefined || out.length < n) {
      const step = it.next();
      if (step.done) break;
      out.push(step.value);
    }
    return out;
  },
  __spreadArray: (to, from) => to.concat(Array.from(from)),
});
const scripts = new Map();
const fail = (e) => setImmediate(() => { throw e; });
const pthreadRequire = (id) => (id === 'worker_threads' || id === 'node:worker_threads' ? { ...threads, parentPort: port } : require(id));
let queue = threads.workerData.script.text().then((code) => {
  new Function('require', '__filename', code)(pthreadRequire, __filename);
  const importScripts = globalThis.importScripts;
  globalThis.importScripts = (url) => {
    if (!scripts.has(url)) return importScripts(url);
    const text = scripts.get(url);
    scripts.delete(url);
    (0, eval)(text);
  };
});
queue.catch(fail);
let loads = 0;
parent.on('message', (message) => {
  queue = queue.then(async () => {
    if (message && message.cmd === 'load' && message.urlOrBlob && typeof message.urlOrBlob.text === 'function') {
      const key = 'vaelab-wasm-main-script-' + loads++;
      scripts.set(key, await message.urlOrBlob.text());
      message.urlOrBlob = key;
    }
    port.emit('message', message);
  });
  queue.catch(fail);
});
`;

interface PthreadPool {
  /** The class Emscripten constructs as `new Worker(url)`. */
  Worker: new (url: string) => unknown;
  /** Rejects when a worker fails (or exits) before `started()`. */
  failed: Promise<never>;
  /** Start-up is over: from now on worker errors go to Emscripten, as in the stock build. */
  started(): void;
  /** Stop every thread this pool started. */
  terminate(): void;
}

/**
 * Emscripten's pthread workers as stand-ins (obstacles 3, 4, 7): each answers the 'load' message
 * as loaded and becomes a real worker_threads Worker running BOOTSTRAP only when it is needed,
 * except the last `eager` ones created, which start at once (they run XNNPACK's threads).
 */
function pthreadPool(eager: number): PthreadPool {
  const threads = process.getBuiltinModule('node:worker_threads');
  const { EventEmitter } = process.getBuiltinModule('node:events');
  const { resolveObjectURL } = process.getBuiltinModule('node:buffer');
  const all: PthreadWorker[] = [];
  let starting = true;
  let decided = false;
  let fail!: (e: Error) => void;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});

  class PthreadWorker extends EventEmitter {
    private readonly script: Blob;
    private real: InstanceType<typeof threads.Worker> | undefined;
    private load: unknown;
    private eager = false;
    /** The real worker's own 'loaded' is not passed on when the stand-in already answered one. */
    private answeredLoaded = false;

    constructor(url: string) {
      super();
      const blob = typeof url === 'string' && url.startsWith('blob:') ? resolveObjectURL(url) : undefined;
      if (!blob) throw new Error(`cannot read the pthread worker script ${String(url).slice(0, 80)} (a blob: URL made in this thread was expected)`);
      URL.revokeObjectURL(url);
      this.script = blob as Blob;
      all.push(this);
    }

    private materialize(): InstanceType<typeof threads.Worker> {
      // The bootstrap is CommonJS: the worker must not inherit --input-type=module (node -e scripts).
      const execArgv = process.execArgv.filter((a, i, all) => !a.startsWith('--input-type') && all[i - 1] !== '--input-type');
      const real = new threads.Worker(BOOTSTRAP, { eval: true, execArgv, workerData: { script: this.script }, name: 'vaelab-wasm-pthread' });
      this.real = real;
      real.on('message', (data: unknown) => {
        if ((data as { cmd?: string } | null)?.cmd === 'loaded') {
          real.unref(); // loaded workers never keep the process alive (obstacle 7)
          if (this.answeredLoaded) return;
        }
        this.emit('message', data);
      });
      real.on('error', (e: Error) => {
        if (starting) fail(new Error(`a pthread worker failed while starting: ${message(e)}`));
        else this.emit('error', e);
      });
      real.on('exit', (code: number) => {
        if (starting) fail(new Error(`a pthread worker exited with code ${code} while starting`));
      });
      if (this.load !== undefined) real.postMessage(this.load);
      return real;
    }

    postMessage(data: unknown, transfer?: readonly unknown[]): void {
      if (this.real) {
        this.real.postMessage(data, transfer as never);
        return;
      }
      if ((data as { cmd?: string } | null)?.cmd === 'load') {
        this.load = data;
        if (!decided) {
          decided = true;
          for (const w of all.slice(Math.max(0, all.length - eager))) w.eager = true;
        }
        if (this.eager) this.materialize();
        else {
          this.answeredLoaded = true;
          setImmediate(() => this.emit('message', { cmd: 'loaded' }));
        }
        return;
      }
      this.materialize().postMessage(data, transfer as never);
    }

    ref(): void {}

    unref(): void {
      this.real?.unref();
    }

    terminate(): Promise<number> {
      return this.real ? this.real.terminate() : Promise.resolve(0);
    }
  }

  return {
    Worker: PthreadWorker,
    failed,
    started: () => {
      starting = false;
    },
    terminate: () => {
      starting = false;
      for (const w of all) void w.terminate().catch(() => {});
    },
  };
}
