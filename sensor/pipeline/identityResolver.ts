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
  /** This sensor's Kubernetes node name, when known for certain: the watcher copy is then node-scoped. */
  watcherNode?: string;
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
  /** Changes whenever the copy changes (K8sMetadataClient's revision); names made earlier are then redone. */
  readonly rev?: number;
}

export type WorkloadSource = 'k8s' | 'host' | 'unknown';
export type PeerSource = 'k8s' | 'dns' | 'address';

/**
 * Names made for a (process, peer) pair are reused for this long: a service's calls repeat the same few
 * pairs, and naming each call afresh (process table, watcher indexes, DNS cache, an address string, one
 * Identity object) was a fifth of the pipeline's time and most of its allocation per call. A change of
 * the watcher's copy or a newly learnt DNS answer redoes every name at once; the process table's own
 * refresh (30 s) is what bounds a reused pid anyway.
 */
const NAME_REUSE_MS = 1000;
/** Pairs remembered at most (all forgotten past it); a node talks to far fewer peers per second. */
const MAX_NAMED_PAIRS = 50_000;

/** A shared, read-only Identity and where its parts came from (counted for every call it names). */
interface Named {
  readonly id: Identity;
  readonly workload: WorkloadSource;
  readonly peer: PeerSource;
}

/** One process's names: a server call's peer is the client's address; any other call's, server ip:port. */
interface ProcessNames {
  server: Map<string, Named>;
  other: Map<string, Map<number, Named>>;
}

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
        node: o.watcherNode,
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

  private named = new Map<number, ProcessNames>();
  private namedPairs = 0;
  private namedAtMs = 0;
  private namedRev: number | undefined;
  private namedDnsLearnt = 0;

  /** The returned Identity is shared by the calls of the same (process, peer): callers must not modify it. */
  readonly identify: Identify = (call) => {
    const t = Date.now();
    if (
      t - this.namedAtMs >= NAME_REUSE_MS ||
      this.metadata?.rev !== this.namedRev ||
      this.dnsNames.counts.learnt !== this.namedDnsLearnt ||
      this.namedPairs >= MAX_NAMED_PAIRS
    ) {
      this.named = new Map();
      this.namedPairs = 0;
      this.namedAtMs = t;
      this.namedRev = this.metadata?.rev;
      this.namedDnsLearnt = this.dnsNames.counts.learnt;
    }
    const pid = call.pid ?? -1;
    let names = this.named.get(pid);
    if (names === undefined) {
      names = { server: new Map(), other: new Map() };
      this.named.set(pid, names);
    }
    let n: Named | undefined;
    if (call.role === 'server') {
      const ip = call.client?.ip ?? '';
      n = names.server.get(ip);
      if (n === undefined) {
        n = this.name(call);
        names.server.set(ip, n);
        this.namedPairs++;
      }
    } else {
      const ip = call.server?.ip ?? '';
      let byPort = names.other.get(ip);
      if (byPort === undefined) {
        byPort = new Map();
        names.other.set(ip, byPort);
      }
      const port = call.server?.port ?? -1;
      n = byPort.get(port);
      if (n === undefined) {
        n = this.name(call);
        byPort.set(port, n);
        this.namedPairs++;
      }
    }
    // Named properties, not `[n.workload]++`: a keyed increment per call showed in the profile.
    const w = this.counts.workload;
    if (n.workload === 'k8s') w.k8s++;
    else if (n.workload === 'host') w.host++;
    else w.unknown++;
    const p = this.counts.peer;
    if (n.peer === 'k8s') p.k8s++;
    else if (n.peer === 'dns') p.dns++;
    else p.address++;
    return n.id;
  };

  private name(call: ApiCall): Named {
    const id: Identity = { workload: 'unknown', namespace: '', peer: '' };
    const workload = this.nameWorkload(call.pid, id);
    const [peer, peerSource] = this.namePeer(call);
    id.peer = peer;
    return { id, workload, peer: peerSource };
  }

  private nameWorkload(pid: number | undefined, id: Identity): WorkloadSource {
    if (pid === undefined) return 'unknown';
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
        return 'k8s';
      }
      if (entry?.type === 'container' || entry?.type === 'process') {
        id.workload = entry.workload.name;
        id.namespace = entry.workload.namespace;
        return 'k8s';
      }
    }
    if (facts.comm === 'unknown' && !facts.containerId) return 'unknown';
    id.workload = facts.containerId ? facts.containerId.slice(0, 12) : (facts.unit ?? facts.comm);
    return 'host';
  }

  private namePeer(call: ApiCall): [string, PeerSource] {
    const ip = call.role === 'server' ? call.client?.ip : call.server?.ip;
    if (ip !== undefined) {
      const addr = plainIp(ip);
      const owner = this.metadata?.lookupIp(addr);
      if (owner) return [owner.type === 'pod' ? owner.workload.name : owner.name, 'k8s'];
      const name = this.dnsNames.lookup(addr);
      if (name !== undefined) return [name, 'dns'];
    }
    return [peerOf(call), 'address'];
  }
}
