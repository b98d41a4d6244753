#!/usr/bin/env node
// Builds the @vaelab/native addon (build/Release/vaelab_native.node) with node-gyp, in this
// package's folder, wherever it is installed. Users run it once after `npm install @vaelab/native`
// (npm runs no install script for this package: it has none, on purpose):
//
//   npx vaelab-native-build            # fails with a diagnosis when it cannot compile
//   npx vaelab-native-build --if-possible   # warns and exits 0 instead (the package's `build` script)
//
// Other arguments go to `node-gyp configure build` (e.g. --debug, --verbose). It needs a C compiler, make,
// python3 and OpenBLAS with its headers (Debian/Ubuntu: apt-get install libopenblas-dev). It uses
// the node-gyp that ships with npm, and Node's own headers when they are installed next to node
// (no download); CPPFLAGS and LDFLAGS reach the compiler and linker (OpenBLAS in another prefix).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const ifPossible = args.includes('--if-possible');
const gypArgs = args.filter((a) => a !== '--if-possible');
const addon = join(pkgDir, 'build', 'Release', 'vaelab_native.node');
const HOW =
  'needs a C compiler, make, python3 and OpenBLAS with headers (Debian/Ubuntu: apt-get install libopenblas-dev; ' +
  'Fedora: dnf install openblas-devel; macOS: brew install openblas, then CPPFLAGS=-I$(brew --prefix openblas)/include ' +
  'LDFLAGS=-L$(brew --prefix openblas)/lib npx vaelab-native-build)';

function fail(message) {
  // No stale addon from an earlier build stays behind a failed one (the message says none is used).
  rmSync(addon, { force: true });
  if (ifPossible) {
    console.warn(`@vaelab/native: the native addon was not built (optional; the stock tfjs kernels are used): ${message}`);
    console.warn('@vaelab/native: to build it later: npx vaelab-native-build');
    process.exit(0);
  }
  console.error(`vaelab-native-build: ${message}`);
  process.exit(1);
}

/** node-gyp's script: the one npm runs scripts with, a local install, or the copy bundled with npm. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(createRequire(join(pkgDir, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed next to this package
  }
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => existsSync(c));
}

/** Node's headers installed with node itself (<prefix>/include/node), so that node-gyp downloads nothing. */
function nodeDirArgs() {
  if (gypArgs.some((a) => a.startsWith('--nodedir')) || process.env.npm_config_nodedir) return [];
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

function diagnose(output) {
  if (/cblas\.h:? No such file|fatal error: .*cblas\.h/i.test(output)) return `OpenBLAS headers (cblas.h) not found; this ${HOW}`;
  if (/cannot find -l\s*openblas|library not found for -lopenblas/i.test(output)) return `the OpenBLAS library (libopenblas) not found; this ${HOW}`;
  if (/find Python|python.*not found/i.test(output)) return `node-gyp found no Python 3; this ${HOW}`;
  if (/not found: make|make: not found|No such file or directory.*\b(make|cc|gcc|g\+\+)\b|command not found/i.test(output)) return `a build tool is missing; this ${HOW}`;
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => /error|ERR!/i.test(l));
  return `node-gyp failed (${lines.slice(0, 4).join(' | ') || 'see its output above'}); this ${HOW}`;
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) fail(`node-gyp was not found (it ships with npm; or: npm install -g node-gyp); this ${HOW}`);

// configure + build rather than rebuild: the previous addon stays in place (and loadable) until the new one is linked.
const command = [nodeGyp, 'configure', 'build', ...nodeDirArgs(), ...gypArgs];
if (!ifPossible) console.log(`vaelab-native-build: node ${command.join(' ')} (in ${pkgDir})`);
// Quiet when it is only an attempt (the monorepo's build); otherwise node-gyp's output shows as it comes.
const run = await new Promise((done) => {
  const child = spawn(process.execPath, command, { cwd: pkgDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const timer = ifPossible ? setTimeout(() => child.kill('SIGTERM'), 300_000) : undefined;
  for (const [stream, sink] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      output += chunk;
      if (!ifPossible) sink.write(chunk);
    });
  }
  child.on('error', (error) => done({ error, status: null, output }));
  child.on('close', (status, signal) => {
    clearTimeout(timer);
    done({ status, signal, output });
  });
});
const output = run.output;
if (run.error) fail(`could not run node-gyp: ${run.error.message}`);
if (run.status !== 0) fail(run.signal ? `node-gyp was stopped (${run.signal}; over 5 minutes?)` : diagnose(output));
if (!existsSync(addon)) fail(`node-gyp succeeded but ${addon} is missing`);

// Load it in a fresh process: a library that links but does not load (a missing libopenblas.so at
// run time) shows here rather than at the first training run.
const check = spawnSync(
  process.execPath,
  ['-e', `const a = require(${JSON.stringify(addon)}); console.log(a.info().config.trim())`],
  { encoding: 'utf8' },
);
if (check.status !== 0) {
  fail(`built ${addon}, but it does not load: ${(check.stderr || '').trim().split('\n').slice(0, 3).join(' ')}; ${HOW}`);
}
console.log(`@vaelab/native: built ${addon} (${check.stdout.trim()})`);
