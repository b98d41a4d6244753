import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@vaelab/core';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, CheckpointWriteError } from './checkpoint-errors.js';
import { CheckpointStore, checkpointSchema, findCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint-store.js';
import { checkpointTestDirs, disposeParts, snapshot, stateAt, tinyParts, trainSteps } from './checkpoint-test-helpers.js';
import { type FileOp, setCheckpointFaultHook } from './durable-fs.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const here = fileURLToPath(new URL('.', import.meta.url));
const tempRoot = checkpointTestDirs('vaelab-ckpt-store-');

function tempDir(): string {
  return join(tempRoot(), 'checkpoints');
}

const temps = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('.tmp-')) : []);
const pointerText = (dir: string) => (existsSync(join(dir, 'latest.json')) ? readFileSync(join(dir, 'latest.json'), 'utf8') : null);

/** A store holding checkpoints at `steps` (training one step between them); snapshots by step. */
async function storeWith(steps: number[], opts: ConstructorParameters<typeof CheckpointStore>[1] = {}) {
  const dir = tempDir();
  const store = new CheckpointStore(dir, opts);
  const parts = tinyParts(1);
  const snaps = new Map<number, unknown>();
  for (const step of steps) {
    trainSteps(parts, 1);
    await store.save(parts, stateAt(step), { reason: 'step' });
    snaps.set(step, await snapshot(parts));
  }
  return { dir, store, parts, snaps };
}

/** Load into a fresh model; returns what was loaded and whether the model matches `snaps`. */
async function loadFresh(dir: string) {
  const target = tinyParts(99);
  try {
    const loaded = await new CheckpointStore(dir).load(target);
    return { loaded, snap: await snapshot(target) };
  } finally {
    disposeParts(target);
  }
}

function errnoError(code: string): Error {
  return Object.assign(new Error(`${code}: injected`), { code });
}

describe('checkpointSchema', () => {
  it('has the documented defaults, describes every option and rejects unknown ones', () => {
    expect(checkpointSchema.parse({})).toEqual({ every_steps: null, every_minutes: 10, keep_last: 2, keep_best: 1, metric: null, mode: 'min' });
    for (const [key, option] of Object.entries(checkpointSchema.shape)) expect(option.description, key).toBeTruthy();
    expect(() => checkpointSchema.parse({ keep_lats: 3 })).toThrow();
    expect(() => checkpointSchema.parse({ keep_last: 0 })).toThrow();
    expect(() => checkpointSchema.parse({ every_steps: 0 })).toThrow();
    expect(() => checkpointSchema.parse({ mode: 'best' })).toThrow();
  });
});

