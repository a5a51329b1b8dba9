import {
  type KubeRecord,
  stripEndpointSlice,
  stripEvent,
  stripNamespace,
  stripNode,
  stripPod,
  stripService,
  stripWorkload,
} from './records.ts';

/** One watched resource type: where it lives in the API and how its objects are stripped. */
export interface WatchedResource {
  /** Resource name as in RBAC and in the URL, e.g. `pods`, `replicasets`. */
  readonly resource: string;
  readonly kind: KubeRecord['kind'];
  /** Cluster-wide collection path, e.g. `/api/v1/pods`, `/apis/apps/v1/replicasets`. */
  readonly path: string;
  readonly strip: (raw: unknown) => KubeRecord;
}

function core(
  resource: string,
  kind: KubeRecord['kind'],
  strip: (raw: unknown) => KubeRecord,
): WatchedResource {
  return { resource, kind, path: `/api/v1/${resource}`, strip };
}
function group(
  groupVersion: string,
  resource: string,
  kind: KubeRecord['kind'],
  strip: (raw: unknown) => KubeRecord,
): WatchedResource {
  return { resource, kind, path: `/apis/${groupVersion}/${resource}`, strip };
}

/**
 * Everything the watcher lists and watches. Order matters only for start-up: owners (replica sets, jobs)
 * come before pods so most pods resolve to their final workload on the first pass.
 */
export const WATCHED_RESOURCES: readonly WatchedResource[] = [
  core('namespaces', 'Namespace', stripNamespace),
  core('nodes', 'Node', stripNode),
  group('apps/v1', 'deployments', 'Deployment', (o) => stripWorkload('Deployment', o)),
  group('apps/v1', 'replicasets', 'ReplicaSet', (o) => stripWorkload('ReplicaSet', o)),
  group('apps/v1', 'statefulsets', 'StatefulSet', (o) => stripWorkload('StatefulSet', o)),
  group('apps/v1', 'daemonsets', 'DaemonSet', (o) => stripWorkload('DaemonSet', o)),
  group('batch/v1', 'cronjobs', 'CronJob', (o) => stripWorkload('CronJob', o)),
  group('batch/v1', 'jobs', 'Job', (o) => stripWorkload('Job', o)),
  core('services', 'Service', stripService),
  group('discovery.k8s.io/v1', 'endpointslices', 'EndpointSlice', stripEndpointSlice),
  core('pods', 'Pod', stripPod),
  core('events', 'Event', stripEvent),
];

export function resourceByName(name: string): WatchedResource {
  const r = WATCHED_RESOURCES.find((w) => w.resource === name);
  if (!r) throw new Error(`cannot find watched resource: ${name}`);
  return r;
}
