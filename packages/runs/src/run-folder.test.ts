import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunFolderError } from './errors.js';
import { checkOutDir, makeFolders } from './out-dir.js';
import { RUN_FILES, appendMetrics, createRunDir, readEval, readMetrics, readRun, truncateMetrics, writeJson, writeRunStart } from './run-folder.js';

const scratch = (name: string) => mkdtempSync(join(tmpdir(), `vaelab-runs-${name}-`));

describe('createRunDir', () => {
  it('never hands the same folder out twice for the same second', () => {
    const out = scratch('rundir');
    const now = new Date('2026-11-21T13:55:43Z');
    const dirs = [createRunDir(out, 'exp', undefined, now), createRunDir(out, 'exp', undefined, now), createRunDir(out, 'exp', 2, now)];
    expect(new Set(dirs).size).toBe(3);
    expect(dirs[1]).toBe(`${dirs[0]}.1`);
    expect(dirs[2]!.endsWith('-job2')).toBe(true);
    for (const d of dirs) expect(readdirSync(d)).toEqual(['checkpoints']);
  });

  it('gives up after 1000 taken names instead of looping forever', () => {
    const out = scratch('rundir-full');
    const now = new Date('2026-11-21T13:55:43Z');
    const first = createRunDir(out, 'exp', undefined, now);
    for (let i = 1; i < 1000; i++) mkdirSync(`${first}.${i}`);
    expect(() => createRunDir(out, 'exp', undefined, now)).toThrow(/999 numbered variants/);
  });

  it('refuses an out folder under /proc at once (Node 20 recursive mkdir would spin there)', () => {
    expect(() => createRunDir('/proc/self/xyz', 'exp')).toThrow(RunFolderError);
  });
});

describe('checkOutDir', () => {
  it('accepts a writable folder, existing or not yet created', () => {
    const out = scratch('ok');
    expect(checkOutDir(out)).toBe(out);
    expect(checkOutDir(join(out, 'a', 'b'))).toBe(join(out, 'a', 'b'));
    expect(readdirSync(out)).toEqual([]); // the probe folder is gone
  });

  it('refuses a regular file, naming it', () => {
    const file = join(scratch('file'), 'runs');
    writeFileSync(file, 'not a folder');
    expect(() => checkOutDir(file)).toThrow(`cannot write runs to ${file}: the out folder is a regular file, not a folder`);
    expect(() => checkOutDir(join(file, 'sub'))).toThrow(`its ancestor ${file} is a regular file, not a folder`);
  });

  // Tests run as root, and root passes access(W_OK) and chmod everywhere on a normal disk, so
  // "unwritable" is exercised with kernel pseudo-filesystems, where writes fail for root too.
  it('refuses /proc, /sys and /dev paths, naming the path and the reason', () => {
    expect(() => checkOutDir('/proc/self/xyz')).toThrow('cannot write runs to /proc/self/xyz: it is under /proc, a kernel pseudo-filesystem');
    expect(() => checkOutDir('/sys/xyz')).toThrow(/\/sys\/xyz: it is under \/sys/);
    expect(() => checkOutDir('/dev/xyz')).toThrow(/under \/dev/);
  });

  it('refuses a symlink that leads into /proc (statfs type)', () => {
    const link = join(scratch('link'), 'runs');
    symlinkSync('/proc/self', link);
    expect(() => checkOutDir(link)).toThrow(/on a proc pseudo-filesystem/);
  });
});

describe('makeFolders', () => {
  it('creates missing levels and accepts existing ones', () => {
    const out = scratch('mk');
    makeFolders(join(out, 'a', 'b', 'c'));
    makeFolders(join(out, 'a', 'b'));
    expect(readdirSync(join(out, 'a', 'b'))).toEqual(['c']);
  });
});

describe('readRun', () => {
  const backend = { name: 'cpu', requested: 'cpu' as const, skipped: [] };

  function makeRun(): string {
    const dir = createRunDir(scratch('read'), 'exp');
    writeRunStart(dir, { experiment: 'exp', config: { seed: 3, prior: { name: 'standard_normal' } }, overrides: ['seed=3'], backend, seed: 3, command: ['train'], cwd: dir });
    return dir;
  }

  it('reads back what the writers wrote', () => {
    const dir = makeRun();
    appendMetrics(dir, { step: 1, epoch: 0, split: 'train', loss: 2.5, kl: 0.5, kl_per_dim: [0.25, 0.25] });
    appendMetrics(dir, { step: 2, epoch: 1, split: 'test', loss: 2.0, time: 1.5 });
    writeJson(join(dir, RUN_FILES.summary), { test_loss: 2.0 });
    expect(readEval(dir)).toBeUndefined();
    writeJson(join(dir, RUN_FILES.eval), { iw_log_likelihood: -90.1, k: 5000 });

    const run = readRun(dir);
    expect(run.config).toEqual({ seed: 3, prior: { name: 'standard_normal' } });
    expect(run.overrides).toEqual(['seed=3']);
    expect(run.meta.seed).toBe(3);
    expect(run.meta.experiment).toBe('exp');
    expect(run.summary).toEqual({ test_loss: 2.0 });
    expect(run.eval).toEqual({ iw_log_likelihood: -90.1, k: 5000 });
    expect(run.metrics.map((r) => r.step)).toEqual([1, 2]);
    expect(run.metrics[0]!.kl_per_dim).toEqual([0.25, 0.25]);

    truncateMetrics(dir, 1);
    expect(readMetrics(dir).map((r) => r.step)).toEqual([1]);
  });

  it('gives a run without summary or eval an empty summary and no eval', () => {
    const run = readRun(makeRun());
    expect(run.summary).toEqual({});
    expect(run.eval).toBeUndefined();
    expect(run.metrics).toEqual([]);
  });

  it('names the file that is missing or damaged', () => {
    expect(() => readRun('/nonexistent/run')).toThrow('no run folder at /nonexistent/run');
    const empty = scratch('empty');
    expect(() => readRun(empty)).toThrow(`${join(empty, 'config.yaml')} is missing`);

    const dir = makeRun();
    writeFileSync(join(dir, RUN_FILES.meta), '{"seed": 3,');
    expect(() => readRun(dir)).toThrow(`${join(dir, 'meta.json')}: not valid JSON`);

    const other = makeRun();
    writeFileSync(join(other, RUN_FILES.eval), '[1, 2]');
    expect(() => readRun(other)).toThrow(`${join(other, 'eval.json')}: expected a JSON object, found an array`);

    const third = makeRun();
    writeFileSync(join(third, RUN_FILES.config), 'a: [1,\n');
    expect(() => readRun(third)).toThrow(join(third, 'config.yaml'));
  });

  it('drops a torn last metrics line but reports damage elsewhere with file and line', () => {
    const dir = makeRun();
    writeFileSync(join(dir, RUN_FILES.metrics), '{"step":1,"epoch":0,"split":"train","loss":1}\n{"step":2,"ep');
    expect(readMetrics(dir).map((r) => r.step)).toEqual([1]);
    writeFileSync(join(dir, RUN_FILES.metrics), '{"step":1,"ep\n{"step":2,"epoch":0,"split":"train","loss":1}\n');
    expect(() => readRun(dir)).toThrow(`${join(dir, 'metrics.jsonl')}:1: not a JSON line`);
  });
});
