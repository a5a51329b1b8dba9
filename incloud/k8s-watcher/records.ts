/**
 * Minimal records: what the watcher keeps of each Kubernetes object. Objects arrive from list and watch
 * as full JSON (a Pod is 5-20 KB with managedFields, env, volumes, probes...); each is stripped to one of
 * these records BEFORE it reaches the informer cache, so 10k pods cost a few MB instead of hundreds.
 *
 * Records keep `metadata.name`, `metadata.namespace` and `metadata.resourceVersion` because the
 * client-node informer cache keys objects by them and skips updates with an unchanged resourceVersion.
 */

export interface OwnerRef {
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

export interface MinimalMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  labels?: Record<string, string>;
  ownerReferences?: OwnerRef[];
  creationTimestamp?: string;
}

export interface PodRecord {
  kind: 'Pod';
  metadata: MinimalMeta;
  nodeName?: string;
  hostNetwork: boolean;
  phase: string;
  podIPs: string[];
  hostIP?: string;
  /** Containers that have a runtime id (init, regular and ephemeral). */
  containers: { name: string; id?: string }[];
}

export interface ServiceRecord {
  kind: 'Service';
  metadata: MinimalMeta;
  type: string;
  clusterIPs: string[];
  externalName?: string;
  ports: { name?: string; port: number; protocol: string }[];
}

export interface EndpointSliceRecord {
  kind: 'EndpointSlice';
  metadata: MinimalMeta;
  serviceName?: string;
  addressType: string;
  endpoints: { addresses: string[]; ready?: boolean; nodeName?: string; targetRef?: TargetRef }[];
}

export interface TargetRef {
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
}

export interface NodeRecord {
  kind: 'Node';
  metadata: MinimalMeta;
  addresses: { type: string; address: string }[];
  podCIDRs: string[];
}

export interface NamespaceRecord {
  kind: 'Namespace';
  metadata: MinimalMeta;
  phase: string;
}

export const WORKLOAD_KINDS = [
  'ReplicaSet',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export interface WorkloadRecord {
  kind: WorkloadKind;
  metadata: MinimalMeta;
  /** Desired replicas (Deployment/ReplicaSet/StatefulSet), desired scheduled (DaemonSet), parallelism (Job). */
  replicas?: number;
  readyReplicas?: number;
  /** CronJob schedule; Job completions. */
  schedule?: string;
  completions?: number;
  succeeded?: number;
  failed?: number;
}

export interface EventRecord {
  kind: 'Event';
  metadata: MinimalMeta;
  involvedObject: { kind: string; namespace: string; name: string; uid: string; fieldPath: string };
  reason: string;
  message: string;
  type: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  sourceComponent: string;
  sourceHost: string;
  reportingController: string;
}

export type KubeRecord =
  | PodRecord
  | ServiceRecord
  | EndpointSliceRecord
  | NodeRecord
  | NamespaceRecord
  | WorkloadRecord
  | EventRecord;

/** Longest event message kept; kubelet and controllers sometimes put whole stack traces in there. */
export const MAX_EVENT_MESSAGE = 4096;
const MAX_LABELS = 64;
const MAX_LABEL_VALUE = 256;

// Raw JSON from the API server: decoded without a schema, read defensively.
type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  // Objects listed through the generated client carry Date instances instead of RFC 3339 strings.
  if (v instanceof Date) return v.toISOString();
  return undefined;
}
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function labels(v: unknown): Record<string, string> | undefined {
  const src = obj(v);
  const keys = Object.keys(src);
  if (keys.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const k of keys.slice(0, MAX_LABELS)) {
    const value = str(src[k]);
    if (value !== undefined) out[k] = value.slice(0, MAX_LABEL_VALUE);
  }
  return out;
}

