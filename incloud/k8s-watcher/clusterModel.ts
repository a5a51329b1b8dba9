import type { PodEntry, ServiceEntry, WorkloadEntry, WorkloadRef } from './client/types.ts';
import type { EntryLog } from './entryLog.ts';
import type {
  EndpointSliceRecord,
  EventRecord,
  KubeRecord,
  MinimalMeta,
  NodeRecord,
  OwnerRef,
  PodRecord,
  ServiceRecord,
  WorkloadRecord,
} from './records.ts';
import type { RecordHandler } from './resourceInformer.ts';

/** Longest owner chain followed (pod -> replica set -> deployment is 2; custom controllers add a few). */
const MAX_OWNER_DEPTH = 5;
const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);

/**
 * Turns the informers' records into the entries sensors receive, resolving owners into workloads.
 *
 * Informers deliver in no particular order across resources: a pod may arrive before its replica set.
 * The pod then resolves to the replica set; when the replica set (or its deployment) arrives, every pod
 * below it is resolved again. Indexes by owner uid make that a walk over the affected pods only.
 *
 * Called only from the informers' callbacks on the main event loop.
 */
export class ClusterModel implements RecordHandler {
  private readonly pods = new Map<string, PodRecord>();
  private readonly workloads = new Map<string, WorkloadRecord>();
  private readonly services = new Map<string, ServiceRecord>();
  /** owner uid -> pods whose controller is that owner */
  private readonly podsByOwner = new Map<string, Set<string>>();
  /** owner uid -> workloads whose controller is that owner (replica sets of a deployment, jobs of a cron job) */
  private readonly workloadsByOwner = new Map<string, Set<string>>();
  /** `<namespace>/<service>` -> slice name -> addresses of endpoints that are not pods */
  private readonly sliceIPs = new Map<string, Map<string, string[]>>();
  /** `<Kind>/<namespace>/<name>` -> uid, to notice an object re-created under the same name */
  private readonly uidByName = new Map<string, string>();

  constructor(
    private readonly log: EntryLog,
    private readonly onEvent: (e: EventRecord, workload: string) => void = () => {},
  ) {}

  upsert(rec: KubeRecord): void {
    switch (rec.kind) {
      case 'Pod':
        this.upsertPod(rec);
        break;
      case 'Service':
        this.upsertService(rec);
        break;
      case 'EndpointSlice':
        this.upsertSlice(rec);
        break;
      case 'Node':
        this.upsertNode(rec);
        break;
      case 'Event':
        this.onEvent(rec, this.eventWorkload(rec));
        break;
      case 'Namespace':
        break;
      default:
        this.upsertWorkload(rec);
    }
  }

  remove(rec: KubeRecord): void {
    switch (rec.kind) {
      case 'Pod':
        this.removePod(idOf(rec.metadata));
        break;
      case 'Service':
        this.services.delete(idOf(rec.metadata));
        this.log.delete(`service/${idOf(rec.metadata)}`);
        break;
      case 'EndpointSlice':
        this.removeSlice(rec);
        break;
      case 'Node':
        this.log.delete(`node/${rec.metadata.name}`);
        break;
      case 'Event':
      case 'Namespace':
        break;
      default:
        this.removeWorkload(idOf(rec.metadata));
    }
  }

  /** The workload a pod (or any object with owner references) belongs to, following known owners. */
  resolveWorkload(meta: MinimalMeta, selfKind = 'Pod'): WorkloadRef {
    const namespace = meta.namespace ?? '';
    let ref = controllerOf(meta);
    // Static (mirror) pods are "owned" by their node; the pod itself is the workload.
    if (!ref || ref.kind === 'Node') return { kind: selfKind, name: meta.name, namespace };
    for (let depth = 0; depth < MAX_OWNER_DEPTH; depth++) {
      const owner = this.workloads.get(ref.uid);
      if (!owner) return { kind: ref.kind, name: ref.name, namespace };
      const next = controllerOf(owner.metadata);
      if (!next) return { kind: owner.kind, name: owner.metadata.name, namespace };
      ref = next;
    }
    return { kind: ref.kind, name: ref.name, namespace };
  }

  /** `Kind/name` of the workload an event is about (a pod's deployment, say), '' if unknown. */
  eventWorkload(e: EventRecord): string {
    const inv = e.involvedObject;
    if (!inv.name) return '';
    const id = inv.uid || this.uidByName.get(`${inv.kind}/${inv.namespace}/${inv.name}`) || '';
    const rec = inv.kind === 'Pod' ? this.pods.get(id) : this.workloads.get(id);
    if (rec) {
      const w = this.resolveWorkload(rec.metadata, rec.kind);
      return `${w.kind}/${w.name}`;
    }
    return `${inv.kind}/${inv.name}`;
  }

