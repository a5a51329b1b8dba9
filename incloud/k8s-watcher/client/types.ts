/**
 * The sensor API's data model, shared by the watcher (server) and the sensor-side client.
 *
 * The watcher publishes a keyed set of entries. Each change bumps a revision; sensors take a snapshot
 * (`GET /v1/snapshot`) and then follow changes (`GET /v1/watch?epoch=E&since=R`, JSON lines). The epoch is
 * random per watcher start: a client that sees a new epoch (watcher restarted) or gets 410 re-syncs.
 *
 * Keys: `pod/<uid>`, `service/<uid>`, `node/<name>`, `workload/<namespace>/<Kind>/<name>`,
 * `process/<pid>`, `container/<id>` (the last two on a plain host).
 */

export interface WorkloadRef {
  /** Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet, Pod (no owner), or a custom kind. */
  kind: string;
  name: string;
  namespace: string;
}

export interface PodEntry {
  type: 'pod';
  uid: string;
  namespace: string;
  name: string;
  node?: string;
  /** Pod IPs owned by this pod (empty for host-network pods, which share the node's IPs). */
  ips: string[];
  /** Finished pods keep their IP in status, but the IP may already belong to a new pod. */
  terminated: boolean;
  workload: WorkloadRef;
  containers: { name: string; id?: string }[];
}

export interface ServiceEntry {
  type: 'service';
  uid: string;
  namespace: string;
  name: string;
  serviceType: string;
  clusterIPs: string[];
  ports: { name?: string; port: number; protocol: string }[];
}

export interface NodeEntry {
  type: 'node';
  name: string;
  ips: string[];
}

export interface WorkloadEntry {
  type: 'workload';
  namespace: string;
  kind: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  owner?: { kind: string; name: string };
  replicas?: number;
  readyReplicas?: number;
  schedule?: string;
  createdAt?: string;
}

/** A local process (plain-host mode). */
export interface ProcessEntry {
  type: 'process';
  pid: number;
  comm: string;
  containerId?: string;
  workload: WorkloadRef;
}

/** A local container found through /proc/<pid>/cgroup (plain-host mode). */
export interface ContainerEntry {
  type: 'container';
  id: string;
  runtime: string;
  workload: WorkloadRef;
}

export type Entry = PodEntry | ServiceEntry | NodeEntry | WorkloadEntry | ProcessEntry | ContainerEntry;

export interface Snapshot {
  epoch: string;
  rev: number;
  entries: { key: string; value: Entry }[];
}

/** One JSON line of the watch stream. `value` absent means the key was deleted. */
export interface ChangeLine {
  rev: number;
  key?: string;
  value?: Entry;
  /** Sent periodically so both sides notice dead connections; carries the current revision. */
  heartbeat?: true;
}

export const SNAPSHOT_PATH = '/v1/snapshot';
export const WATCH_PATH = '/v1/watch';
export const WORKLOADS_PATH = '/v1/workloads';
