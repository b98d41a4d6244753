import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatZodIssues } from '@vaelab/config';
import { type ComponentPackage, ComponentRegistry, VaeLabError } from '@vaelab/core';
import * as data from '@vaelab/data';
import * as likelihoods from '@vaelab/likelihoods';
import * as networks from '@vaelab/networks';
import * as objectives from '@vaelab/objectives';
import * as posteriors from '@vaelab/posteriors';
import * as priors from '@vaelab/priors';
import * as trainers from '@vaelab/trainers';

/** A registry holding every component that ships with VAE Lab. */
export function builtinRegistry(): ComponentRegistry {
  // Component options are worded like every other config error (@vaelab/config's formatter).
  const registry = new ComponentRegistry((error, configPath, schema, input) =>
    formatZodIssues(error, configPath, { schema: schema.strict(), input }).join('\n'),
  );
  for (const pkg of [data, networks, priors, posteriors, likelihoods, objectives, trainers]) registry.use(pkg as ComponentPackage);
  return registry;
}

/**
 * Load the plugins listed in the project config: each module exports `components` (and may export
 * `klRules`), like our own packages. Specifiers are resolved from the project root.
 */
export async function loadPlugins(registry: ComponentRegistry, plugins: readonly string[], root: string, file: string | null): Promise<void> {
  const require = createRequire(join(root, 'noop.js'));
  for (const spec of plugins) {
    let url: string;
    try {
      const local = spec.startsWith('.') || isAbsolute(spec);
      url = pathToFileURL(local ? resolve(root, spec) : require.resolve(spec)).href;
    } catch (e) {
      throw new VaeLabError(`${file ?? 'project config'}: plugins: cannot resolve '${spec}' from ${root} (${(e as Error).message.split('\n')[0]})`);
    }
    const mod = (await import(url)) as ComponentPackage & { default?: ComponentPackage };
    const pkg = mod.components ? mod : mod.default;
    if (!pkg?.components) {
      throw new VaeLabError(`${file ?? 'project config'}: plugins: '${spec}' exports no 'components' array`);
    }
    registry.use(pkg);
  }
}
