import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkgs = ['core', 'priors', 'posteriors', 'likelihoods', 'networks', 'objectives', 'trainers', 'data', 'config', 'eval', 'runs', 'native'];
const alias = Object.fromEntries(
  pkgs.map((p) => [`@vaelab/${p}`, fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url))]),
);
alias['@vaelab/cli'] = fileURLToPath(new URL('./apps/cli/src/index.ts', import.meta.url));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    setupFiles: ['./vitest.setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
