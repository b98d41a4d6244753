#!/usr/bin/env node
/*
 * Packages as users install them: every published workspace package loads through `require()`
 * (CommonJS callers, via Node's require(esm)) and through `import()`, both give the one same module
 * (no second copy, so one component and KL registry), and each ships the root LICENSE.
 * Run after the build: node scripts/check-packages.mjs
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const license = readFileSync(join(root, 'LICENSE'), 'utf8');
// Resolve from the root, like a user's project that depends on the packages.
const requireFromRoot = createRequire(join(root, 'package.json'));
const problems = [];

const packages = [];
for (const group of ['packages', 'apps']) {
  for (const dir of readdirSync(join(root, group)).sort()) {
    const file = join(root, group, dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8'));
    if (!pkg.private) packages.push({ dir: `${group}/${dir}`, pkg });
  }
}

for (const { dir, pkg } of packages) {
  const where = `${pkg.name} (${dir})`;
  const copy = join(root, dir, 'LICENSE');
  if (!existsSync(copy)) problems.push(`${where}: no LICENSE; copy the root LICENSE there (cp LICENSE ${dir}/)`);
  else if (readFileSync(copy, 'utf8') !== license) problems.push(`${where}: LICENSE differs from the root LICENSE; copy it again`);
  if (!pkg.files?.includes('LICENSE')) problems.push(`${where}: "files" does not list LICENSE`);
  const entry = pkg.exports?.['.'];
  if (!entry?.require || !entry?.import) problems.push(`${where}: exports["."] needs both "import" and "require"`);

  let required;
  const t0 = performance.now();
  try {
    required = requireFromRoot(pkg.name);
  } catch (e) {
    problems.push(`${where}: require() failed: ${String(e?.message ?? e).split('\n')[0]}`);
  }
  const t1 = performance.now();
  let imported;
  try {
    imported = await import(pkg.name);
  } catch (e) {
    problems.push(`${where}: import() failed: ${String(e?.message ?? e).split('\n')[0]}`);
  }
  if (required && imported) {
    const keys = Object.keys(imported).filter((k) => k !== 'default');
    const different = keys.filter((k) => required[k] !== imported[k]);
    if (!keys.length) problems.push(`${where}: exports nothing`);
    if (different.length) problems.push(`${where}: require() and import() give different copies (${different.slice(0, 3).join(', ')})`);
    console.log(`  ok ${pkg.name}: require() and import() give the same ${keys.length} exports (require ${Math.round(t1 - t0)} ms)`);
  }
}

if (problems.length) {
  console.error(`check-packages: ${problems.length} problem(s):\n` + problems.map((p) => `  - ${p}`).join('\n'));
  process.exit(1);
}
console.log(`check-packages: ${packages.length} packages load with require() and import(), one copy each, LICENSE included`);
