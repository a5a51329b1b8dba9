import { readFileSync } from 'node:fs';
import type { ApiCall } from '../protocols/contract.ts';
import type { Identity } from './redAggregator.ts';

/**
 * Who made an API call and who the other side is. In a cluster the k8s-watcher's maps answer this (pid ->
 * container -> pod -> workload; remote IP -> workload or service); that resolver is not wired yet (see
 * README.md). `HostIdentity` is the plain-host answer: the workload is the process name from
 * /proc/<pid>/comm, the namespace is empty, the peer is the remote address - for a server call the client's
 * IP only (its port is ephemeral and would explode cardinality), for a client call the server's ip:port.
 */
/** May return a shared object, and callers may keep it (the span builder caches by it): never modify one after. */
export type Identify = (call: ApiCall) => Identity;

export class HostIdentity {
  private readonly names = new Map<number, string>();

  constructor(
    private readonly procRoot = '/proc',
    private readonly maxPids = 4096,
  ) {}

  readonly identify: Identify = (call) => ({
    workload: call.pid === undefined ? 'unknown' : this.processName(call.pid),
    namespace: '',
    peer: peerOf(call),
  });

  private processName(pid: number): string {
    const known = this.names.get(pid);
    if (known !== undefined) return known;
    let name: string;
    try {
      name = readFileSync(`${this.procRoot}/${pid}/comm`, 'utf8').trim() || `pid-${pid}`;
    } catch {
      name = 'unknown'; // the process is gone: its name can no longer be read
    }
    if (this.names.size >= this.maxPids) {
      const oldest = this.names.keys().next().value;
      if (oldest !== undefined) this.names.delete(oldest);
    }
    this.names.set(pid, name);
    return name;
  }
}

export function peerOf(call: ApiCall): string {
  if (call.role === 'server') return call.client?.ip ?? 'unknown';
  const s = call.server;
  return s ? `${s.ip}:${s.port}` : 'unknown';
}
