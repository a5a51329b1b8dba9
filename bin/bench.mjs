#!/usr/bin/env node
// `npm run bench [name ...]`: runs bench/**/<name>.bench.ts files (all when no name is given).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../bench/', import.meta.url).pathname;
const all = readdirSync(root, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
const wanted = process.argv.slice(2);
const chosen = wanted.length === 0 ? all : all.filter((f) => wanted.some((w) => f.includes(w)));
if (chosen.length === 0) {
  console.error(`no benchmark matches ${wanted.join(' ')}; have: ${all.join(', ') || 'none'}`);
  process.exit(2);
}
let failed = 0;
for (const f of chosen) {
  console.log(`\n== bench ${f}`);
  const r = spawnSync('node', ['--import', 'tsx', join(root, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
