import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/*
 * The `vaelab` CLI uses @vaelab/native when it is there (it is not a dependency of the CLI): used on
 * the wasm backend when VAELAB_NATIVE=1 asks for it (off otherwise), recorded in the log and in meta.json.
 * Runs the built CLI and the built package (npm run build).
 */

const bin = fileURLToPath(new URL('../../../apps/cli/bin/vaelab.js', import.meta.url));
const builtNative = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'vaelab-native-cli-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

let runs = 0;
function train(native: string | undefined, backend = 'wasm', wasmThreads?: string, fused?: string) {
  const dir = join(out, `${native ?? 'unset'}-${backend}-${wasmThreads ?? 'unset'}-${++runs}`);
  const env = { ...process.env };
  delete env.VAELAB_NATIVE;
  delete env.VAELAB_WASM_THREADS;
  delete env.VAELAB_FUSED_KERNELS;
  if (native !== undefined) env.VAELAB_NATIVE = native;
  if (fused !== undefined) env.VAELAB_FUSED_KERNELS = fused;
  if (wasmThreads !== undefined) env.VAELAB_WASM_THREADS = wasmThreads;
  const args = ['train', 'experiment=synthetic_vae', 'data.n_train=64', 'data.n_test=32', 'trainer.epochs=1', 'trainer.batch_size=16', `backend=${backend}`];
  const r = spawnSync(process.execPath, [bin, ...args, '--out', dir], { encoding: 'utf8', env, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`vaelab ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  const experiment = join(dir, 'synthetic_vae');
  const run = join(experiment, readdirSync(experiment)[0]!);
  const read = (f: string) => JSON.parse(readFileSync(join(run, f), 'utf8'));
  return { stdout: r.stdout, meta: read('meta.json'), summary: read('summary.json') };
}

describe('the CLI hook', () => {
  it('needs the built CLI and package', () => {
    expect(existsSync(join(bin, '..', '..', 'dist', 'index.js')), 'build the CLI first: npm run build').toBe(true);
    expect(existsSync(builtNative), 'build @vaelab/native first: npm run build -w @vaelab/native').toBe(true);
  });

  it('uses native matMul on wasm with VAELAB_NATIVE=1, not by default or with 0, and records which in meta.json', () => {
    const on = train('1');
    const off = train(undefined);
    expect(train('0').summary.test).toEqual(off.summary.test);
    expect(on.stdout).toMatch(/^native: matMul by OpenBLAS .*VAELAB_NATIVE=1/m);
    expect(on.meta.backend).toMatchObject({ name: 'wasm' });
    expect(on.meta.backend.package).toMatch(/^@tensorflow\/tfjs-backend-wasm \+ @vaelab\/native \(OpenBLAS/);
    expect(off.stdout).not.toMatch(/^native:/m);
    expect(off.meta.backend).toMatchObject({ requested: 'wasm', name: 'wasm' });
    // with more than one wasm thread, a dense network's matMuls are VAE Lab's kernel (@vaelab/core)
    expect(off.meta.backend.package).toMatch(/^@tensorflow\/tfjs-backend-wasm( \+ VAE Lab matMul)?$/);
    // The same run to float32 rounding (a different summation order in the products).
    expect(Math.abs(on.summary.test_loss - off.summary.test_loss)).toBeLessThan(1e-3 * Math.abs(off.summary.test_loss));
  });

  it('starts wasm on one thread when the matMuls are native, unless VAELAB_WASM_THREADS says otherwise', () => {
    const on = train('1');
    expect(on.stdout).toMatch(/^backend: wasm .*, 1 thread\b/m);
    expect(on.stdout).toMatch(/^native: .*wasm on 1 thread/m);
    expect(on.meta.backend.threads).toBe(1);
    const auto = train('1', 'wasm', 'auto');
    const stock = train(undefined, 'wasm', 'auto');
    expect(auto.meta.backend.threads).toBe(stock.meta.backend.threads);
    expect(auto.stdout).not.toMatch(/wasm on 1 thread/);
    // The thread count does not change the arithmetic.
    expect(auto.summary.test).toEqual(on.summary.test);
  });

  it('brings the fused Bernoulli kernels along unless VAELAB_FUSED_KERNELS=0, and says so', () => {
    const on = train('1');
    expect(on.stdout).toMatch(/^fused kernels: on \(VAELAB_NATIVE=1; VAELAB_FUSED_KERNELS=0 turns them off\)/m);
    expect(on.meta.backend.package).toMatch(/\+ @vaelab\/native \(OpenBLAS .*\) \+ fused kernels \(VAELAB_NATIVE=1\)$/);
    const without = train('1', 'wasm', undefined, '0');
    expect(without.stdout).not.toMatch(/^fused kernels/m);
    expect(without.meta.backend.package).not.toMatch(/fused/);
    // the kernels change the last digits (of some recorded value), not the run
    expect(JSON.stringify(without.summary)).not.toBe(JSON.stringify(on.summary));
    expect(Math.abs(on.summary.test_loss - without.summary.test_loss)).toBeLessThan(1e-3 * Math.abs(without.summary.test_loss));
  });

  it('leaves other backends alone', () => {
    const cpu = train('1', 'cpu');
    expect(cpu.stdout).not.toMatch(/^native:/m);
    expect(cpu.meta.backend.package).toBe('@tensorflow/tfjs-backend-cpu');
  });
});
