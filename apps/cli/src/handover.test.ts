import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/* bin/vaelab.js hands over to the project's own @vaelab/cli (a global install running in a project). */

const bin = resolve(fileURLToPath(new URL('../bin/vaelab.js', import.meta.url)));
const project = mkdtempSync(join(tmpdir(), 'vaelab-handover-'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

// A stand-in for the project's local install: its bin prints a marker, whether it was handed
// over to, and the arguments.
const local = join(project, 'node_modules', '@vaelab', 'cli');
mkdirSync(join(local, 'bin'), { recursive: true });
writeFileSync(join(local, 'package.json'), JSON.stringify({ name: '@vaelab/cli', version: '9.9.9', type: 'module', bin: { vaelab: './bin/vaelab.js' } }));
writeFileSync(
  join(local, 'bin', 'vaelab.js'),
  "process.stdout.write(`LOCAL-CLI handed_over=${process.env.VAELAB_HANDED_OVER} args=${process.argv.slice(2).join(' ')}\\n`);\n",
);
mkdirSync(join(project, 'sub', 'dir'), { recursive: true });

function run(cwd: string, args: string[], env: Record<string, string> = {}) {
  const clean = { ...process.env };
  delete clean.VAELAB_HANDED_OVER;
  delete clean.VAELAB_DEBUG;
  return spawnSync(process.execPath, [bin, ...args], { cwd, env: { ...clean, ...env }, encoding: 'utf8', timeout: 30_000 });
}

describe('hand-over to the local install', () => {
  it("runs the project's @vaelab/cli, found from the working folder and its parents, silently", () => {
    for (const cwd of [project, join(project, 'sub', 'dir')]) {
      const r = run(cwd, ['train', 'experiment=x']);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('LOCAL-CLI handed_over=1 args=train experiment=x\n');
      expect(r.stderr).toBe('');
    }
  });

  it('says what it does under VAELAB_DEBUG', () => {
    const r = run(project, ['--help'], { VAELAB_DEBUG: '1' });
    expect(r.stderr).toMatch(/handing over from .* to the project's .*node_modules[/\\]@vaelab[/\\]cli/);
    expect(r.stdout).toContain('LOCAL-CLI');
  });

  it('does not hand over twice (VAELAB_HANDED_OVER), nor to itself', () => {
    const twice = run(project, ['--help'], { VAELAB_HANDED_OVER: '1' });
    expect(twice.stdout).not.toContain('LOCAL-CLI');
    expect(twice.stdout).toContain('Usage: vaelab');
    // From the repository, @vaelab/cli resolves to this very package (a workspace link).
    const self = run(resolve(fileURLToPath(new URL('../../..', import.meta.url))), ['--help'], { VAELAB_DEBUG: '1' });
    expect(self.stdout).toContain('Usage: vaelab');
    expect(self.stderr).not.toMatch(/handing over/);
  });
});
