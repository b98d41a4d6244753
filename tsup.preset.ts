import type { Options } from 'tsup';

/**
 * The one build preset every package shares: ESM, types, sourcemaps, deps left external.
 * ESM only: CommonJS users `require()` the same files through Node's require(esm) (Node ^20.19 or
 * >=22.12, see the root README, "Installing"), so an application never holds two copies of a
 * package (and of its registries) as a dual ESM + CJS build would allow.
 */
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
    // Never bundle tfjs, whichever of its packages a file imports and a package.json declares.
    external: [/^@tensorflow\//],
    ...extra,
  };
}
