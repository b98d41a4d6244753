import type { Options } from 'tsup';

/** The one build preset every package shares: ESM, types, sourcemaps, deps left external. */
export function preset(entry: Options['entry'] = ['src/index.ts'], extra: Options = {}): Options {
  return {
    entry,
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    tsconfig: 'tsconfig.json',
    ...extra,
  };
}
