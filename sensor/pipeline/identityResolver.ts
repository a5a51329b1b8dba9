import type { IpOwner } from '../../incloud/k8s-watcher/client/entryIndex.ts';
import { K8sMetadataClient } from '../../incloud/k8s-watcher/client/sensorClient.ts';
import type { Entry, ProcessEntry } from '../../incloud/k8s-watcher/client/types.ts';
import { logger } from '../../lib/log.ts';
import type { ApiCall } from '../protocols/contract.ts';
import { DnsPeerNames, type DnsPeerNamesConfig, plainIp } from './dnsPeerNames.ts';
import { type Identify, peerOf } from './identity.ts';
import { ProcessTable, type ProcessTableOptions } from './processTable.ts';
import type { Identity } from './redAggregator.ts';

/**
 * Names both sides of every API call.
 *
 * Workload (the observed process): pid -> /proc/<pid>/cgroup -> container id (or pod UID) -> the pod the
 * k8s-watcher knows -> its workload, namespace, pod and node. On a plain host a watcher in `--plain-host`
 * mode answers pid -> process entry. Without a watcher, or while it does not know the container yet, the
 * local name stands in: the container's short id, else the systemd unit, else the command name.
 *
 * Peer (the other side's address; a server call's client IP, a client call's server IP): the watcher's
 * pod -> its workload name, Service -> the service name, node -> the node name; else the DNS name the
 * sensor saw resolved to that address; else the address itself (`ip` for a server call, `ip:port` for a
 * client call). Workload names are what the portal's service map joins callers and peers on.
 *
 * The watcher copy is `K8sMetadataClient` (incloud/k8s-watcher/client): snapshot + change stream with
 * timeouts, reconnects with jittered back-off and re-syncs; lookups are synchronous map reads. Its memory
 * is proportional to the cluster (stripped records, a few hundred bytes per pod/service/workload). Everything
 * here runs on the event loop.
 */
export interface IdentityOptions {
  /** k8s-watcher sensor API base URL, e.g. `http://understory-k8s-watcher:9470`. No watcher when absent. */
  watcherUrl?: string;
  watcherToken?: string;
  /** `start()` waits this long for the first snapshot, so the first calls are not named by fallbacks. */
  readyTimeoutMs?: number;
  /** A dead watch stream (no line, heartbeats included) is reconnected after this long. */
  watcherIdleTimeoutMs?: number;
  watcherBackoffMaxMs?: number;
  processes?: Partial<ProcessTableOptions>;
  dns?: Partial<DnsPeerNamesConfig>;
}

/** The lookups identity needs from the watcher copy (K8sMetadataClient has them; tests may pass others). */
export interface MetadataLookup {
  lookupIp(ip: string): IpOwner | undefined;
  lookupContainer(id: string): Entry | undefined;
  lookupPid(pid: number): ProcessEntry | undefined;
  get(key: string): Entry | undefined;
}

export type WorkloadSource = 'k8s' | 'host' | 'unknown';
export type PeerSource = 'k8s' | 'dns' | 'address';

export class IdentityResolver {
  readonly processes: ProcessTable;
  readonly dnsNames: DnsPeerNames;
  readonly client: K8sMetadataClient | undefined;
  private readonly metadata: MetadataLookup | undefined;
  /** Calls named per source, read by the pipeline's self-metrics. */
  readonly counts = {
    workload: { k8s: 0, host: 0, unknown: 0 } as Record<WorkloadSource, number>,
    peer: { k8s: 0, dns: 0, address: 0 } as Record<PeerSource, number>,
  };
  private readonly log = logger('sensor-identity');
  private lastLoggedError = '';

