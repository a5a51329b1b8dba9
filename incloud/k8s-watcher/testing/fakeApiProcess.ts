/**
 * The fake API server in its own process, driven over IPC, so a benchmark measures the watcher's CPU and
 * memory without the server's. Messages (parent -> child):
 *   { op: 'load', pods }                    fills the cluster: deployments of 20 pods each, with replica sets
 *   { op: 'churn', count, perSecond, tag }  pod updates (a container restart) at a fixed rate
 * The child answers { port } once listening, { loaded } and { churned, sentAt } (epoch ms per update).
 */
import { createHash } from 'node:crypto';
import { FakeApiServer } from './fakeApiServer.ts';
import { shopCluster } from './shopCluster.ts';

const PODS_PER_DEPLOYMENT = 20;
const fake = new FakeApiServer({ historyLimit: 50_000 });
// A real pod (managedFields, spec, status) as template, so list and watch carry realistic sizes.
const template = shopCluster().find((o) => o.resource === 'pods')!.object;

const NODES = 100;

function podName(i: number): { name: string; namespace: string; deployment: number } {
  const deployment = Math.floor(i / PODS_PER_DEPLOYMENT);
  return { name: `app-${deployment}-7d9f8b6c5-${i}`, namespace: `ns-${deployment % 50}`, deployment };
}

function pod(i: number, containerId: string): Record<string, unknown> & { metadata: { name: string } } {
  const { name, namespace, deployment } = podName(i);
  const obj = structuredClone(template) as Record<string, unknown> & {
    metadata: Record<string, unknown> & { name: string };
    spec: Record<string, unknown>;
    status: { podIP: string; podIPs: { ip: string }[]; containerStatuses: { containerID: string }[] };
  };
  obj.metadata.name = name;
  obj.metadata.namespace = namespace;
  obj.metadata.uid = `pod-${i}`;
  obj.metadata.ownerReferences = [
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: `app-${deployment}-7d9f8b6c5`,
      uid: `rs-${deployment}`,
      controller: true,
    },
  ];
  const ip = `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  obj.status.podIP = ip;
  obj.status.podIPs = [{ ip }];
  obj.status.containerStatuses[0]!.containerID = `containerd://${containerId}`;
  // Spread over NODES nodes, as in a cluster (node-scoped sensor copies keep only their node's containers).
  obj.spec.nodeName = `node-${i % NODES}`;
  return obj;
}

function load(pods: number): void {
  for (let d = 0; d * PODS_PER_DEPLOYMENT < pods; d++) {
    const namespace = `ns-${d % 50}`;
    fake.upsert('deployments', {
      metadata: { name: `app-${d}`, namespace, uid: `dep-${d}` },
      spec: { replicas: 20 },
    });
    fake.upsert('replicasets', {
      metadata: {
        name: `app-${d}-7d9f8b6c5`,
        namespace,
        uid: `rs-${d}`,
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: `app-${d}`, uid: `dep-${d}`, controller: true },
        ],
      },
      spec: { replicas: 20 },
    });
  }
  // Container ids as containerd writes them: 64 hex digits.
  for (let i = 0; i < pods; i++)
    fake.upsert('pods', pod(i, createHash('sha256').update(`initial-${i}`).digest('hex')));
}

async function churn(count: number, perSecond: number, tag: string, pods: number): Promise<number[]> {
  const sentAt: number[] = [];
  const start = performance.now();
  for (let n = 0; n < count; n++) {
    const due = start + (n * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const i = (n * 7919) % pods; // spread updates over all pods
    const p = pod(i, `${tag}-${n}`);
    sentAt.push(performance.timeOrigin + performance.now());
    fake.upsert('pods', p);
  }
  return sentAt;
}

let pods = 0;
process.on(
  'message',
  (m: { op: string; pods?: number; count?: number; perSecond?: number; tag?: string }) => {
    if (m.op === 'load') {
      pods = m.pods ?? 0;
      load(pods);
      process.send?.({ loaded: pods });
    } else if (m.op === 'churn') {
      void churn(m.count ?? 0, m.perSecond ?? 100, m.tag ?? 'c', pods).then((sentAt) =>
        process.send?.({ churned: true, sentAt }),
      );
    } else if (m.op === 'stop') {
      void fake.stop().then(() => process.exit(0));
    }
  },
);
await fake.start();
process.send?.({ port: fake.port });
