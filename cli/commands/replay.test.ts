import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PCAPS = resolve(ROOT, '../shared/testdata/pcaps');
const run = (args: string[]) =>
  promisify(execFile)('node', [join(ROOT, 'bin/understory.mjs'), 'replay', ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

describe('understory replay', () => {
  it('prints one JSON object per call with the documented fields', async () => {
    const r = await run([join(PCAPS, 'http/zeek__http__pipelined-requests.pcap')]);
    expect(r.code).toBe(0);
    const calls = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(calls).toHaveLength(5);
    expect(calls[0]).toMatchObject({
      protocol: 'http',
      method: 'GET',
      resource: '/style/enhanced.css',
      status: '200',
      error: false,
    });
    for (const k of ['start_ns', 'duration_ns', 'client', 'server', 'role', 'req_bytes', 'resp_bytes'])
      expect(calls[0]).toHaveProperty(k);
    // Nanosecond times are exact integers in the text (beyond 2^53).
    expect(r.stdout).toMatch(/"start_ns":\d{19},/);
    expect(calls[0].client).toMatch(/^\d+\.\d+\.\d+\.\d+:\d+$/);
  });

  it('summarises gzip-compressed captures per protocol', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-'));
    const file = join(dir, 'dns.pcap.gz');
    writeFileSync(file, gzipSync(readFileSync(join(PCAPS, 'dns/sv__lua-output-dns__test.pcap'))));
    const r = await run(['--summary', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^dns\s+5\s+1$/m);
  });

  it('applies --decode-as and rejects unknown protocols', async () => {
    const ok = await run([
      '--summary',
      '--decode-as',
      '29518=http2',
      join(PCAPS, 'http2/ndpi__http2.pcapng'),
    ]);
    expect(ok.stdout).toMatch(/^http2\s+1\s+0$/m);
    const bad = await run(['--decode-as', '80=gopher', join(PCAPS, 'http2/ndpi__http2.pcapng')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown protocol gopher');
  });

  it('fails with a clear message and exit code 1 on bad files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-'));
    const junk = join(dir, 'junk.pcap');
    writeFileSync(junk, 'this is not a capture file');
    const r = await run([junk]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot replay');
    expect(r.stderr).toContain('not a pcap or pcapng file');
    const missing = await run([join(dir, 'missing.pcap')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read capture');
  });
});
