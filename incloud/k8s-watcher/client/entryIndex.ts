import type { Entry, NodeEntry, PodEntry, ProcessEntry, ServiceEntry, WorkloadEntry } from './types.ts';

export type IpOwner = PodEntry | ServiceEntry | NodeEntry;

/**
 * The lookups a sensor needs, kept current from entries: IP -> pod / service / node, container id -> pod
 * (or plain-host container), pid -> process, workload metadata by name.
 *
 * IP reuse: an IP may be claimed by several entries for a while (a finished pod still listed while a new
 * pod got its IP; a node IP shared by host-network pods is not indexed for the pods at all). Each IP keeps
 * its claimants in arrival order; the newest live pod wins, then services, then nodes. A key only leaves
 * the claimants it put itself in, so deleting the old pod never unmaps the new one.
 *
 * Not thread-safe; call from one event loop.
 */
export class EntryIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly ipClaims = new Map<string, string[]>();
  private readonly byContainer = new Map<string, string>();
  private readonly byPid = new Map<number, string>();

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.ipClaims.clear();
    this.byContainer.clear();
    this.byPid.clear();
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  all(): IterableIterator<[string, Entry]> {
    return this.entries.entries();
  }

  put(key: string, value: Entry): void {
    const old = this.entries.get(key);
    if (old) this.unindex(key, old, value);
    this.entries.set(key, value);
    this.index(key, value);
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.unindex(key, old, undefined);
    this.entries.delete(key);
  }

  /** What an IP belongs to right now: a live pod, else a service (virtual IP), else a node. */
  lookupIp(ip: string): IpOwner | undefined {
    const claims = this.ipClaims.get(ip);
    if (!claims) return undefined;
    let service: ServiceEntry | undefined;
    let node: NodeEntry | undefined;
    for (let i = claims.length - 1; i >= 0; i--) {
      const e = this.entries.get(claims[i]!);
      if (e?.type === 'pod') return e;
      if (e?.type === 'service') service ??= e;
      if (e?.type === 'node') node ??= e;
    }
    return service ?? node;
  }

  /** The pod (cluster) or local container (plain host) a container id belongs to. */
  lookupContainer(id: string): Entry | undefined {
    const key = this.byContainer.get(id);
    return key === undefined ? undefined : this.entries.get(key);
  }

  lookupPid(pid: number): ProcessEntry | undefined {
    const key = this.byPid.get(pid);
    const e = key === undefined ? undefined : this.entries.get(key);
    return e?.type === 'process' ? e : undefined;
  }

  workload(namespace: string, kind: string, name: string): WorkloadEntry | undefined {
    const e = this.entries.get(`workload/${namespace}/${kind}/${name}`);
    return e?.type === 'workload' ? e : undefined;
  }

  private index(key: string, e: Entry): void {
    for (const ip of ipsOf(e)) {
      const claims = this.ipClaims.get(ip);
      if (!claims) this.ipClaims.set(ip, [key]);
      else if (!claims.includes(key)) claims.push(key);
    }
    for (const id of containerIdsOf(e)) this.byContainer.set(id, key);
    if (e.type === 'process') this.byPid.set(e.pid, key);
  }

  /** Removes `key`'s claims that `next` (the replacing value, if any) no longer makes. */
  private unindex(key: string, old: Entry, next: Entry | undefined): void {
    const keep = new Set(next ? ipsOf(next) : []);
    for (const ip of ipsOf(old)) {
      if (keep.has(ip)) continue;
      const claims = this.ipClaims.get(ip);
      if (!claims) continue;
      const i = claims.indexOf(key);
      if (i >= 0) claims.splice(i, 1);
      if (claims.length === 0) this.ipClaims.delete(ip);
    }
    for (const id of containerIdsOf(old)) if (this.byContainer.get(id) === key) this.byContainer.delete(id);
    if (old.type === 'process' && this.byPid.get(old.pid) === key) this.byPid.delete(old.pid);
  }
}

function ipsOf(e: Entry): string[] {
  switch (e.type) {
    case 'pod':
      // A finished pod's IP goes back to the pool: it must not shadow the IP's next owner.
      return e.terminated ? [] : e.ips;
    case 'service':
      return e.clusterIPs;
    case 'node':
      return e.ips;
    default:
      return [];
  }
}

function containerIdsOf(e: Entry): string[] {
  if (e.type === 'pod') return e.containers.map((c) => c.id).filter((id): id is string => !!id);
  if (e.type === 'container') return [e.id];
  return [];
}