export function stripMeta(v: unknown, withLabels = true): MinimalMeta {
  const m = obj(v);
  const name = str(m.name);
  if (!name) throw new Error('cannot strip object: metadata.name is missing');
  const meta: MinimalMeta = {
    name,
    uid: str(m.uid) ?? '',
    resourceVersion: str(m.resourceVersion) ?? '',
  };
  const namespace = str(m.namespace);
  if (namespace) meta.namespace = namespace;
  if (withLabels) {
    const l = labels(m.labels);
    if (l) meta.labels = l;
  }
  const owners = arr(m.ownerReferences)
    .map(obj)
    .filter((o) => typeof o.kind === 'string' && typeof o.name === 'string')
    .map((o) => {
      const ref: OwnerRef = { kind: o.kind as string, name: o.name as string, uid: str(o.uid) ?? '' };
      if (o.controller === true) ref.controller = true;
      return ref;
    });
  if (owners.length > 0) meta.ownerReferences = owners;
  const created = str(m.creationTimestamp);
  if (created) meta.creationTimestamp = created;
  return meta;
}

/** The runtime-prefixed id (`containerd://abc...`) reduced to the bare id the sensor sees in cgroups. */
export function bareContainerId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const i = id.indexOf('://');
  const bare = i >= 0 ? id.slice(i + 3) : id;
  return bare.length > 0 ? bare : undefined;
}

export function stripPod(raw: unknown): PodRecord {
  const o = obj(raw);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const ips = arr(status.podIPs)
    .map((p) => str(obj(p).ip))
    .filter((ip): ip is string => !!ip);
  const podIP = str(status.podIP);
  if (podIP && !ips.includes(podIP)) ips.unshift(podIP);
  const containers: PodRecord['containers'] = [];
  for (const list of [
    status.initContainerStatuses,
    status.containerStatuses,
    status.ephemeralContainerStatuses,
  ]) {
    for (const c of arr(list).map(obj)) {
      const name = str(c.name);
      if (!name) continue;
      const id = bareContainerId(str(c.containerID));
      containers.push(id ? { name, id } : { name });
    }
  }
  const rec: PodRecord = {
    kind: 'Pod',
    metadata: stripMeta(o.metadata),
    hostNetwork: spec.hostNetwork === true,
    phase: str(status.phase) ?? 'Unknown',
    podIPs: ips,
    containers,
  };
  const nodeName = str(spec.nodeName);
  if (nodeName) rec.nodeName = nodeName;
  const hostIP = str(status.hostIP);
  if (hostIP) rec.hostIP = hostIP;
  return rec;
}

export function stripService(raw: unknown): ServiceRecord {
  const o = obj(raw);
  const spec = obj(o.spec);
  const ips = arr(spec.clusterIPs)
    .map(str)
    .filter((ip): ip is string => !!ip);
  const clusterIP = str(spec.clusterIP);
  if (clusterIP && !ips.includes(clusterIP)) ips.unshift(clusterIP);
  const rec: ServiceRecord = {
    kind: 'Service',
    metadata: stripMeta(o.metadata),
    type: str(spec.type) ?? 'ClusterIP',
    // "None" marks a headless service: it has no virtual IP to map.
    clusterIPs: ips.filter((ip) => ip !== 'None'),
    ports: arr(spec.ports)
      .map(obj)
      .map((p) => {
        const port: ServiceRecord['ports'][number] = {
          port: num(p.port) ?? 0,
          protocol: str(p.protocol) ?? 'TCP',
        };
        const name = str(p.name);
        if (name) port.name = name;
        return port;
      }),
  };
  const externalName = str(spec.externalName);
  if (externalName) rec.externalName = externalName;
  return rec;
}

