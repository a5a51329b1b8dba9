import { readFileSync, readlinkSync } from 'node:fs';

/**
 * pid -> command, executable and container, read from /proc. Container identity comes from
 * /proc/<pid>/cgroup, which works on cgroup v1, v2 and hybrid hosts (on hybrid hosts every process is
 * `0::/` in v2 and the container shows only in the v1 hierarchies).
 */
export interface ProcessInfo {
  pid: number;
  comm: string;
  /** Resolved executable path ('' when the process is gone or hidden). */
  exe: string;
  /** 64-hex container id (docker, containerd, CRI-O, podman), if the process runs in a container. */
  containerId?: string;
  /** Kubernetes pod UID from the kubepods cgroup path, if any. */
  podUid?: string;
}

/** Container runtime scopes and plain ids: docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>, /docker/<id>. */
const CONTAINER_ID = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$/;
const POD_UID = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;

/** Parses the text of /proc/<pid>/cgroup (`hierarchy-id:controllers:path` per line). */
export function parseCgroup(text: string): { containerId?: string; podUid?: string } {
  let containerId: string | undefined;
  let podUid: string | undefined;
  for (const line of text.split('\n')) {
    const path = line.split(':').slice(2).join(':').trim();
    if (!path || path === '/') continue;
    containerId ??= CONTAINER_ID.exec(path)?.[1];
    const pod = POD_UID.exec(path)?.[1];
    if (pod) podUid ??= pod.replaceAll('_', '-');
    if (containerId && podUid) break;
  }
  return { ...(containerId ? { containerId } : {}), ...(podUid ? { podUid } : {}) };
}

/** Reads one process's metadata; undefined when it has already exited. */
export function readProcessInfo(pid: number, proc = '/proc'): ProcessInfo | undefined {
  try {
    const comm = readFileSync(`${proc}/${pid}/comm`, 'utf8').trim();
    let exe = '';
    try {
      exe = readlinkSync(`${proc}/${pid}/exe`);
    } catch {
      // kernel threads and processes of other users without ptrace access have no readable exe
    }
    let cgroup = '';
    try {
      cgroup = readFileSync(`${proc}/${pid}/cgroup`, 'utf8');
    } catch {
      // gone between the two reads
    }
    return { pid, comm, exe, ...parseCgroup(cgroup) };
  } catch {
    return undefined;
  }
}

/**
 * A bounded cache of ProcessInfo. exec and exit events invalidate entries (a pid's exe changes at exec;
 * a pid may be reused after exit). When full, the oldest entry goes.
 */
export class ProcessInfoCache {
  private readonly entries = new Map<number, ProcessInfo>();
  constructor(
    private readonly maxEntries = 16_384,
    private readonly proc = '/proc',
  ) {}

  get(pid: number): ProcessInfo | undefined {
    const hit = this.entries.get(pid);
    if (hit) return hit;
    const info = readProcessInfo(pid, this.proc);
    if (!info) return undefined;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(pid, info);
    return info;
  }

  forget(pid: number): void {
    this.entries.delete(pid);
  }

  get size(): number {
    return this.entries.size;
  }
}
