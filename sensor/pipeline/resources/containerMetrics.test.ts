import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containerCgroup, containerSamples, netDevSamples, parseCgroupPaths } from './containerMetrics.ts';

const root = mkdtempSync(join(tmpdir(), 'understory-cgroup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 't-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}
const C = 'kubepods/burstable/pod1/c1';

describe('parseCgroupPaths', () => {
  it.each([
    ['v2', `0::/${C}\n`, { unified: `/${C}`, v1: {} }, `/${C}`, undefined],
    [
      'hybrid (containers only in v1)',
      `12:memory:/${C}\n4:cpu,cpuacct:/${C}\n1:name=systemd:/${C}\n0::/\n`,
      { unified: '/', v1: { memory: `/${C}`, cpu: `/${C}`, cpuacct: `/${C}`, systemd: `/${C}` } },
      undefined,
      `/${C}`,
    ],
    [
      'host process',
      '4:cpu,cpuacct:/\n0::/init.scope\n',
      { unified: '/init.scope', v1: { cpu: '/', cpuacct: '/' } },
      '/init.scope',
      undefined,
    ],
  ])('%s', (_what, text, paths, unifiedPath, v1Path) => {
    const p = parseCgroupPaths(text);
    expect(p).toEqual(paths);
    expect(containerCgroup(p, true)).toBe(unifiedPath);
    expect(containerCgroup(p, false)).toBe(v1Path);
  });
});

describe('containerSamples', () => {
  const labels = { workload: 'cart', container: 'app' };
  const value = (s: ReturnType<typeof containerSamples>) =>
    Object.fromEntries(s.map((x) => [x.name, x.value]));

  it('reads cgroup v2: cpu.stat, memory.current/stat, io.stat over devices', () => {
    const dir = tree({
      'cgroup.controllers': 'cpu io memory\n',
      [`${C}/cpu.stat`]: 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n',
      [`${C}/memory.current`]: '10485760\n',
      [`${C}/memory.stat`]: 'anon 4194304\nfile 6291456\ninactive_file 2097152\nactive_file 4194304\n',
      [`${C}/io.stat`]:
        '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=100 wbytes=0 rios=1 wios=0\n',
    });
    const s = containerSamples(dir, parseCgroupPaths(`0::/${C}\n`), labels);
    expect(value(s)).toEqual({
      container_cpu_usage_seconds_total: 2.5,
      container_memory_usage_bytes: 10485760,
      container_memory_working_set_bytes: 10485760 - 2097152,
      container_fs_reads_bytes_total: 4196,
      container_fs_writes_bytes_total: 8192,
    });
    expect(s.every((x) => x.labels === labels)).toBe(true);
  });

  it('reads cgroup v1 per controller, blkio Read/Write lines only', () => {
    const dir = tree({
      [`cpuacct/${C}/cpuacct.usage`]: '3000000000\n',
      [`memory/${C}/memory.usage_in_bytes`]: '2048000\n',
      [`memory/${C}/memory.stat`]: 'cache 100\ntotal_inactive_file 48000\n',
      [`blkio/${C}/blkio.throttle.io_service_bytes_recursive`]:
        '8:0 Read 512\n8:0 Write 1024\n8:0 Sync 1536\n8:0 Async 0\n8:0 Total 1536\nTotal 1536\n',
    });
    const paths = parseCgroupPaths(`9:blkio:/${C}\n4:cpu,cpuacct:/${C}\n3:memory:/${C}\n0::/\n`);
    expect(value(containerSamples(dir, paths, labels))).toEqual({
      container_cpu_usage_seconds_total: 3,
      container_memory_usage_bytes: 2048000,
      container_memory_working_set_bytes: 2000000,
      container_fs_reads_bytes_total: 512,
      container_fs_writes_bytes_total: 1024,
    });
  });

  it('yields nothing for a cgroup that is gone or a value that is not a number', () => {
    expect(containerSamples(root, parseCgroupPaths(`0::/${C}\n`), labels, true)).toEqual([]);
    const dir = tree({ [`memory/${C}/memory.usage_in_bytes`]: 'max\n' });
    expect(containerSamples(dir, parseCgroupPaths(`3:memory:/${C}\n`), labels, false)).toEqual([]);
  });
});

describe('netDevSamples', () => {
  it('reads every interface but lo', () => {
    const proc = tree({
      '42/net/dev':
        'Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes ...\n    lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0\n  eth0: 5000 50 0 0 0 0 0 0 7000 70 0 0 0 0 0 0\n',
    });
    expect(netDevSamples(proc, 42, { pod: 'p' }).map((s) => [s.name, s.labels.interface, s.value])).toEqual([
      ['container_network_receive_bytes_total', 'eth0', 5000],
      ['container_network_transmit_bytes_total', 'eth0', 7000],
    ]);
    expect(netDevSamples(proc, 43, {})).toEqual([]);
  });
});
