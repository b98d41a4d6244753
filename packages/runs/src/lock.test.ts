import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { RunLockedError } from './errors.js';
import { acquireRunLock, isProcessAlive } from './lock.js';

const here = dirname(fileURLToPath(import.meta.url));
const scratch = () => mkdtempSync(join(tmpdir(), 'vaelab-lock-'));

/** The pid of a node process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  expect(child.status).toBe(0);
  expect(isProcessAlive(child.pid!)).toBe(false);
  return child.pid!;
}

describe('acquireRunLock', () => {
  it('lets one holder in and names it to the second, then releases idempotently', () => {
    const dir = scratch();
    const lock = acquireRunLock(dir, { command: 'vaelab train exp' });
    expect(lock.note).toBeUndefined();
    const held = JSON.parse(readFileSync(join(dir, '.lock'), 'utf8'));
    expect(held).toMatchObject({ pid: process.pid, host: hostname(), command: 'vaelab train exp' });

    let error: unknown;
    try {
      acquireRunLock(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RunLockedError);
    expect((error as Error).message).toBe(
      `run ${dir} is in use by pid ${process.pid} on host ${hostname()} since ${held.started_at} (vaelab train exp); if that process is gone, remove ${join(dir, '.lock')}`,
    );

    lock.release();
    lock.release();
    expect(existsSync(join(dir, '.lock'))).toBe(false);
    acquireRunLock(dir).release();
  });

  it('does not remove a lock that is no longer ours', () => {
    const dir = scratch();
    const lock = acquireRunLock(dir);
    const other = { pid: 1, host: 'elsewhere', started_at: '2026-01-01T00:00:00.000Z', command: 'x' };
    writeFileSync(join(dir, '.lock'), JSON.stringify(other));
    lock.release();
    expect(JSON.parse(readFileSync(join(dir, '.lock'), 'utf8'))).toEqual(other);
  });

  it('takes over a stale lock left by a dead process on this host, and says so', () => {
    const dir = scratch();
    const pid = deadPid();
    writeFileSync(join(dir, '.lock'), JSON.stringify({ pid, host: hostname(), started_at: '2026-01-01T00:00:00.000Z', command: 'vaelab train exp' }));
    const lock = acquireRunLock(dir);
    expect(lock.note).toContain(`pid ${pid} on host ${hostname()}`);
    expect(lock.note).toContain('is no longer running');
    expect(JSON.parse(readFileSync(join(dir, '.lock'), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('leaves a lock from another host alone (its pid cannot be checked from here)', () => {
    const dir = scratch();
    writeFileSync(join(dir, '.lock'), JSON.stringify({ pid: deadPid(), host: `not-${hostname()}`, started_at: 't', command: 'c' }));
    expect(() => acquireRunLock(dir)).toThrow(RunLockedError);
  });

  it('refuses a lock file it cannot read, saying how to clear it', () => {
    const dir = scratch();
    writeFileSync(join(dir, '.lock'), '');
    expect(() => acquireRunLock(dir)).toThrow(`if no process is using the run, remove ${join(dir, '.lock')}`);
  });

  describe('with a second process', () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      if (child?.exitCode === null) child.kill('SIGKILL');
    });

    it('fails while a live child holds the lock, and takes it over once the child is killed', async () => {
      const dir = scratch();
      // The child runs the real lock code: lock.ts bundled to plain JS (VaeLabError from core's source).
      const script = join(scratch(), 'hold-lock.mjs');
      buildSync({
        stdin: {
          contents: `import { acquireRunLock } from './lock.ts';
            acquireRunLock(process.argv[2], { command: 'hold-lock test child' });
            process.stdout.write('locked\\n');
            setInterval(() => {}, 1 << 30);`,
          resolveDir: here,
          loader: 'ts',
        },
        bundle: true,
        platform: 'node',
        format: 'esm',
        alias: { '@vaelab/core': join(here, '..', '..', 'core', 'src', 'errors.ts') },
        outfile: script,
        logLevel: 'silent',
      });
      const holder = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      child = holder;
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('locked')) resolve();
        });
        holder.on('exit', (code) => reject(new Error(`lock-holding child exited early (${code})`)));
      });

      expect(() => acquireRunLock(dir)).toThrow(`run ${dir} is in use by pid ${holder.pid} on host ${hostname()}`);
      expect(() => acquireRunLock(dir)).toThrow('(hold-lock test child)');

      const exited = new Promise((resolve) => holder.on('exit', resolve));
      holder.kill('SIGKILL');
      await exited;
      const lock = acquireRunLock(dir);
      expect(lock.note).toContain(`pid ${holder.pid}`);
      lock.release();
    });
  });
});
