import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sample } from './procMetrics.ts';

/**
 * One container's CPU, memory and disk I/O from its cgroup, and a network namespace's traffic, named like
 * cAdvisor's series. Pure readers of a root directory (fixture trees in tests); a file that cannot be read
 * gives no sample.
 *
 * Where a process's cgroup is: /proc/<pid>/cgroup has `0::<path>` for the unified (v2) hierarchy and
 * `<id>:<controllers>:<path>` per v1 hierarchy. On a hybrid host (like the test machines) every process is
 * `0::/` in v2 and containers show only in the v1 lines, so the v1 paths win whenever they name a cgroup
 * below the root; a pure v2 host (`<cgroupRoot>/cgroup.controllers` exists) uses the unified path.
 */
export interface CgroupPaths {
  /** Unified hierarchy path (`0::<path>`). */
  unified?: string;
  /** v1 controller -> path; comounted controllers (`cpu,cpuacct`) are listed under each name. */
  v1: Record<string, string>;
}

export function parseCgroupPaths(text: string): CgroupPaths {
  const out: CgroupPaths = { v1: {} };
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1).trim();
    if (line.slice(0, first) === '0' && controllers === '') out.unified = path;
    else for (const c of controllers.split(',')) if (c) out.v1[c.replace(/^name=/, '')] = path;
  }
  return out;
}

/** True when `cgroupRoot` is a pure v2 (unified) mount. */
export function isUnifiedRoot(cgroupRoot: string): boolean {
  return existsSync(join(cgroupRoot, 'cgroup.controllers'));
}

export function containerSamples(
  cgroupRoot: string,
  paths: CgroupPaths,
  labels: Record<string, string>,
  unified = isUnifiedRoot(cgroupRoot),
): Sample[] {
  const out: Sample[] = [];
  const add = (name: string, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value)) out.push({ name, labels, value });
  };
  if (unified) {
    if (!paths.unified) return out;
    const dir = join(cgroupRoot, paths.unified);
    add('container_cpu_usage_seconds_total', field(read(join(dir, 'cpu.stat')), 'usage_usec', 1e-6));
    const usage = num(read(join(dir, 'memory.current')));
    add('container_memory_usage_bytes', usage);
    add(
      'container_memory_working_set_bytes',
      workingSet(usage, read(join(dir, 'memory.stat')), 'inactive_file'),
    );
    const io = ioStatV2(read(join(dir, 'io.stat')));
    add('container_fs_reads_bytes_total', io?.read);
    add('container_fs_writes_bytes_total', io?.write);
    return out;
  }
  const v1 = (controller: string, file: string) => {
    const p = paths.v1[controller];
    return p === undefined ? undefined : read(join(cgroupRoot, controller, p, file));
  };
  add('container_cpu_usage_seconds_total', scaled(num(v1('cpuacct', 'cpuacct.usage')), 1e-9));
  const usage = num(v1('memory', 'memory.usage_in_bytes'));
  add('container_memory_usage_bytes', usage);
  add(
    'container_memory_working_set_bytes',
    workingSet(usage, v1('memory', 'memory.stat'), 'total_inactive_file'),
  );
  const io = blkioV1(
    v1('blkio', 'blkio.throttle.io_service_bytes_recursive') ??
      v1('blkio', 'blkio.throttle.io_service_bytes'),
  );
  add('container_fs_reads_bytes_total', io?.read);
  add('container_fs_writes_bytes_total', io?.write);
  return out;
}

/** The cgroup a process is in, below the root: undefined for processes in the root (not in a container). */
export function containerCgroup(paths: CgroupPaths, unified: boolean): string | undefined {
  const p = unified ? paths.unified : (paths.v1.cpuacct ?? paths.v1.memory);
  return p && p !== '/' ? p : undefined;
}

/**
 * Bytes received and sent per interface of the network namespace `/proc/<pid>/net/dev` shows, without
 * `lo` (traffic inside the pod is not network use).
 */
export function netDevSamples(procRoot: string, pid: number, labels: Record<string, string>): Sample[] {
  const text = read(join(procRoot, String(pid), 'net', 'dev'));
  const out: Sample[] = [];
  for (const line of text?.split('\n').slice(2) ?? []) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const iface = m[1]!.trim();
    if (iface === 'lo') continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    if (!Number.isFinite(v[0]) || !Number.isFinite(v[8])) continue;
    const l = { ...labels, interface: iface };
    out.push({ name: 'container_network_receive_bytes_total', labels: l, value: v[0]! });
    out.push({ name: 'container_network_transmit_bytes_total', labels: l, value: v[8]! });
  }
  return out;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function num(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

function scaled(v: number | undefined, by: number): number | undefined {
  return v === undefined ? undefined : v * by;
}

/** `key value` lines (cpu.stat, memory.stat). */
function field(text: string | undefined, key: string, by = 1): number | undefined {
  if (text === undefined) return undefined;
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) * by : undefined;
}

/** cAdvisor's working set: usage minus inactive page cache (reclaimable), never below 0. */
function workingSet(usage: number | undefined, stat: string | undefined, key: string): number | undefined {
  if (usage === undefined) return undefined;
  const inactive = field(stat, key);
  return inactive === undefined ? undefined : Math.max(0, usage - inactive);
}

/** v2 io.stat: `<maj>:<min> rbytes=N wbytes=N rios=N ...` per device, summed. */
function ioStatV2(text: string | undefined): { read: number; write: number } | undefined {
  if (text === undefined) return undefined;
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    read += Number(/\brbytes=(\d+)/.exec(line)?.[1] ?? 0);
    write += Number(/\bwbytes=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { read, write };
}

/** v1 blkio.throttle.io_service_bytes: `<maj>:<min> Read|Write|Sync|Async|Discard|Total N`, summed. */
function blkioV1(text: string | undefined): { read: number; write: number } | undefined {
  if (text === undefined) return undefined;
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    const m = /^\d+:\d+ (Read|Write) (\d+)$/.exec(line.trim());
    if (m?.[1] === 'Read') read += Number(m[2]);
    else if (m?.[1] === 'Write') write += Number(m[2]);
  }
  return { read, write };
}
