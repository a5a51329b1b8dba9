import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Node and container resource metrics read from /proc and cgroupfs, as Prometheus samples named like
 * node_exporter's (node) and cAdvisor's (container) so existing dashboards and queries apply. Pure readers of
 * a root directory, so tests use fixture trees; unreadable files yield no samples (counted by the caller).
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** USER_HZ: /proc/stat counts CPU time in 1/100 s on Linux (x86-64, arm64). */
const USER_HZ = 100;
const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];

export function nodeSamples(procRoot = '/proc'): Sample[] {
  const out: Sample[] = [];
  const stat = read(join(procRoot, 'stat'));
  for (const line of stat?.split('\n') ?? []) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    CPU_MODES.forEach((mode, i) => {
      if (Number.isFinite(v[i]))
        out.push({ name: 'node_cpu_seconds_total', labels: { cpu: m[1]!, mode }, value: v[i]! / USER_HZ });
    });
  }
  const mem = read(join(procRoot, 'meminfo'));
  for (const line of mem?.split('\n') ?? []) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?$/.exec(line.trim());
    if (
      !m ||
      !['MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'SwapTotal', 'SwapFree'].includes(m[1]!)
    )
      continue;
    out.push({ name: `node_memory_${m[1]}_bytes`, labels: {}, value: Number(m[2]) * 1024 });
  }
  const net = read(join(procRoot, 'net/dev'));
  for (const line of net?.split('\n').slice(2) ?? []) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const device = m[1]!.trim();
    out.push({ name: 'node_network_receive_bytes_total', labels: { device }, value: v[0]! });
    out.push({ name: 'node_network_transmit_bytes_total', labels: { device }, value: v[8]! });
  }
  const disk = read(join(procRoot, 'diskstats'));
  for (const line of disk?.split('\n') ?? []) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const device = f[2]!;
    if (/^(loop|ram)\d+$/.test(device)) continue;
    // Sectors are 512 bytes in /proc/diskstats whatever the device's sector size.
    out.push({ name: 'node_disk_read_bytes_total', labels: { device }, value: Number(f[5]) * 512 });
    out.push({ name: 'node_disk_written_bytes_total', labels: { device }, value: Number(f[9]) * 512 });
  }
  return out;
}

/**
 * CPU and memory of one container's cgroup. v2: `<root>/<path>/cpu.stat`, `memory.current`; v1:
 * `<root>/cpuacct/<path>/cpuacct.usage` (ns) and `<root>/memory/<path>/memory.usage_in_bytes`.
 */
export function cgroupSamples(cgroupRoot: string, path: string, labels: Record<string, string>): Sample[] {
  const out: Sample[] = [];
  const v2cpu = read(join(cgroupRoot, path, 'cpu.stat'));
  if (v2cpu !== undefined) {
    const usec = /^usage_usec (\d+)$/m.exec(v2cpu);
    if (usec) out.push({ name: 'container_cpu_usage_seconds_total', labels, value: Number(usec[1]) / 1e6 });
    const mem = read(join(cgroupRoot, path, 'memory.current'));
    if (mem !== undefined)
      out.push({ name: 'container_memory_usage_bytes', labels, value: Number(mem.trim()) });
    return out;
  }
  const ns = read(join(cgroupRoot, 'cpuacct', path, 'cpuacct.usage'));
  if (ns !== undefined)
    out.push({ name: 'container_cpu_usage_seconds_total', labels, value: Number(ns.trim()) / 1e9 });
  const mem = read(join(cgroupRoot, 'memory', path, 'memory.usage_in_bytes'));
  if (mem !== undefined)
    out.push({ name: 'container_memory_usage_bytes', labels, value: Number(mem.trim()) });
  return out;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Samples as remote-write series (labels sorted, `__name__` included) for `RemoteWriteExporter`'s source. */
export function toFlatSeries(
  samples: readonly Sample[],
  extraLabels: Record<string, string> = {},
): { pairs: string[]; value: number }[] {
  return samples.map((s) => {
    const all = Object.entries({ ...extraLabels, ...s.labels, __name__: s.name });
    all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return { pairs: all.flat(), value: s.value };
  });
}
