import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRunDir } from './run-folder.js';

describe('createRunDir', () => {
  it('never hands the same folder out twice for the same second', () => {
    const out = mkdtempSync(join(tmpdir(), 'vaelab-rundir-'));
    const now = new Date('2026-11-21T13:55:43Z');
    const dirs = [createRunDir(out, 'exp', undefined, now), createRunDir(out, 'exp', undefined, now), createRunDir(out, 'exp', 2, now)];
    expect(new Set(dirs).size).toBe(3);
    expect(dirs[1]).toBe(`${dirs[0]}.1`);
    expect(dirs[2]!.endsWith('-job2')).toBe(true);
    for (const d of dirs) expect(readdirSync(d)).toEqual(['checkpoints']);
  });
});
