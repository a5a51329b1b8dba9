#!/usr/bin/env node
// `node scripts/build-js.mjs <out-dir>`: the runtime tree (bin, cli, lib, incloud, sensor, db, package.json)
// compiled to plain JavaScript in <out-dir>, for the container images and the sensor benchmark.
//
// Why: `bin/understory.mjs` normally runs the TypeScript sources through tsx, whose loader keeps a second V8
// isolate (a hooks thread) alive for the life of the process: ~35 MiB of RSS, which matters for the sensor
// (one per node, <= 150 MB). The compiled tree runs on plain `node`; bin/understory.mjs picks it when
// cli/main.js exists beside it. Development and tests keep running the sources (one way to run each thing:
// `understory <command>`; this only changes what the launcher loads).
//
// How: copy the sources (no tests, test data or local state), then `tsc --noCheck` in place with
// rewriteRelativeImportExtensions (imports of `./x.ts` become `./x.js`, dynamic ones too), then drop the .ts
// files. Assets found relative to a module (the BPF object, the addon, .proto files, SQL migrations) keep their
// place because every file keeps its path. Type checking is `npm test`'s job, not this script's.
// node_modules is not copied: the caller provides it (the image copies it, the benchmark links it).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/build-js.mjs <out-dir>');
  process.exit(2);
}
const dest = resolve(out);
if (dest === resolve(repo) || resolve(repo).startsWith(`${dest}/`)) {
  console.error(`cannot build into ${dest}: it holds the sources`);
  process.exit(2);
}

const DIRS = ['bin', 'cli', 'lib', 'incloud', 'sensor', 'db'];
// Not shipped: tests and their data, editor/tool state, local data directories, native build intermediates.
const skip = (name) =>
  name.endsWith('.test.ts') ||
  name.endsWith('.d.ts') ||
  name === 'testdata' ||
  name === 'node_modules' ||
  name === '.understory' ||
  name === '.wrangler' ||
  name === 'obj.target' ||
  name === '.deps';

rmSync(dest, { recursive: true, force: true });
mkdirSync(dest, { recursive: true });
cpSync(join(repo, 'package.json'), join(dest, 'package.json'));
for (const d of DIRS) {
  cpSync(join(repo, d), join(dest, d), { recursive: true, filter: (src) => !skip(basename(src)) });
}

const tsconfig = {
  compilerOptions: {
    target: 'ES2023',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    verbatimModuleSyntax: true,
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    isolatedModules: true,
    noCheck: true,
    skipLibCheck: true,
    types: [],
    sourceMap: false,
    declaration: false,
  },
  include: DIRS.map((d) => `${d}/**/*.ts`),
};
writeFileSync(join(dest, 'tsconfig.build.json'), JSON.stringify(tsconfig, null, 2));
const tsc = join(repo, 'node_modules/typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', join(dest, 'tsconfig.build.json')], { stdio: 'inherit' });
} catch {
  console.error('cannot build the JavaScript tree: tsc failed (above)');
  process.exit(1);
}

// The compiled tree must not keep the sources: the launcher would still work, but the image would ship both.
let compiled = 0;
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
      if (!existsSync(`${p.slice(0, -3)}.js`)) {
        console.error(`cannot build the JavaScript tree: ${p} was not compiled`);
        process.exit(1);
      }
      rmSync(p);
      compiled++;
    }
  }
};
for (const d of DIRS) walk(join(dest, d));
rmSync(join(dest, 'tsconfig.build.json'));
console.log(`build-js: ${compiled} modules compiled into ${dest}`);
