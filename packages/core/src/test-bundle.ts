import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests only). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Bundle @vaelab/core from src the way tsup builds dist/index.js (esbuild, ESM, dependencies
 * external) into `outfile`, for tests that need it as a plain module outside vitest (child
 * processes, a second installed copy).
 */
export async function bundleCore(outfile: string): Promise<void> {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(repoRoot, 'packages/core/src/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'silent',
  });
}
