import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessTable } from './processTable.ts';

const proc = mkdtempSync(join(tmpdir(), 'understory-ptable-'));
afterAll(() => rmSync(proc, { recursive: true, force: true }));
function put(pid: number, comm: string, cgroup: string): void {
  mkdirSync(join(proc, String(pid)), { recursive: true });
  writeFileSync(join(proc, String(pid), 'comm'), `${comm}\n`);
  writeFileSync(join(proc, String(pid), 'cgroup'), cgroup);
}
const ID = 'a1b2'.repeat(16);

describe('ProcessTable', () => {
  it.each([
    // [cgroup file, expected facts]
    [`0::/system.slice/docker-${ID}.scope\n`, { comm: 'p', containerId: ID }],
    [
      `0::/kubepods/burstable/pod0b7f3a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b/${ID}\n`,
      { comm: 'p', containerId: ID, podUid: '0b7f3a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b' },
    ],
    ['12:pids:/system.slice/nginx.service\n0::/\n', { comm: 'p', unit: 'nginx' }],
    ['0::/user.slice/user-0.slice/session-3.scope\n', { comm: 'p' }],
    ['', { comm: 'p' }],
  ] as const)('%j', (cgroup, facts) => {
    put(7, 'p', cgroup);
    expect(new ProcessTable({ procRoot: proc }).get(7)).toEqual(facts);
  });

  it('re-reads a pid after refreshMs (pid reuse) and on forget, and stays within maxPids', () => {
    let now = 0;
    const t = new ProcessTable({ procRoot: proc, refreshMs: 1000, maxPids: 2 }, () => now);
    put(10, 'old', '');
    expect(t.get(10).comm).toBe('old');
    put(10, 'new', '');
    expect(t.get(10).comm).toBe('old');
    now = 1000;
    expect(t.get(10).comm).toBe('new');
    put(10, 'newer', '');
    t.forget(10);
    expect(t.get(10).comm).toBe('newer');
    put(11, 'b', '');
    put(12, 'c', '');
    t.get(11);
    t.get(12);
    expect(t.size).toBe(2);
    const reads = t.reads;
    t.get(12);
    expect(t.reads).toBe(reads);
    expect(t.get(999_999)).toEqual({ comm: 'unknown' });
  });
});
