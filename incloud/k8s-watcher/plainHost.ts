import { readdir, readFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { ContainerEntry, ProcessEntry, WorkloadRef } from './client/types.ts';
import type { EntryLog } from './entryLog.ts';

/** What /proc/<pid>/cgroup says a process runs in. */
export interface CgroupIdentity {
  containerId?: string;
  runtime?: string;
  /** systemd unit without its suffix, e.g. `nginx` for `nginx.service`. */
  unit?: string;
}

// Runtime-specific cgroup path shapes (cgroupfs and systemd drivers, v1 and v2).
const CONTAINER_PATTERNS: [RegExp, string][] = [
  [/docker-([0-9a-f]{64})\.scope/, 'docker'],
  [/\/docker\/([0-9a-f]{64})/, 'docker'],
  [/cri-containerd-([0-9a-f]{64})\.scope/, 'containerd'],
  [/crio-(?:conmon-)?([0-9a-f]{64})\.scope/, 'cri-o'],
  [/libpod-([0-9a-f]{64})\.scope/, 'podman'],
  [/\/kubepods[^\n]*\/([0-9a-f]{64})(?:\.scope)?$/, 'kubernetes'],
  [/\/lxc(?:\.payload)?[./]([^/\n]+)/, 'lxc'],
];

export function parseCgroup(text: string): CgroupIdentity {
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    for (const [re, runtime] of CONTAINER_PATTERNS) {
      const m = re.exec(path);
      if (m?.[1]) return { containerId: m[1], runtime };
    }
  }
  for (const line of text.split('\n')) {
    const m = /\/([^/]+)\.service$/.exec(line);
    if (m?.[1]) return { unit: m[1] };
  }
  return {};
}

export interface PlainHostOptions {
  procRoot: string;
  scanIntervalMs: number;
  /** Most processes published; a host with more gets the lowest pids (and a log line). */
  maxProcesses: number;
}

export const DEFAULT_PLAIN_HOST_OPTIONS: PlainHostOptions = {
  procRoot: '/proc',
  scanIntervalMs: 5000,
  maxProcesses: 20_000,
};

/**
 * Plain-host mode (no cluster, e.g. `understory up` on a laptop): local processes and containers become
 * the workloads. A process in a container belongs to the container's workload, one in a systemd service
 * to the unit, any other to its command name. The host itself is the node. Rescanned on a timer; the
 * entry log turns unchanged entries into no-ops, so only real changes reach the sensors.
 */
export class PlainHostScanner {
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private published = new Set<string>();
  scans = 0;
  lastError: string | undefined;

  constructor(
    private readonly log: EntryLog,
    private readonly opts: PlainHostOptions = DEFAULT_PLAIN_HOST_OPTIONS,
  ) {}

  async start(): Promise<void> {
    await this.scan();
    this.timer = setInterval(() => void this.scan(), this.opts.scanIntervalMs);
    this.timer.unref();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.scanning;
  }

  scan(): Promise<void> {
    this.scanning ??= this.scanOnce().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.opts.procRoot);
    } catch (err) {
      this.lastError = `cannot read ${this.opts.procRoot}: ${(err as Error).message}`;
      return;
    }
    const pids = names
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b)
      .slice(0, this.opts.maxProcesses);
    const next = new Set<string>();
    const host = hostname();
    next.add(`node/${host}`);
    this.log.put(`node/${host}`, { type: 'node', name: host, ips: localIps() });
    for (const pid of pids) {
      const proc = await this.readProcess(pid);
      if (!proc) continue;
      next.add(`process/${pid}`);
      this.log.put(`process/${pid}`, proc.process);
      if (proc.container) {
        next.add(`container/${proc.container.id}`);
        this.log.put(`container/${proc.container.id}`, proc.container);
      }
    }
    for (const key of this.published) if (!next.has(key)) this.log.delete(key);
    this.published = next;
    this.scans++;
    this.lastError = undefined;
  }

  private async readProcess(
    pid: number,
  ): Promise<{ process: ProcessEntry; container?: ContainerEntry } | undefined> {
    const dir = join(this.opts.procRoot, String(pid));
    let comm: string;
    let cgroup: string;
    let cmdline: string;
    try {
      [comm, cgroup, cmdline] = await Promise.all([
        readFile(join(dir, 'comm'), 'utf8'),
        readFile(join(dir, 'cgroup'), 'utf8'),
        readFile(join(dir, 'cmdline'), 'utf8'),
      ]);
    } catch {
      return undefined; // exited meanwhile, or not readable: not ours to publish
    }
    // Kernel threads have an empty command line; they make no network calls worth naming.
    if (cmdline.length === 0) return undefined;
    const name = comm.trim();
    const id = parseCgroup(cgroup);
    let workload: WorkloadRef;
    let container: ContainerEntry | undefined;
    if (id.containerId) {
      workload = { kind: 'Container', name: id.containerId.slice(0, 12), namespace: '' };
      container = { type: 'container', id: id.containerId, runtime: id.runtime ?? 'unknown', workload };
    } else if (id.unit) {
      workload = { kind: 'SystemdUnit', name: id.unit, namespace: '' };
    } else {
      workload = { kind: 'Process', name, namespace: '' };
    }
    const process: ProcessEntry = { type: 'process', pid, comm: name, workload };
    if (id.containerId) process.containerId = id.containerId;
    return container ? { process, container } : { process };
  }
}

function localIps(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal)
    .map((a) => a!.address)
    .sort();
}
