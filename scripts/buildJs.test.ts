import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PCAP_DIR } from '../sensor/protocols/testkit-b/goldenCalls.ts';

/**
 * scripts/build-js.mjs makes the tree the images run (plain node, no tsx). The compiled `understory` must answer
 * exactly like the sources: replay of a real capture (every protocol module, the pcap reader), the sensor's
 * config check (the sensor's modules, the addon and BPF object found at their relative paths), and the
 * migrations' SQL files found by the in-cluster code.
 */
const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const capture = join(PCAP_DIR, 'mysql/deepflow__mysql__partial-packet-compressed.pcap');
let out: string;

beforeAll(async () => {
  out = join(mkdtempSync(join(tmpdir(), 'understory-js-')), 'tree');
  await run(process.execPath, [join(repo, 'scripts/build-js.mjs'), out], { cwd: repo });
  symlinkSync(join(repo, 'node_modules'), join(out, 'node_modules'));
}, 180_000);

afterAll(() => {
  if (out) rmSync(join(out, '..'), { recursive: true, force: true });
});

const understory = (cwd: string, args: string[]) =>
  run(process.execPath, [join(cwd, 'bin/understory.mjs'), ...args], { cwd, maxBuffer: 16 << 20 });

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(suffix) && !f.includes('node_modules'));
}

describe('scripts/build-js.mjs', () => {
  it('leaves JavaScript only: no TypeScript source, no test, no test data', () => {
    expect(filesUnder(out, '.ts')).toEqual([]);
    expect(filesUnder(out, '.test.js')).toEqual([]);
    expect(filesUnder(out, 'testdata')).toEqual([]);
    expect(existsSync(join(out, 'cli/main.js'))).toBe(true);
    expect(existsSync(join(out, 'db/clickhouse'))).toBe(true);
  });

  it('replays a capture exactly like the sources', async () => {
    const args = ['replay', '--decode-as', '20871=mysql', capture];
    const [compiled, sources] = await Promise.all([understory(out, args), understory(repo, args)]);
    expect(compiled.stdout.split('\n').filter(Boolean)).toHaveLength(2);
    expect(compiled.stdout).toBe(sources.stdout);
  }, 120_000);

  it('runs the sensor config check with its own modules', async () => {
    const { stdout } = await understory(out, ['sensor', '--check-config']);
    const { stdout: fromSources } = await understory(repo, ['sensor', '--check-config']);
    expect(stdout).toBe(fromSources);
    expect(stdout.length).toBeGreaterThan(0);
  }, 120_000);

  it('refuses to build over the sources', async () => {
    await expect(run(process.execPath, [join(repo, 'scripts/build-js.mjs'), repo])).rejects.toThrow(
      /cannot build into .*: it holds the sources/,
    );
  });
});
