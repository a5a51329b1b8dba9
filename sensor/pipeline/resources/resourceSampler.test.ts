import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ResourceSampler } from './resourceSampler.ts';

// The process walk reads a process's cgroup file when the pid is new and once more at the next sample,
// then not again while the pid lives (every 20th sample re-reads all). Fixture trees: a /proc with cgroup
// files and a hybrid (v1) cgroup mount holding each container's CPU counter.
const tmp = mkdtempSync(join(tmpdir(), 'understory-sampler-'));
const proc = join(tmp, 'proc');
const cgroup = join(tmp, 'cgroup');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const id = (c: string) => c.repeat(64);
const dockerPath = (c: string) => `/docker/${id(c)}`;

function processIn(pid: number, path: string): void {
  mkdirSync(join(proc, String(pid)), { recursive: true });
  writeFileSync(join(proc, String(pid), 'cgroup'), `4:cpu,cpuacct:${path}\n3:memory:${path}\n0::/\n`);
}

function container(c: string, cpuNs: number): void {
  mkdirSync(join(cgroup, 'cpuacct', dockerPath(c)), { recursive: true });
  writeFileSync(join(cgroup, 'cpuacct', dockerPath(c), 'cpuacct.usage'), `${cpuNs}\n`);
}

function cpuByWorkload(s: ResourceSampler): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of s.samples())
    if (x.name === 'container_cpu_usage_seconds_total') out[x.labels.workload!] = x.value;
  return out;
}

describe('ResourceSampler process walk', () => {
  it('reads a cgroup file twice per process, notices moves, new and gone processes', () => {
    mkdirSync(cgroup, { recursive: true });
    container('a', 1e9);
    container('b', 2e9);
    processIn(10, dockerPath('a'));
    processIn(11, '/user.slice'); // not in a container yet: the runtime moves it in right after
    const s = new ResourceSampler({ procRoot: proc, cgroupRoot: cgroup, host: 'n' });
    expect(cpuByWorkload(s)).toEqual({ aaaaaaaaaaaa: 1 });
    expect(s.counts.cgroupReads).toBe(2);

    processIn(11, dockerPath('b'));
    expect(cpuByWorkload(s)).toEqual({ aaaaaaaaaaaa: 1, bbbbbbbbbbbb: 2 });
    expect(s.counts.cgroupReads).toBe(4); // the second read of each settles it

    // Settled pids are not read again; a new one is, and a gone one stops counting.
    processIn(12, dockerPath('a'));
    rmSync(join(proc, '10'), { recursive: true });
    expect(cpuByWorkload(s)).toEqual({ aaaaaaaaaaaa: 1, bbbbbbbbbbbb: 2 });
    expect(s.counts.cgroupReads).toBe(5);
    rmSync(join(proc, '12'), { recursive: true });
    expect(cpuByWorkload(s)).toEqual({ bbbbbbbbbbbb: 2 });
    expect(s.counts.cgroupReads).toBe(5);

    // A settled pid is read again at the periodic full pass (here: a reused pid now in container a).
    processIn(11, dockerPath('a'));
    for (let i = 4; i < 20; i++) cpuByWorkload(s);
    expect(s.counts.cgroupReads).toBe(5);
    expect(cpuByWorkload(s)).toEqual({ aaaaaaaaaaaa: 1 });
    expect(s.counts.cgroupReads).toBe(6);
  });
});
