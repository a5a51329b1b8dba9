#!/usr/bin/env node
// The one test command (`npm test`): format + lint, typecheck, then every suite (Node-side and the edge
// inside workerd). Ends with a plain "tests: N passed, N failed" line that CI reads.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';

const offline = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
};
const env = { ...process.env, ...offline };
const vitestArgs = process.argv.slice(2);

function step(name, cmd, args) {
  process.stdout.write(`\n== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    process.stdout.write(`\n== ${name} failed (exit ${r.status ?? r.signal})\n`);
    process.stdout.write('tests: 0 passed, 1 failed\n');
    process.exit(1);
  }
}

if (vitestArgs.length === 0) {
  step('format and lint', 'npx', ['biome', 'ci', '--colors=off', '.']);
  step('edge types are current', 'npx', ['wrangler', 'types', 'edge/worker-configuration.d.ts', '--check']);
  step('typecheck (node)', 'npx', ['tsc', '-p', 'tsconfig.json']);
  step('typecheck (edge)', 'npx', ['tsc', '-p', 'edge/tsconfig.json']);
  step('typecheck (ui)', 'npx', ['tsc', '-p', 'edge/ui/tsconfig.json']);
  step('typecheck (ui tests)', 'npx', ['tsc', '-p', 'edge/ui/tsconfig.test.json']);
}

mkdirSync('test-artifacts', { recursive: true });
const report = 'test-artifacts/vitest.json';
process.stdout.write('\n== test suites: vitest run\n');
const r = spawnSync(
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...vitestArgs],
  { stdio: 'inherit', env },
);
let passed = 0;
let failed = 0;
try {
  const j = JSON.parse(readFileSync(report, 'utf8'));
  passed = j.numPassedTests;
  failed = j.numFailedTests + (j.numRuntimeErrors ?? 0);
  // A suite that fails to load reports no failed test: count it.
  failed += j.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
} catch {
  failed += 1;
}
if (r.status !== 0 && failed === 0) failed = 1;
if (passed === 0 && failed === 0) failed = 1; // a run that tested nothing is a failure
process.stdout.write(`\ntests: ${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
