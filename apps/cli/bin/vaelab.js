#!/usr/bin/env node
// Committed launcher, so that npm links the `vaelab` bin on a fresh install even before the
// build (the root `prepare` script) has produced dist/.
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * A globally installed `vaelab` hands over to the project's own @vaelab/cli when there is one
 * (resolved from the working folder, as `import` in the project would), so that a project runs
 * with the version it pinned, like `npx vaelab` would. VAELAB_HANDED_OVER stops a second hand-over;
 * VAELAB_DEBUG says what happened. Returns the local package's bin, or null to run this one.
 */
function localCli() {
  if (process.env.VAELAB_HANDED_OVER) return null;
  const debug = (msg) => {
    if (process.env.VAELAB_DEBUG) process.stderr.write(`vaelab: ${msg}\n`);
  };
  const here = realpathSync(resolve(dirname(fileURLToPath(import.meta.url)), '..'));
  let pkgJson;
  try {
    pkgJson = createRequire(join(process.cwd(), 'noop.js')).resolve('@vaelab/cli/package.json');
  } catch {
    debug(`no local @vaelab/cli from ${process.cwd()}; running ${here}`);
    return null;
  }
  const local = realpathSync(dirname(pkgJson));
  if (local === here) return null;
  const { bin } = JSON.parse(readFileSync(pkgJson, 'utf8'));
  const entry = typeof bin === 'string' ? bin : bin?.vaelab;
  if (typeof entry !== 'string') {
    debug(`${local} has no vaelab bin; running ${here}`);
    return null;
  }
  debug(`handing over from ${here} to the project's ${local}`);
  return join(local, entry);
}

const local = localCli();
if (local !== null) {
  process.env.VAELAB_HANDED_OVER = '1';
  await import(pathToFileURL(local).href);
} else {
  const { main } = await import('../dist/index.js');
  process.exitCode = await main(process.argv.slice(2));
}