describe('CheckpointStore', () => {
  it('round trip is bit-exact: variables, Adam slots and its hidden scalars, streams, state, extra', async () => {
    const { dir, parts } = await storeWith([]);
    trainSteps(parts, 7);
    const store = new CheckpointStore(dir);
    const saved = await store.save(parts, stateAt(7), { reason: 'epoch', extra: { note: 'x' } });
    expect(saved).toMatchObject({ name: 'step-00000007', path: join(dir, 'step-00000007'), removed: [], warnings: [] });
    expect(readdirSync(dir).sort()).toEqual(['latest.json', 'step-00000007']);
    expect(readdirSync(saved.path).sort()).toEqual(['manifest.json', 'weights.bin']);

    const target = tinyParts(42);
    const loaded = await new CheckpointStore(dir).load(target);
    expect(loaded).toMatchObject({ state: stateAt(7), extra: { note: 'x' }, name: 'step-00000007', warnings: [] });
    expect(await snapshot(target)).toEqual(await snapshot(parts));
    // Both continue identically (Adam's β powers included).
    trainSteps(parts, 3);
    trainSteps(target, 3);
    expect(await snapshot(target)).toEqual(await snapshot(parts));
    expect(store.latest()).toMatchObject({ name: 'step-00000007', step: 7, epoch: 0, reason: 'epoch', legacy: false });
    expect(findCheckpoint(dir)).toBe(saved.path);
    disposeParts(target);
    disposeParts(parts);
  });

  it('returns null when there is no checkpoint at all', async () => {
    const dir = tempDir();
    const parts = tinyParts(1);
    expect(await new CheckpointStore(dir).load(parts)).toBeNull();
    mkdirSync(dir, { recursive: true });
    expect(await new CheckpointStore(dir).load(parts)).toBeNull();
    expect(CheckpointStore.exists(dir)).toBe(false);
    expect(findCheckpoint(dir)).toBeNull();
    disposeParts(parts);
  });

  const corruptions: [string, (ckpt: string) => void, RegExp][] = [
    [
      'weights overwritten with garbage of the right size',
      (c) => writeFileSync(join(c, 'weights.bin'), Buffer.alloc(statSync(join(c, 'weights.bin')).size, 0x5a)),
      /weights\.bin: sha256 mismatch \(file changed after it was written\)/,
    ],
    ['truncated weights', (c) => truncateSync(join(c, 'weights.bin'), 20), /weights\.bin: 20 bytes, manifest says \d+ \(truncated\)/],
    ['empty weights', (c) => truncateSync(join(c, 'weights.bin'), 0), /weights\.bin: 0 bytes, manifest says \d+ \(empty\)/],
    ['missing weights', (c) => unlinkSync(join(c, 'weights.bin')), /weights\.bin: missing/],
    ['missing manifest', (c) => unlinkSync(join(c, 'manifest.json')), /manifest\.json: missing/],
    ['garbage manifest', (c) => writeFileSync(join(c, 'manifest.json'), 'ÿ\u0000garbage{{'), /manifest\.json: not valid JSON/],
    ['truncated manifest', (c) => truncateSync(join(c, 'manifest.json'), 100), /manifest\.json: not valid JSON/],
    ['empty manifest', (c) => truncateSync(join(c, 'manifest.json'), 0), /manifest\.json: empty/],
    [
      'manifest edited (valid JSON, a value changed)',
      (c) => writeFileSync(join(c, 'manifest.json'), readFileSync(join(c, 'manifest.json'), 'utf8').replace('"step": 20', '"step": 21')),
      /manifest\.json: checksum mismatch/,
    ],
    [
      'not a checkpoint manifest',
      (c) => writeFileSync(join(c, 'manifest.json'), '{"hello": 1}'),
      /manifest\.json: not a VAE Lab checkpoint manifest/,
    ],
  ];

  describe.each(corruptions)('%s', (_label, corrupt, problem) => {
    it('falls back to the previous checkpoint, with a warning naming the damaged file', async () => {
      const { dir, parts, snaps } = await storeWith([10, 20]);
      corrupt(join(dir, 'step-00000020'));
      const { loaded, snap } = await loadFresh(dir);
      expect(loaded?.name).toBe('step-00000010');
      expect(loaded?.state).toEqual(stateAt(10));
      expect(snap).toEqual(snaps.get(10));
      expect(loaded?.warnings).toHaveLength(1);
      expect(loaded?.warnings[0]).toMatch(/^checkpoint step-00000020 is damaged \(/);
      expect(loaded?.warnings[0]).toContain(join(dir, 'step-00000020'));
      expect(loaded?.warnings[0]).toMatch(problem);
      expect(loaded?.warnings[0]).toMatch(/; falling back to step-00000010$/);
      expect(findCheckpoint(dir)).toBe(join(dir, 'step-00000010'));
      disposeParts(parts);
    });

    it('without a previous checkpoint, throws a CheckpointError naming the file and leaves the model untouched', async () => {
      const { dir, parts } = await storeWith([20], { keep_last: 1 });
      corrupt(join(dir, 'step-00000020'));
      const target = tinyParts(5);
      const before = await snapshot(target);
      const error = await new CheckpointStore(dir).load(target).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).message).toContain(join(dir, 'step-00000020'));
      expect((error as CheckpointError).message).toMatch(problem);
      expect(await snapshot(target)).toEqual(before);
      expect(findCheckpoint(dir)).toBeNull();
      disposeParts(target);
      disposeParts(parts);
    });
  });

  it('names every damaged checkpoint when none is usable', async () => {
    const { dir, parts } = await storeWith([10, 20]);
    truncateSync(join(dir, 'step-00000020', 'weights.bin'), 4);
    unlinkSync(join(dir, 'step-00000010', 'manifest.json'));
    const error = await new CheckpointStore(dir).load(tinyParts(3)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(/step-00000020\/weights\.bin: 4 bytes.*older checkpoints are damaged too: .*step-00000010\/manifest\.json: missing/);
    disposeParts(parts);
  });

  it('refuses a checkpoint of another model before assigning anything', async () => {
    const { dir, parts } = await storeWith([3]);
    const other = tinyParts(4, 15);
    const before = await snapshot(other);
    await expect(new CheckpointStore(dir).load(other)).rejects.toThrow(/layer\/a has shape \[3, 4\] in the checkpoint, \[3, 5\] in the model; was the config changed\?/);
    expect(await snapshot(other)).toEqual(before);
    disposeParts(other);
    disposeParts(parts);
  });

  it('a kill at any file operation of a save leaves a complete checkpoint: the previous one or the new one', async () => {
    // Count the operations of a save that also removes an old checkpoint (keep_last 2, third save).
    const ops: [FileOp, string][] = [];
    {
      const { store, parts } = await storeWith([1, 2]);
      setCheckpointFaultHook((op, path) => ops.push([op, path]));
      await store.save(parts, stateAt(3));
      setCheckpointFaultHook(null);
      disposeParts(parts);
    }
    const kinds = new Set(ops.map(([op]) => op));
    for (const op of ['mkdir', 'open', 'write', 'fsync', 'close', 'rename', 'unlink', 'rmdir'] as const) expect(kinds).toContain(op);

    class Killed extends Error {}
    const outcomes = new Set<number>();
    for (let kill = 1; kill <= ops.length; kill += 1) {
      const { dir, store, parts, snaps } = await storeWith([1, 2]);
      trainSteps(parts, 1);
      snaps.set(3, await snapshot(parts));
      let index = 0;
      let dead = false;
      // A killed process does nothing more: every later operation fails too, cleanup included.
      setCheckpointFaultHook(() => {
        index += 1;
        if (dead || index === kill) {
          dead = true;
          throw new Killed(`killed at operation ${kill}`);
        }
      });
      await expect(store.save(parts, stateAt(3))).rejects.toBeInstanceOf(Killed);
      setCheckpointFaultHook(null);

      const { loaded, snap } = await loadFresh(dir);
      const at = `kill at operation ${kill} (${ops[kill - 1]!.join(' ')})`;
      expect(loaded, at).not.toBeNull();
      expect([2, 3], at).toContain(loaded!.state.step);
      expect(loaded!.warnings, at).toEqual([]);
      expect(snap, at).toEqual(snaps.get(loaded!.state.step));
      expect(temps(dir), at).toEqual([]);
      outcomes.add(loaded!.state.step);
      // And the store keeps working.
      await new CheckpointStore(dir).save(parts, stateAt(4));
      expect((await loadFresh(dir)).loaded?.state.step, at).toBe(4);
      disposeParts(parts);
    }
    expect([...outcomes].sort()).toEqual([2, 3]);
  });

  it('full disk (ENOSPC) on a real 1 MiB tmpfs, injected where mount is not allowed: one error, nothing left behind', async () => {
    const mountPoint = tempDir();
    mkdirSync(mountPoint, { recursive: true });
    let mounted = false;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'ignore' });
      mounted = true;
    } catch {
      setCheckpointFaultHook((op, path) => {
        if (op === 'write' && path.endsWith('weights.bin')) throw errnoError('ENOSPC');
      });
    }
    try {
      const dir = join(mountPoint, 'checkpoints');
      const store = new CheckpointStore(dir);
      const small = tinyParts(1);
      trainSteps(small, 1);
      await store.save(small, stateAt(1));
      const pointer = pointerText(dir);
      const big = tinyParts(2, 300_000); // 1.2 MB of variables, 3.6 MB with Adam's slots
      trainSteps(big, 1);
      const error = await store.save(big, stateAt(2)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointWriteError);
      const e = error as CheckpointWriteError;
      expect(e.code).toBe('ENOSPC');
      expect(e.message).toMatch(/^cannot write checkpoint: .*checkpoints\/\.tmp-\d+-step-00000002\/weights\.bin: no space left on device \(ENOSPC\)/);
      expect(e.message).toMatch(/checkpoint step-00000002 was not written, step-00000001 is intact$/);
      expect(temps(dir)).toEqual([]);
      expect(readdirSync(dir).sort()).toEqual(['latest.json', 'step-00000001']);
      expect(pointerText(dir)).toBe(pointer);
      const { loaded } = await loadFresh(dir);
      expect(loaded).toMatchObject({ name: 'step-00000001', warnings: [] });
      disposeParts(small);
      disposeParts(big);
    } finally {
      if (mounted) execFileSync('umount', [mountPoint]);
    }
  });

  const injected: [string, FileOp, string, RegExp][] = [
    ['ENOSPC', 'write', 'weights.bin', /no space left on device \(ENOSPC\)/],
    ['EACCES', 'mkdir', '.tmp-', /permission denied \(EACCES\)/],
    ['EROFS', 'open', 'manifest.json', /read-only file system \(EROFS\)/],
    ['ENOTDIR', 'rename', 'step-00000002', /a file is in the way .*\(ENOTDIR\)/],
    ['EIO', 'fsync', '.tmp-', /input\/output error .*\(EIO\)/],
    ['ENOSPC', 'open', 'latest.json', /no space left on device \(ENOSPC\)/],
    ['EACCES', 'rename', 'latest.json', /permission denied \(EACCES\)/],
  ];

  it.each(injected)('%s at %s of %s: a CheckpointWriteError naming the path, previous checkpoint and pointer intact', async (code, failOp, pathPart, words) => {
    const { dir, store, parts, snaps } = await storeWith([1]);
    const pointer = pointerText(dir);
    let failedPath = '';
    setCheckpointFaultHook((op, path) => {
      if (!failedPath && op === failOp && path.includes(pathPart)) {
        failedPath = path;
        throw errnoError(code);
      }
    });
    trainSteps(parts, 1);
    const error = await store.save(parts, stateAt(2)).catch((e: unknown) => e);
    setCheckpointFaultHook(null);
    expect(error).toBeInstanceOf(CheckpointWriteError);
    expect((error as CheckpointWriteError).code).toBe(code);
    expect((error as Error).message).toContain(`cannot write checkpoint: ${failedPath}: `);
    expect((error as Error).message).toMatch(words);
    expect(temps(dir)).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['latest.json', 'step-00000001']);
    expect(pointerText(dir)).toBe(pointer);
    const { loaded, snap } = await loadFresh(dir);
    expect(loaded).toMatchObject({ name: 'step-00000001', warnings: [] });
    expect(snap).toEqual(snaps.get(1));
    disposeParts(parts);
  });

  it('a file where checkpoints/ (or the run folder) should be: "a file is in the way"', async () => {
    const dir = tempDir();
    writeFileSync(dir, 'not a folder');
    const parts = tinyParts(1);
    const error = await new CheckpointStore(dir).save(parts, stateAt(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointWriteError);
    expect((error as CheckpointWriteError).code).toBe('EEXIST');
    expect((error as Error).message).toMatch(new RegExp(`^cannot write checkpoint: ${dir}: a file is in the way \\(EEXIST\\)`));
    expect(readFileSync(dir, 'utf8')).toBe('not a folder');
    expect(await new CheckpointStore(dir).load(parts)).toBeNull();

    const under = join(dir, 'checkpoints');
    const error2 = await new CheckpointStore(under).save(parts, stateAt(1)).catch((e: unknown) => e);
    expect(error2).toBeInstanceOf(CheckpointWriteError);
    expect((error2 as CheckpointWriteError).code).toBe('ENOTDIR');
    expect((error2 as Error).message).toMatch(/a file is in the way \(a part of the path is a file, not a folder\) \(ENOTDIR\)/);
    disposeParts(parts);
  });

  it('loads whatever the state of the folder: leftovers, no pointer, a pointer to a removed folder, a garbage pointer', async () => {
    const { dir, parts, snaps } = await storeWith([1, 2]);
    // A save that died after writing its temp folder, and a half-written pointer.
    mkdirSync(join(dir, `.tmp-${process.pid}-step-00000003`));
    writeFileSync(join(dir, `.tmp-${process.pid}-step-00000003`, 'weights.bin'), 'partial');
    writeFileSync(join(dir, `.tmp-${process.pid}-latest.json`), '{"format": "vaelab-chec');
    let r = await loadFresh(dir);
    expect(r.loaded).toMatchObject({ name: 'step-00000002', warnings: [] });
    expect(temps(dir)).toEqual([]);

    unlinkSync(join(dir, 'latest.json'));
    r = await loadFresh(dir);
    expect(r.loaded).toMatchObject({ name: 'step-00000002', warnings: [] });
    expect(r.snap).toEqual(snaps.get(2));

    writeFileSync(join(dir, 'latest.json'), JSON.stringify({ format: 'vaelab-checkpoints', version: 1, latest: 'step-00000009' }));
    r = await loadFresh(dir);
    expect(r.loaded?.name).toBe('step-00000002');
    expect(r.loaded?.warnings).toEqual([`${join(dir, 'latest.json')} names step-00000009, which is missing; using the newest complete checkpoint instead`]);

    writeFileSync(join(dir, 'latest.json'), 'garbage');
    r = await loadFresh(dir);
    expect(r.loaded?.name).toBe('step-00000002');
    expect(r.loaded?.warnings[0]).toMatch(/latest\.json is unreadable; ignored/);

    // A newer complete folder that the pointer does not name yet (killed before the pointer update) wins.
    renameSync(join(dir, 'step-00000002'), join(dir, 'step-00000005'));
    r = await loadFresh(dir);
    expect(r.loaded?.name).toBe('step-00000005');
    disposeParts(parts);
  });

  it('removes leftovers of dead processes on the next save, never those of a live one', async () => {
    const { dir, store, parts } = await storeWith([1]);
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }));
    const live = process.ppid;
    mkdirSync(join(dir, `.tmp-${dead}-step-00000002`));
    mkdirSync(join(dir, `.tmp-${live}-step-00000002`));
    await store.save(parts, stateAt(2));
    expect(temps(dir)).toEqual([`.tmp-${live}-step-00000002`]);
    disposeParts(parts);
  });

  it('keep_last: the newest ones stay, older ones go after the pointer names the new one', async () => {
    const { dir, store, parts } = await storeWith([1, 2, 3], { keep_last: 2 });
    expect(readdirSync(dir).sort()).toEqual(['latest.json', 'step-00000002', 'step-00000003']);
    const result = await store.save(parts, stateAt(4));
    expect(result.removed).toEqual(['step-00000002']);
    expect(store.list().map((i) => i.name)).toEqual(['step-00000004', 'step-00000003']);
    const pointer = JSON.parse(pointerText(dir)!);
    expect(pointer).toMatchObject({ format: 'vaelab-checkpoints', latest: 'step-00000004', step: 4, best: null });
    expect(pointer.checkpoints.map((c: { name: string }) => c.name)).toEqual(['step-00000004', 'step-00000003']);
    const one = await storeWith([1, 2, 3], { keep_last: 1 });
    expect(one.store.list().map((i) => i.name)).toEqual(['step-00000003']);
    disposeParts(one.parts);
    disposeParts(parts);
  });

  it('keep_best keeps the best by value (min and max), besides the newest', async () => {
    for (const mode of ['min', 'max'] as const) {
      const dir = tempDir();
      const store = new CheckpointStore(dir, { keep_last: 2, keep_best: 1, metric: 'validation.loss', mode });
      const parts = tinyParts(1);
      const values = mode === 'min' ? [5, 3, 4, 6, 7] : [5, 8, 4, 2, 1];
      for (const [i, value] of values.entries()) {
        await store.save(parts, stateAt(i + 1), { reason: 'epoch', best: { metric: 'validation.loss', value, mode } });
      }
      expect(store.list().map((i) => i.name)).toEqual(['step-00000005', 'step-00000004', 'step-00000002']);
      expect(store.bestName()).toBe('step-00000002');
      expect(JSON.parse(pointerText(dir)!).best).toBe('step-00000002');
      expect(store.list()[2]).toMatchObject({ best: { metric: 'validation.loss', value: values[1], mode }, reason: 'epoch' });
      // A new best replaces it.
      await store.save(parts, stateAt(6), { best: { metric: 'validation.loss', value: mode === 'min' ? 1 : 9, mode } });
      expect(store.list().map((i) => i.name)).toEqual(['step-00000006', 'step-00000005']);
      expect(store.bestName()).toBe('step-00000006');
      disposeParts(parts);
    }
    // keep_best 0: only the newest.
    const dir = tempDir();
    const store = new CheckpointStore(dir, { keep_last: 1, keep_best: 0, metric: 'validation.loss' });
    const parts = tinyParts(1);
    for (const [i, value] of [1, 2, 3].entries()) await store.save(parts, stateAt(i + 1), { best: { metric: 'validation.loss', value, mode: 'min' } });
    expect(store.list().map((i) => i.name)).toEqual(['step-00000003']);
    disposeParts(parts);
  });

  it('the same step saved twice gets a new folder; a resume from an older checkpoint drops the abandoned newer ones', async () => {
    const { dir, store, parts, snaps } = await storeWith([10, 20], { keep_last: 3 });
    trainSteps(parts, 1);
    await store.save(parts, stateAt(20), { reason: 'epoch' });
    const again = await snapshot(parts);
    expect(store.list().map((i) => i.name)).toEqual(['step-00000020-2', 'step-00000020', 'step-00000010']);
    const r = await loadFresh(dir);
    expect(r.loaded?.name).toBe('step-00000020-2');
    expect(r.snap).toEqual(again);
    expect(snaps.get(20)).not.toEqual(again);
    // Training resumed from step 10 (say 20 was damaged) and saves step 15: the step-20 ones are stale.
    await store.save(parts, stateAt(15));
    expect(store.list().map((i) => i.name)).toEqual(['step-00000015', 'step-00000010']);
    disposeParts(parts);
  });

  it('reads the legacy layout (checkpoints/latest) and keeps it as the oldest candidate', async () => {
    const dir = tempDir();
    const parts = tinyParts(1);
    trainSteps(parts, 2);
    await saveCheckpoint(join(dir, 'latest'), parts, stateAt(2), { reason: 'epoch' });
    const legacySnap = await snapshot(parts);
    expect(CheckpointStore.exists(dir)).toBe(true);
    expect(findCheckpoint(dir)).toBe(join(dir, 'latest'));
    let r = await loadFresh(dir);
    expect(r.loaded).toMatchObject({ name: 'latest', state: stateAt(2), warnings: [] });
    expect(r.snap).toEqual(legacySnap);
    expect(new CheckpointStore(dir).list()[0]).toMatchObject({ name: 'latest', legacy: true, reason: 'epoch' });

    const store = new CheckpointStore(dir, { keep_last: 2 });
    trainSteps(parts, 1);
    await store.save(parts, stateAt(3));
    expect(store.list().map((i) => i.name)).toEqual(['step-00000003', 'latest']);
    await store.save(parts, stateAt(4));
    expect(store.list().map((i) => i.name)).toEqual(['step-00000004', 'step-00000003']);
    // The old API over `<run>/checkpoints/latest` falls through to the store.
    const target = tinyParts(7);
    expect((await loadCheckpoint(join(dir, 'latest'), target)).state).toEqual(stateAt(4));
    r = await loadFresh(dir);
    expect(r.snap).toEqual(await snapshot(target));
    disposeParts(target);
    disposeParts(parts);
  });

  it('VAELAB_CHECKPOINT_FAULT kills the process at the n-th file operation; VAELAB_CHECKPOINT_FAULT_LOG lists them', async () => {
    const root = tempRoot();
    const script = join(root, 'ops.mjs');
    await build({
      stdin: {
        contents: `import { makeDir, writeFileDurable, renamePath } from ${JSON.stringify(join(here, 'durable-fs.ts'))};
          const d = process.argv[2];
          makeDir(d); writeFileDurable(d + '/a', new Uint8Array(3)); renamePath(d + '/a', d + '/b');
          process.stdout.write('done');`,
        loader: 'ts',
        resolveDir: here,
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      tsconfig: join(here, '../../../tsconfig.json'),
      logLevel: 'silent',
    });
    const run = (env: Record<string, string>) => {
      try {
        return { out: execFileSync(process.execPath, [script, join(root, 'data')], { env: { ...process.env, ...env }, encoding: 'utf8' }), signal: null };
      } catch (e) {
        return { out: '', signal: (e as { signal?: string }).signal };
      }
    };
    const log = join(root, 'ops.log');
    expect(run({ VAELAB_CHECKPOINT_FAULT_LOG: log }).out).toBe('done');
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['1 mkdir', '2 open', '3 write', '4 fsync', '5 close', '6 rename']);
    rmSync(join(root, 'data'), { recursive: true });
    rmSync(log);
    expect(run({ VAELAB_CHECKPOINT_FAULT: '3', VAELAB_CHECKPOINT_FAULT_LOG: log })).toEqual({ out: '', signal: 'SIGKILL' });
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(3);
    expect(readFileSync(join(root, 'data', 'a')).length).toBe(0); // killed before its write
  });
});