  constructor(
    private readonly o: IdentityOptions = {},
    metadata?: MetadataLookup,
  ) {
    this.processes = new ProcessTable(o.processes);
    this.dnsNames = new DnsPeerNames(o.dns);
    if (o.watcherUrl && !metadata) {
      try {
        new URL(o.watcherUrl);
      } catch {
        throw new Error(`cannot configure identity: watcherUrl ${JSON.stringify(o.watcherUrl)} is not a URL`);
      }
      this.client = new K8sMetadataClient({
        url: o.watcherUrl,
        token: o.watcherToken,
        idleTimeoutMs: o.watcherIdleTimeoutMs,
        backoffMaxMs: o.watcherBackoffMaxMs,
        onError: (err) => {
          // One line per distinct failure: a watcher down for an hour must not flood the log.
          if (err.message === this.lastLoggedError) return;
          this.lastLoggedError = err.message;
          this.log.warn({ err: err.message }, 'k8s-watcher unreachable; names fall back until it answers');
        },
      });
    }
    this.metadata = metadata ?? this.client;
  }

  /** Starts following the watcher and waits up to `readyTimeoutMs` (5 s) for its first snapshot. */
  async start(): Promise<void> {
    if (!this.client) return;
    this.client.start();
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      this.client.ready().then(() => true),
      new Promise<false>((r) => {
        timer = setTimeout(() => r(false), this.o.readyTimeoutMs ?? 5000);
      }),
    ]);
    clearTimeout(timer);
    if (!ready)
      this.log.warn(
        { url: this.o.watcherUrl, err: this.client.lastError },
        'no k8s-watcher snapshot yet; starting with plain-host names',
      );
  }

  async stop(): Promise<void> {
    await this.client?.stop();
  }

  /** A DNS call the sensor captured: its A/AAAA answers name later peers. */
  observe(call: ApiCall): void {
    if (call.protocol === 'dns') this.dnsNames.observe(call);
  }

  /** What `health()` reports about the watcher link; undefined when no watcher is configured. */
  watcherState(): string | undefined {
    const c = this.client;
    if (!c) return undefined;
    if (c.snapshots === 0) return `k8s-watcher: no snapshot yet (${c.lastError ?? 'connecting'})`;
    return `k8s-watcher: ${c.size} entries, rev ${c.rev}, ${c.connected ? 'following' : `reconnecting (${c.lastError ?? ''})`}`;
  }

  readonly identify: Identify = (call) => {
    const id: Identity = { workload: 'unknown', namespace: '', peer: '' };
    this.nameWorkload(call.pid, id);
    id.peer = this.namePeer(call);
    return id;
  };

  private nameWorkload(pid: number | undefined, id: Identity): void {
    if (pid === undefined) {
      this.counts.workload.unknown++;
      return;
    }
    const facts = this.processes.get(pid);
    const m = this.metadata;
    if (m) {
      let entry = facts.containerId ? m.lookupContainer(facts.containerId) : undefined;
      // A pod whose container ids are not in its status yet (just started) is still found by its UID.
      if (!entry && facts.podUid) entry = m.get(`pod/${facts.podUid}`);
      if (!entry && !facts.containerId && !facts.podUid) entry = m.lookupPid(pid);
      if (entry?.type === 'pod') {
        id.workload = entry.workload.name;
        id.namespace = entry.namespace;
        id.pod = entry.name;
        if (entry.node) id.node = entry.node;
        this.counts.workload.k8s++;
        return;
      }
      if (entry?.type === 'container' || entry?.type === 'process') {
        id.workload = entry.workload.name;
        id.namespace = entry.workload.namespace;
        this.counts.workload.k8s++;
        return;
      }
    }
    if (facts.comm === 'unknown' && !facts.containerId) {
      this.counts.workload.unknown++;
      return;
    }
    id.workload = facts.containerId ? facts.containerId.slice(0, 12) : (facts.unit ?? facts.comm);
    this.counts.workload.host++;
  }

  private namePeer(call: ApiCall): string {
    const ip = call.role === 'server' ? call.client?.ip : call.server?.ip;
    if (ip !== undefined) {
      const addr = plainIp(ip);
      const owner = this.metadata?.lookupIp(addr);
      if (owner) {
        this.counts.peer.k8s++;
        return owner.type === 'pod' ? owner.workload.name : owner.name;
      }
      const name = this.dnsNames.lookup(addr);
      if (name !== undefined) {
        this.counts.peer.dns++;
        return name;
      }
    }
    this.counts.peer.address++;
    return peerOf(call);
  }
}
