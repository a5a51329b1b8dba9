import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupSamples, nodeSamples, type Sample, toFlatSeries } from './procMetrics.ts';

// Fixture trees shaped like /proc and cgroupfs (coroot-node-agent style), plus one read of this machine.
const root = mkdtempSync(join(tmpdir(), 'understory-proc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 't-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}
const pick = (s: Sample[], name: string) => s.filter((x) => x.name === name).map((x) => [x.labels, x.value]);

describe('nodeSamples', () => {
  const proc = tree({
    stat: 'cpu  300 0 200 1000 0 0 0 0 0 0\ncpu0 150 0 100 500 10 0 5 0 0 0\ncpu1 150 0 100 500 0 0 0 0 0 0\nintr 1 2\n',
    meminfo:
      'MemTotal:       16384 kB\nMemFree:         1024 kB\nMemAvailable:    8192 kB\nHugePages_Total:       0\n',
    'net/dev':
      'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0\n  eth0: 5000 50 0 0 0 0 0 0 7000 70 0 0 0 0 0 0\n',
    diskstats:
      '   7       0 loop0 1 0 8 0 0 0 0 0 0 0 0 0 0\n   8       0 sda 100 0 2048 10 50 0 4096 20 0 30 30 0 0 0 0\n',
  });
  const s = nodeSamples(proc);
  it.each([
    ['node_cpu_seconds_total', [{ cpu: '0', mode: 'user' }, 1.5]],
    ['node_cpu_seconds_total', [{ cpu: '0', mode: 'iowait' }, 0.1]],
    ['node_cpu_seconds_total', [{ cpu: '1', mode: 'idle' }, 5]],
    ['node_memory_MemTotal_bytes', [{}, 16384 * 1024]],
    ['node_memory_MemAvailable_bytes', [{}, 8192 * 1024]],
    ['node_network_receive_bytes_total', [{ device: 'eth0' }, 5000]],
    ['node_network_transmit_bytes_total', [{ device: 'eth0' }, 7000]],
    ['node_disk_read_bytes_total', [{ device: 'sda' }, 2048 * 512]],
    ['node_disk_written_bytes_total', [{ device: 'sda' }, 4096 * 512]],
  ])('%s %o', (name, want) => {
    expect(pick(s, name)).toContainEqual(want);
  });

  it('skips the total cpu line, loop devices and memory fields it does not export', () => {
    expect(pick(s, 'node_cpu_seconds_total')).toHaveLength(16);
    expect(pick(s, 'node_disk_read_bytes_total')).toHaveLength(1);
    expect(s.some((x) => x.name.includes('HugePages'))).toBe(false);
  });

  it('reads this machine', () => {
    const real = nodeSamples();
    expect(pick(real, 'node_memory_MemTotal_bytes')[0]![1]).toBeGreaterThan(0);
    expect(pick(real, 'node_cpu_seconds_total').length).toBeGreaterThanOrEqual(8);
  });

  it('yields nothing for a missing tree', () => {
    expect(nodeSamples(join(root, 'missing'))).toEqual([]);
  });
});

describe('cgroupSamples', () => {
  const labels = { container: 'app', pod: 'cart-1' };
  it.each<[string, Record<string, string>, string, [number, number]]>([
    [
      'v2',
      {
        'kubepods/pod1/c1/cpu.stat': 'usage_usec 2500000\nuser_usec 2000000\n',
        'kubepods/pod1/c1/memory.current': '1048576\n',
      },
      'kubepods/pod1/c1',
      [2.5, 1048576],
    ],
    [
      'v1',
      {
        'cpuacct/kubepods/pod1/c1/cpuacct.usage': '3000000000\n',
        'memory/kubepods/pod1/c1/memory.usage_in_bytes': '2048\n',
      },
      'kubepods/pod1/c1',
      [3, 2048],
    ],
  ])('cgroup %s', (_v, files, path, [cpu, mem]) => {
    const s = cgroupSamples(tree(files), path, labels);
    expect(s).toEqual([
      { name: 'container_cpu_usage_seconds_total', labels, value: cpu },
      { name: 'container_memory_usage_bytes', labels, value: mem },
    ]);
  });

  it('yields nothing for a cgroup that is gone', () => {
    expect(cgroupSamples(root, 'nope', labels)).toEqual([]);
  });
});

describe('toFlatSeries', () => {
  it('sorts labels with __name__ and adds the sender labels', () => {
    expect(
      toFlatSeries([{ name: 'node_cpu_seconds_total', labels: { mode: 'idle', cpu: '0' }, value: 5 }], {
        node: 'n1',
      }),
    ).toEqual([
      { pairs: ['__name__', 'node_cpu_seconds_total', 'cpu', '0', 'mode', 'idle', 'node', 'n1'], value: 5 },
    ]);
  });
});
