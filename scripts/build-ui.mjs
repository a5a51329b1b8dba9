#!/usr/bin/env node
// Builds the hosted UI (edge/ui, Vite + React) into edge/public, which the edge worker serves as static
// assets. Called by scripts/setup.sh; skips the build when edge/ui's sources, the lock file and Node are the
// same as last time (a stamp file holds their hash). `--force` rebuilds anyway.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const uiDir = join(root, 'edge/ui');
const outDir = join(root, 'edge/public');
const stampFile = join(root, 'node_modules/.understory-ui.sha256');
const force = process.argv.includes('--force');

/** Every source file under edge/ui except tests, sorted so the hash is stable. */
function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (!name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function sourcesHash() {
  const h = createHash('sha256');
  for (const f of [...sources(uiDir), join(root, 'package-lock.json'), fileURLToPath(import.meta.url)]) {
    h.update(relative(root, f)).update(readFileSync(f));
  }
  h.update(process.version);
  return h.digest('hex');
}

const want = sourcesHash();
const built = existsSync(join(outDir, 'index.html')) && existsSync(join(outDir, 'assets'));
if (!force && built && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want) {
  console.log('build-ui: edge/public up to date');
  process.exit(0);
}
const started = Date.now();
try {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(uiDir, 'vite.config.ts')],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    },
  );
} catch (err) {
  const out = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
  console.error(`build-ui: cannot build edge/ui: ${out.split('\n').slice(-30).join('\n') || err.message}`);
  process.exit(1);
}
writeFileSync(stampFile, want);
console.log(`build-ui: built edge/public in ${Date.now() - started} ms`);