  private replaced(kind: string, meta: MinimalMeta): string | undefined {
    const nameKey = `${kind}/${meta.namespace ?? ''}/${meta.name}`;
    const id = idOf(meta);
    const previous = this.uidByName.get(nameKey);
    this.uidByName.set(nameKey, id);
    return previous !== undefined && previous !== id ? previous : undefined;
  }

  private upsertPod(rec: PodRecord): void {
    const id = idOf(rec.metadata);
    const old = this.replaced('Pod', rec.metadata);
    if (old) this.removePod(old);
    const previous = this.pods.get(id);
    if (previous) unindex(this.podsByOwner, controllerOf(previous.metadata)?.uid, id);
    this.pods.set(id, rec);
    index(this.podsByOwner, controllerOf(rec.metadata)?.uid, id);
    this.publishPod(id, rec);
  }

  private publishPod(id: string, rec: PodRecord): void {
    const entry: PodEntry = {
      type: 'pod',
      uid: id,
      namespace: rec.metadata.namespace ?? '',
      name: rec.metadata.name,
      ips: rec.hostNetwork ? [] : rec.podIPs,
      terminated: TERMINAL_PHASES.has(rec.phase),
      workload: this.resolveWorkload(rec.metadata),
      containers: rec.containers,
    };
    if (rec.nodeName) entry.node = rec.nodeName;
    this.log.put(`pod/${id}`, entry);
  }

  private removePod(id: string): void {
    const rec = this.pods.get(id);
    if (!rec) return;
    this.pods.delete(id);
    unindex(this.podsByOwner, controllerOf(rec.metadata)?.uid, id);
    const nameKey = `Pod/${rec.metadata.namespace ?? ''}/${rec.metadata.name}`;
    if (this.uidByName.get(nameKey) === id) this.uidByName.delete(nameKey);
    this.log.delete(`pod/${id}`);
  }

  private upsertWorkload(rec: WorkloadRecord): void {
    const id = idOf(rec.metadata);
    const old = this.replaced(rec.kind, rec.metadata);
    if (old) this.removeWorkload(old);
    const previous = this.workloads.get(id);
    if (previous) unindex(this.workloadsByOwner, controllerOf(previous.metadata)?.uid, id);
    this.workloads.set(id, rec);
    index(this.workloadsByOwner, controllerOf(rec.metadata)?.uid, id);
    this.log.put(workloadKey(rec), this.workloadEntry(rec));
    // Only a change of the owner chain can change what pods below resolve to; publishPod is a no-op
    // in the log when the resolved entry is unchanged.
    if (!previous || controllerOf(previous.metadata)?.uid !== controllerOf(rec.metadata)?.uid) {
      this.republishBelow(id, 0);
    }
  }

  private removeWorkload(id: string): void {
    const rec = this.workloads.get(id);
    if (!rec) return;
    this.workloads.delete(id);
    unindex(this.workloadsByOwner, controllerOf(rec.metadata)?.uid, id);
    const nameKey = `${rec.kind}/${rec.metadata.namespace ?? ''}/${rec.metadata.name}`;
    if (this.uidByName.get(nameKey) === id) this.uidByName.delete(nameKey);
    this.log.delete(workloadKey(rec));
    this.republishBelow(id, 0);
  }

  private republishBelow(ownerId: string, depth: number): void {
    if (depth >= MAX_OWNER_DEPTH) return;
    for (const podId of this.podsByOwner.get(ownerId) ?? []) {
      const pod = this.pods.get(podId);
      if (pod) this.publishPod(podId, pod);
    }
    for (const child of this.workloadsByOwner.get(ownerId) ?? []) this.republishBelow(child, depth + 1);
  }

  private workloadEntry(rec: WorkloadRecord): WorkloadEntry {
    const entry: WorkloadEntry = {
      type: 'workload',
      namespace: rec.metadata.namespace ?? '',
      kind: rec.kind,
      name: rec.metadata.name,
      uid: rec.metadata.uid,
      labels: rec.metadata.labels ?? {},
    };
    const owner = controllerOf(rec.metadata);
    if (owner) entry.owner = { kind: owner.kind, name: owner.name };
    if (rec.replicas !== undefined) entry.replicas = rec.replicas;
    if (rec.readyReplicas !== undefined) entry.readyReplicas = rec.readyReplicas;
    if (rec.schedule !== undefined) entry.schedule = rec.schedule;
    if (rec.metadata.creationTimestamp) entry.createdAt = rec.metadata.creationTimestamp;
    return entry;
  }