export function stripEndpointSlice(raw: unknown): EndpointSliceRecord {
  const o = obj(raw);
  const meta = stripMeta(o.metadata);
  const rec: EndpointSliceRecord = {
    kind: 'EndpointSlice',
    metadata: meta,
    addressType: str(o.addressType) ?? 'IPv4',
    endpoints: arr(o.endpoints)
      .map(obj)
      .map((e) => {
        const ep: EndpointSliceRecord['endpoints'][number] = {
          addresses: arr(e.addresses)
            .map(str)
            .filter((a): a is string => !!a),
        };
        const cond = obj(e.conditions);
        if (typeof cond.ready === 'boolean') ep.ready = cond.ready;
        const nodeName = str(e.nodeName);
        if (nodeName) ep.nodeName = nodeName;
        if (e.targetRef) {
          const t = obj(e.targetRef);
          ep.targetRef = {
            kind: str(t.kind),
            name: str(t.name),
            namespace: str(t.namespace),
            uid: str(t.uid),
          };
        }
        return ep;
      }),
  };
  const serviceName = meta.labels?.['kubernetes.io/service-name'];
  if (serviceName) rec.serviceName = serviceName;
  return rec;
}

export function stripNode(raw: unknown): NodeRecord {
  const o = obj(raw);
  return {
    kind: 'Node',
    metadata: stripMeta(o.metadata),
    addresses: arr(obj(o.status).addresses)
      .map(obj)
      .map((a) => ({ type: str(a.type) ?? '', address: str(a.address) ?? '' }))
      .filter((a) => a.address.length > 0),
    podCIDRs: arr(obj(o.spec).podCIDRs)
      .map(str)
      .filter((c): c is string => !!c),
  };
}

export function stripNamespace(raw: unknown): NamespaceRecord {
  const o = obj(raw);
  return { kind: 'Namespace', metadata: stripMeta(o.metadata), phase: str(obj(o.status).phase) ?? 'Active' };
}

export function stripWorkload(kind: WorkloadKind, raw: unknown): WorkloadRecord {
  const o = obj(raw);
  const spec = obj(o.spec);
  const status = obj(o.status);
  const rec: WorkloadRecord = { kind, metadata: stripMeta(o.metadata) };
  const set = <K extends keyof WorkloadRecord>(k: K, v: WorkloadRecord[K] | undefined) => {
    if (v !== undefined) rec[k] = v;
  };
  switch (kind) {
    case 'DaemonSet':
      set('replicas', num(status.desiredNumberScheduled));
      set('readyReplicas', num(status.numberReady));
      break;
    case 'Job':
      set('replicas', num(spec.parallelism));
      set('readyReplicas', num(status.ready));
      set('completions', num(spec.completions));
      set('succeeded', num(status.succeeded));
      set('failed', num(status.failed));
      break;
    case 'CronJob':
      set('schedule', str(spec.schedule));
      set('replicas', arr(status.active).length);
      break;
    default:
      set('replicas', num(spec.replicas));
      set('readyReplicas', num(status.readyReplicas));
  }
  return rec;
}

export function stripEvent(raw: unknown): EventRecord {
  const o = obj(raw);
  const inv = obj(o.involvedObject);
  const source = obj(o.source);
  const series = obj(o.series);
  // events.k8s.io-style writers fill eventTime/series instead of first/lastTimestamp and count.
  const eventTime = str(o.eventTime);
  const last = str(o.lastTimestamp) ?? str(series.lastObservedTime) ?? eventTime ?? '';
  return {
    kind: 'Event',
    metadata: stripMeta(o.metadata, false),
    involvedObject: {
      kind: str(inv.kind) ?? '',
      namespace: str(inv.namespace) ?? '',
      name: str(inv.name) ?? '',
      uid: str(inv.uid) ?? '',
      fieldPath: str(inv.fieldPath) ?? '',
    },
    reason: str(o.reason) ?? '',
    message: (str(o.message) ?? '').slice(0, MAX_EVENT_MESSAGE),
    type: str(o.type) ?? 'Normal',
    count: num(o.count) ?? num(series.count) ?? 1,
    firstTimestamp: str(o.firstTimestamp) ?? eventTime ?? last,
    lastTimestamp: last,
    sourceComponent: str(source.component) ?? str(o.reportingComponent) ?? '',
    sourceHost: str(source.host) ?? '',
    reportingController: str(o.reportingComponent) ?? '',
  };
}
