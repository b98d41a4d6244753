import { existsSync, readFileSync, readdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { selectBackend } from '@vaelab/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyCheckpoint } from './checkpoint.js';
import { CheckpointError, CheckpointWriteError } from './checkpoint-errors.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint-store.js';
import { checkpointTestDirs, disposeParts, snapshot, stateAt, tinyParts, trainSteps } from './checkpoint-test-helpers.js';
import { setCheckpointFaultHook } from './durable-fs.js';

/* The single-folder API (saveCheckpoint / loadCheckpoint / hasCheckpoint on `<run>/checkpoints/latest`). */

beforeAll(async () => {
  await selectBackend('wasm');
});

const tempRoot = checkpointTestDirs('vaelab-ckpt-legacy-');

function latestDir(): string {
  return join(tempRoot(), 'checkpoints', 'latest');
}

async function loadInto(dir: string) {
  const target = tinyParts(77);
  try {
    const loaded = await loadCheckpoint(dir, target);
    return { loaded, snap: await snapshot(target) };
  } finally {
    disposeParts(target);
  }
}

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round trip is bit-exact and leaves only the checkpoint folder', async () => {
    const dir = latestDir();
    const parts = tinyParts(1);
    trainSteps(parts, 5);
    await saveCheckpoint(dir, parts, stateAt(5), { reason: 'epoch' });
    trainSteps(parts, 1);
    await saveCheckpoint(dir, parts, stateAt(6), { reason: 'interrupt' });
    expect(readdirSync(dirname(dir))).toEqual(['latest']);
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'weights.bin']);
    expect(hasCheckpoint(dir)).toBe(true);
    const { loaded, snap } = await loadInto(dir);
    expect(loaded).toEqual({ state: stateAt(6), extra: { reason: 'interrupt' }, warnings: [] });
    expect(snap).toEqual(await snapshot(parts));
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'vaelab-checkpoint', version: 2, files: { 'weights.bin': { bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } } });
    expect(manifest.checksum).toMatch(/^[0-9a-f]{64}$/);
    disposeParts(parts);
  });

  it('a kill at any file operation leaves a loadable checkpoint (both renames included)', async () => {
    const ops: string[] = [];
    {
      const dir = latestDir();
      const parts = tinyParts(1);
      await saveCheckpoint(dir, parts, stateAt(1));
      setCheckpointFaultHook((op, path) => ops.push(`${op} ${path}`));
      await saveCheckpoint(dir, parts, stateAt(2));
      disposeParts(parts);
    }
    expect(ops.filter((o) => o.startsWith('rename'))).toHaveLength(2);
    class Killed extends Error {}
    const outcomes = new Set<number>();
    for (let kill = 1; kill <= ops.length; kill += 1) {
      setCheckpointFaultHook(null);
      const dir = latestDir();
      const parts = tinyParts(1);
      trainSteps(parts, 1);
      await saveCheckpoint(dir, parts, stateAt(1));
      const snaps = new Map([[1, await snapshot(parts)]]);
      trainSteps(parts, 1);
      snaps.set(2, await snapshot(parts));
      let index = 0;
      let dead = false;
      setCheckpointFaultHook(() => {
        index += 1;
        if (dead || index === kill) {
          dead = true;
          throw new Killed();
        }
      });
      await expect(saveCheckpoint(dir, parts, stateAt(2))).rejects.toBeInstanceOf(Killed);
      setCheckpointFaultHook(null);
      const at = `kill at operation ${kill} (${ops[kill - 1]})`;
      expect(hasCheckpoint(dir), at).toBe(true);
      const { loaded, snap } = await loadInto(dir);
      expect([1, 2], at).toContain(loaded.state.step);
      expect(loaded.warnings, at).toEqual([]);
      expect(snap, at).toEqual(snaps.get(loaded.state.step));
      outcomes.add(loaded.state.step);
      // The next save cleans up and succeeds.
      await saveCheckpoint(dir, parts, stateAt(3));
      expect(readdirSync(dirname(dir)), at).toEqual(['latest']);
      expect((await loadInto(dir)).loaded.state.step, at).toBe(3);
      disposeParts(parts);
    }
    expect([...outcomes].sort()).toEqual([1, 2]);
  });

  it('resumes from latest.old when killed between the two renames of the earlier version', async () => {
    const dir = latestDir();
    const parts = tinyParts(1);
    await saveCheckpoint(dir, parts, stateAt(4));
    renameSync(dir, `${dir}.old`);
    expect(hasCheckpoint(dir)).toBe(true);
    expect((await loadInto(dir)).loaded.state).toEqual(stateAt(4));
    disposeParts(parts);
  });

  it('falls back from a damaged latest to a complete latest.old, and says so', async () => {
    const dir = latestDir();
    const parts = tinyParts(1);
    await saveCheckpoint(dir, parts, stateAt(4));
    renameSync(dir, `${dir}.old`);
    await saveCheckpoint(`${dir}.x`, parts, stateAt(5));
    renameSync(`${dir}.x`, dir);
    truncateSync(join(dir, 'weights.bin'), 8);
    const { loaded } = await loadInto(dir);
    expect(loaded.state).toEqual(stateAt(4));
    expect(loaded.warnings).toEqual([
      `checkpoint ${dir} is damaged (${join(dir, 'weights.bin')}: 8 bytes, manifest says ${loaded.warnings[0]!.match(/says (\d+)/)![1]} (truncated)); falling back to ${dir}.old`,
    ]);
    disposeParts(parts);
  });

  it('reads manifests of version 1 (no checksums), checking the size of weights.bin', async () => {
    const dir = latestDir();
    const parts = tinyParts(1);
    trainSteps(parts, 2);
    await saveCheckpoint(dir, parts, stateAt(2));
    const { files: _files, checksum: _checksum, savedAt: _savedAt, ...rest } = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...rest, version: 1 }, null, 2));
    const { loaded, snap } = await loadInto(dir);
    expect(loaded.state).toEqual(stateAt(2));
    expect(snap).toEqual(await snapshot(parts));
    truncateSync(join(dir, 'weights.bin'), 12);
    expect(() => verifyCheckpoint(dir)).toThrow(/weights\.bin: 12 bytes, manifest says \d+ \(truncated\)/);
    disposeParts(parts);
  });

  it('errors name the file: no checkpoint, damaged checkpoint', async () => {
    const dir = latestDir();
    const parts = tinyParts(1);
    expect(hasCheckpoint(dir)).toBe(false);
    await expect(loadCheckpoint(dir, parts)).rejects.toThrow(`no checkpoint at ${dir} (missing manifest.json)`);
    await saveCheckpoint(dir, parts, stateAt(1));
    writeFileSync(join(dir, 'weights.bin'), Buffer.alloc(readFileSync(join(dir, 'weights.bin')).length));
    const error = await loadCheckpoint(dir, parts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toBe(`${join(dir, 'weights.bin')}: sha256 mismatch (file changed after it was written)`);
    disposeParts(parts);
  });

  it('a write error is one CheckpointWriteError, and no .tmp folder is left', async () => {
    const dir = latestDir();
    const parts = tinyParts(1);
    await saveCheckpoint(dir, parts, stateAt(1));
    setCheckpointFaultHook((op, path) => {
      if (op === 'write' && path.endsWith('manifest.json')) throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
    });
    const error = await saveCheckpoint(dir, parts, stateAt(2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointWriteError);
    expect((error as Error).message).toBe(`cannot write checkpoint: ${dir}.tmp/manifest.json: no space left on device (ENOSPC)`);
    expect(existsSync(`${dir}.tmp`)).toBe(false);
    setCheckpointFaultHook(null);
    expect((await loadInto(dir)).loaded.state).toEqual(stateAt(1));
    disposeParts(parts);
  });
});