  private upsertService(rec: ServiceRecord): void {
    const id = idOf(rec.metadata);
    const old = this.replaced('Service', rec.metadata);
    if (old) {
      this.services.delete(old);
      this.log.delete(`service/${old}`);
    }
    this.services.set(id, rec);
    this.publishService(rec);
  }

  private publishService(rec: ServiceRecord): void {
    const id = idOf(rec.metadata);
    const namespace = rec.metadata.namespace ?? '';
    const entry: ServiceEntry = {
      type: 'service',
      uid: id,
      namespace,
      name: rec.metadata.name,
      serviceType: rec.type,
      clusterIPs: rec.clusterIPs,
      ports: rec.ports,
    };
    // Endpoints that are not pods (selector-less services in front of external databases, say) are
    // only known through their slices: their addresses also map to the service.
    const slices = this.sliceIPs.get(`${namespace}/${rec.metadata.name}`);
    if (slices) {
      const ips = [...new Set([...slices.values()].flat())].sort();
      if (ips.length > 0)
        entry.clusterIPs = [...rec.clusterIPs, ...ips.filter((ip) => !rec.clusterIPs.includes(ip))];
    }
    this.log.put(`service/${id}`, entry);
  }

  private upsertSlice(rec: EndpointSliceRecord): void {
    if (!rec.serviceName) return;
    const svcKey = `${rec.metadata.namespace ?? ''}/${rec.serviceName}`;
    const ips = rec.endpoints
      .filter((e) => e.targetRef?.kind !== 'Pod')
      .flatMap((e) => e.addresses)
      .sort();
    let slices = this.sliceIPs.get(svcKey);
    const before = JSON.stringify(slices?.get(rec.metadata.name) ?? []);
    if (ips.length === 0) slices?.delete(rec.metadata.name);
    else {
      if (!slices) {
        slices = new Map();
        this.sliceIPs.set(svcKey, slices);
      }
      slices.set(rec.metadata.name, ips);
    }
    if (slices?.size === 0) this.sliceIPs.delete(svcKey);
    if (before !== JSON.stringify(ips)) this.republishService(rec.metadata.namespace ?? '', rec.serviceName);
  }

  private removeSlice(rec: EndpointSliceRecord): void {
    if (!rec.serviceName) return;
    const svcKey = `${rec.metadata.namespace ?? ''}/${rec.serviceName}`;
    const slices = this.sliceIPs.get(svcKey);
    if (!slices?.delete(rec.metadata.name)) return;
    if (slices.size === 0) this.sliceIPs.delete(svcKey);
    this.republishService(rec.metadata.namespace ?? '', rec.serviceName);
  }

  private republishService(namespace: string, name: string): void {
    const id = this.uidByName.get(`Service/${namespace}/${name}`);
    const svc = id === undefined ? undefined : this.services.get(id);
    if (svc) this.publishService(svc);
  }

  private upsertNode(rec: NodeRecord): void {
    const ips = rec.addresses
      .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
      .map((a) => a.address);
    this.log.put(`node/${rec.metadata.name}`, { type: 'node', name: rec.metadata.name, ips });
  }
}

/** uid when the object has one (always, from a real API server); namespace/name otherwise. */
function idOf(meta: MinimalMeta): string {
  return meta.uid || `${meta.namespace ?? ''}/${meta.name}`;
}

function controllerOf(meta: MinimalMeta): OwnerRef | undefined {
  const refs = meta.ownerReferences;
  if (!refs || refs.length === 0) return undefined;
  return refs.find((r) => r.controller) ?? refs[0];
}

function workloadKey(rec: WorkloadRecord): string {
  return `workload/${rec.metadata.namespace ?? ''}/${rec.kind}/${rec.metadata.name}`;
}

function index(map: Map<string, Set<string>>, owner: string | undefined, id: string): void {
  if (!owner) return;
  let set = map.get(owner);
  if (!set) {
    set = new Set();
    map.set(owner, set);
  }
  set.add(id);
}

function unindex(map: Map<string, Set<string>>, owner: string | undefined, id: string): void {
  if (!owner) return;
  const set = map.get(owner);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) map.delete(owner);
}
