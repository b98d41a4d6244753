#!/usr/bin/env node
/*
 * Every ```ts / ```typescript block of every README (root, packages/*, apps/*) is an example a
 * user will paste: this type-checks them all with `tsc --strict` (one invocation) against the
 * built packages, resolved the way a user's project resolves them (node_modules, `exports`,
 * `types`), then runs each one with node, one after another.
 *
 * A marker in an HTML comment on the line before a block changes what happens to it:
 *   <!-- example: typecheck-only (why) -->  type-check, do not run (needs MNIST files, writes big files...)
 *   <!-- example: continues -->             the block continues the previous block of the same README:
 *                                           both are checked and run as one program
 * A block that is not a program (an API listing) should be fenced as ```text, not ```ts.
 *
 * Blocks run on the wasm backend: unless a block selects a backend itself (selectBackend), a
 * preload selects 'wasm' first. Each runs in its own folder under .tmp-examples/run/, so files an
 * example writes (reconstructions.png, cwd: '.') stay there.
 *
 *   node scripts/readme-examples.mjs [--typecheck-only] [filter...]   (filters match block names)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.tmp-examples');
const require = createRequire(join(root, 'package.json'));
const args = process.argv.slice(2);
const typecheckOnly = args.includes('--typecheck-only');
const filters = args.filter((a) => !a.startsWith('--'));
const RUN_TIMEOUT_MS = 120_000;

function readmes() {
  const files = ['README.md'];
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, group)).sort()) {
      if (existsSync(join(root, group, name, 'README.md'))) files.push(`${group}/${name}/README.md`);
    }
  }
  return files;
}

/** The ts blocks of one README: code, the README line of its first code line, its marker. */
function extract(file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/.exec(lines[i]);
    if (!fence) {
      // Skip over other fenced blocks so a ```ts inside them is not taken for a block.
      const other = /^\s*(`{3,}|~{3,})/.exec(lines[i]);
      if (other) while (++i < lines.length && !lines[i].trim().startsWith(other[1]));
      continue;
    }
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const marker = before >= 0 ? /^<!--\s*example:\s*([a-z-]+)/.exec(lines[before].trim())?.[1] : undefined;
    if (marker && !['typecheck-only', 'continues'].includes(marker)) {
      throw new Error(`${file}:${before + 1}: unknown example marker '${marker}' (typecheck-only, continues)`);
    }
    const start = i + 1;
    const code = [];
    while (++i < lines.length && !lines[i].trim().startsWith(fence[2])) code.push(lines[i].slice(fence[1].length));
    blocks.push({ file, line: start + 1, code, marker });
  }
  return blocks;
}

// 1. Extract. A block's program is its own code, after the code of the block it continues.
const examples = [];
for (const file of readmes()) {
  const slug = dirname(file) === '.' ? 'root' : dirname(file).replace(/\//g, '-');
  let previous;
  for (const [index, block] of extract(file).entries()) {
    const parts = block.marker === 'continues' && previous ? [...previous.parts, block] : [block];
    if (block.marker === 'continues' && !previous) throw new Error(`${file}:${block.line}: 'continues' on the first block`);
    const name = `${slug}-${index + 1}`;
    const example = { name, file, line: block.line, parts, run: block.marker !== 'typecheck-only' && !typecheckOnly };
    if (block.marker === 'typecheck-only' || parts.some((p) => p.marker === 'typecheck-only')) example.run = false;
    examples.push(example);
    previous = example;
  }
}
const selected = examples.filter((e) => !filters.length || filters.some((f) => e.name.includes(f)));
if (!selected.length) {
  console.log('readme-examples: no TypeScript blocks found' + (filters.length ? ` matching ${filters.join(', ')}` : ''));
  process.exit(filters.length ? 1 : 0);
}

// 2. Write each program; remember where its lines came from, to report errors at README lines.
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'src'), { recursive: true });
const lineMaps = new Map();
for (const e of selected) {
  const text = [];
  const map = [];
  for (const part of e.parts) {
    part.code.forEach((l, k) => {
      text.push(l);
      map.push(`${part.file}:${part.line + k}`);
    });
  }
  if (!text.some((l) => /^\s*(import|export)\b/.test(l))) text.push('export {};'); // a module, not a script
  writeFileSync(join(out, 'src', `${e.name}.ts`), text.join('\n') + '\n');
  lineMaps.set(e.name, map);
}
writeFileSync(join(out, 'package.json'), JSON.stringify({ private: true, type: 'module' }, null, 2) + '\n');
writeFileSync(
  join(out, 'tsconfig.json'),
  JSON.stringify(
    {
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022'],
        types: ['node'],
        isolatedModules: true,
        skipLibCheck: true,
      },
      include: ['src/*.ts'],
    },
    null,
    2,
  ) + '\n',
);

// 3. Type-check everything in one tsc run.
const t0 = Date.now();
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(out, 'tsconfig.json'), '--pretty', 'false'], {
  cwd: root,
  encoding: 'utf8',
});
const tscOutput = (tsc.stdout + tsc.stderr).trim();
const typeErrors = new Map();
for (const line of tscOutput.split('\n').filter(Boolean)) {
  const m = /^\.tmp-examples\/src\/([^.]+)\.ts\((\d+),(\d+)\): (.*)$/.exec(line.replace(/\\/g, '/'));
  if (!m) {
    if (!/^\s/.test(line)) console.log(line);
    continue;
  }
  const [, name, row, col, message] = m;
  const where = lineMaps.get(name)?.[Number(row) - 1] ?? `${name}:${row}`;
  if (!typeErrors.has(name)) typeErrors.set(name, []);
  typeErrors.get(name).push(`${where}:${col}: ${message}`);
}
if (tsc.status !== 0 && typeErrors.size === 0) {
  console.error(tscOutput);
  console.error('readme-examples: tsc failed');
  process.exit(1);
}
console.log(`type-checked ${selected.length} README blocks (tsc --strict, NodeNext) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
for (const [name, errors] of typeErrors) {
  console.log(`  FAIL ${name}`);
  for (const e of errors) console.log(`    ${e}`);
}

// 4. Compile with esbuild (types stripped, nothing bundled) and run each, one after another.
const esbuild = require('esbuild');
const preload = join(out, 'wasm-backend.mjs');
writeFileSync(
  preload,
  "// Selects the wasm backend before an example that does not select one itself.\n" +
    "const { selectBackend } = await import('@vaelab/core');\nawait selectBackend('wasm');\n",
);
const failedRuns = [];
let ran = 0;
for (const e of selected) {
  if (!e.run || typeErrors.has(e.name)) continue;
  const dir = join(out, 'run', e.name);
  mkdirSync(dir, { recursive: true });
  const source = readFileSync(join(out, 'src', `${e.name}.ts`), 'utf8');
  const { code } = esbuild.transformSync(source, { loader: 'ts', format: 'esm', target: 'node20', sourcefile: `${e.name}.ts` });
  writeFileSync(join(dir, 'example.mjs'), code);
  const selectsBackend = /\bselectBackend\s*\(/.test(source);
  const started = Date.now();
  const r = spawnSync(process.execPath, [...(selectsBackend ? [] : ['--import', preload]), 'example.mjs'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  ran++;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status === 0) {
    console.log(`  ok   ${e.name} (${e.file}:${e.line}) ${seconds} s`);
  } else {
    failedRuns.push(e.name);
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    console.log(`  FAIL ${e.name} (${e.file}:${e.line}) ${seconds} s: ${why}`);
    console.log((r.stderr || r.stdout).trim().split('\n').slice(-15).map((l) => `    ${l}`).join('\n'));
  }
}

const skipped = typecheckOnly ? [] : selected.filter((e) => !e.run).map((e) => e.name);
console.log(
  `readme-examples: ${selected.length} blocks; type errors in ${typeErrors.size}; ran ${ran}, failed ${failedRuns.length}` +
    (skipped.length ? `; typecheck-only: ${skipped.join(', ')}` : ''),
);
if (typeErrors.size || failedRuns.length) process.exit(1);
