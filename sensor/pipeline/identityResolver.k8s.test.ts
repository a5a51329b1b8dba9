import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { K8sWatcher } from '../../incloud/k8s-watcher/k8sWatcher.ts';
import { FakeApiServer } from '../../incloud/k8s-watcher/testing/fakeApiServer.ts';
import {
  kubeConfigFor,
  loadShopCluster,
  podObject,
  until,
} from '../../incloud/k8s-watcher/testing/shopCluster.ts';
import type { ApiCall } from '../protocols/contract.ts';
import { apiCall } from '../testing/apiCall.ts';
import { SensorPipeline } from './sensorPipeline.ts';

// The real k8s-watcher (informers, owner resolution, sensor API) against the fake kube-apiserver that its
// own tests use, loaded with the shop cluster and with a pod from the kubernetes/api round-trip fixtures;
// the pipeline follows it through its HTTP API. Processes live in a fake /proc whose cgroup files carry
// the containerd ids of those pods.
const TOKEN = 'identity-test-token';
const FIXTURE_POD = '/work/shared/testdata/k8s/api-testdata/HEAD/core.v1.Pod.json';
const proc = mkdtempSync(join(tmpdir(), 'understory-identity-'));
const fake = new FakeApiServer({ token: 'fake-token' });
let watcher: K8sWatcher;
let pipeline: SensorPipeline;

function fakeProcess(pid: number, comm: string, cgroup: string): void {
  mkdirSync(join(proc, String(pid)), { recursive: true });
  writeFileSync(join(proc, String(pid), 'comm'), `${comm}\n`);
  writeFileSync(join(proc, String(pid), 'cgroup'), cgroup);
}
const containerd = (podUid: string, id: string) =>
  `12:memory:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid.replaceAll('-', '_')}.slice/cri-containerd-${id}.scope\n0::/\n`;

const call = apiCall;

/** Labels of the RED series a single call made. */
function labelsOf(p: SensorPipeline, c: ApiCall): Record<string, string> {
  const before = new Set(p.aggregator.snapshot({}).map((s) => s.pairs.join('\u0000')));
  p.consume([c]);
  const fresh = p.aggregator.snapshot({}).find((s) => !before.has(s.pairs.join('\u0000')));
  if (!fresh) throw new Error('the call made no new series');
  const labels: Record<string, string> = {};
  for (let i = 0; i < fresh.pairs.length; i += 2) labels[fresh.pairs[i]!] = fresh.pairs[i + 1]!;
  return labels;
}

beforeAll(async () => {
  await fake.start();
  loadShopCluster(fake);
  // A fixture pod as the API serves it: every field of the round-trip fixture, with its placeholder
  // namespace, owner, IP and container id replaced by values a cluster would have.
  const pod = JSON.parse(readFileSync(FIXTURE_POD, 'utf8')) as Record<string, never> & {
    metadata: Record<string, unknown> & { name: string };
    spec: Record<string, unknown>;
    status: Record<string, unknown> & { containerStatuses: Record<string, unknown>[] };
  };
  pod.metadata.name = 'fixture-pod';
  pod.metadata.namespace = 'fixtures';
  pod.metadata.uid = 'aaaaaaaa-1111-2222-3333-444444444444';
  delete pod.metadata.ownerReferences;
  pod.spec.nodeName = 'node-b';
  pod.spec.hostNetwork = false;
  pod.status.phase = 'Running';
  pod.status.podIP = '10.244.2.50';
  pod.status.podIPs = [{ ip: '10.244.2.50' }];
  pod.status.containerStatuses[0]!.containerID = `containerd://${'ab12'.repeat(16)}`;
  fake.upsert('pods', pod);

  watcher = new K8sWatcher({
    mode: 'cluster',
    kubeConfig: kubeConfigFor(fake),
    api: { host: '127.0.0.1', port: 0, token: TOKEN },
    informer: { backoffInitialMs: 50, backoffMaxMs: 500 },
  });
  await watcher.start();

  fakeProcess(100, 'checkout', containerd('0000-x4k2p', '1f0e'.repeat(16)));
  fakeProcess(101, 'envoy', containerd('0000-x4k2p', '2e1d'.repeat(16)));
  fakeProcess(200, 'postgres', containerd('0000-pg', '6c57'.repeat(16)));
  fakeProcess(300, 'fixture', containerd('0000-fx', 'ab12'.repeat(16)));
  fakeProcess(400, 'sshd', '1:name=systemd:/system.slice/ssh.service\n0::/\n');
  // A container the watcher does not know (not in the cluster) and a pod known only by its UID so far.
  fakeProcess(500, 'sidecar', containerd('0000-zz', 'cd34'.repeat(16)));
  fakeProcess(600, 'fresh', containerd('12345678-aaaa-bbbb-cccc-1234567890ab', 'ef56'.repeat(16)));

  pipeline = new SensorPipeline({
    identity: {
      watcherUrl: `http://127.0.0.1:${watcher.port}`,
      watcherToken: TOKEN,
      processes: { procRoot: proc },
    },
  });
  await pipeline.start();
}, 60_000);

afterAll(async () => {
  await pipeline?.shutdown();
  await watcher?.shutdown();
  await fake.stop();
  rmSync(proc, { recursive: true, force: true });
});

describe('identity from the k8s-watcher', () => {
  it('names the observed process by its pod workload, via the container id in its cgroup', async () => {
    expect(pipeline.identity?.client?.snapshots).toBe(1);
    const checkout = labelsOf(pipeline, call({ pid: 100, client: { ip: '10.244.1.9', port: 40000 } }));
    expect(checkout).toMatchObject({ workload: 'checkout', namespace: 'shop', peer: 'postgres' });
    // the second container of the same pod is the same workload
    expect(labelsOf(pipeline, call({ pid: 101, resource: '/x' }))).toMatchObject({ workload: 'checkout' });
    const pg = labelsOf(
      pipeline,
      call({ pid: 200, protocol: 'postgres', client: { ip: '10.244.0.17', port: 40001 } }),
    );
    expect(pg).toMatchObject({ workload: 'postgres', namespace: 'shop', peer: 'checkout' });
    const fixture = labelsOf(pipeline, call({ pid: 300 }));
    expect(fixture).toMatchObject({ workload: 'fixture-pod', namespace: 'fixtures' });
  });

  it('names peers: pod -> workload, Service IP -> service, node IP -> node, endpoint-only IP -> service', () => {
    const peer = (ip: string, port = 443) =>
      labelsOf(pipeline, call({ pid: 100, role: 'client', resource: `/${ip}`, server: { ip, port } })).peer;
    expect(peer('10.244.1.8', 8080)).toBe('checkout');
    expect(peer('10.96.12.34', 80)).toBe('checkout');
    expect(peer('10.96.40.2', 5432)).toBe('billing-db');
    expect(peer('172.16.5.10', 5432)).toBe('billing-db');
    expect(peer('10.128.0.11', 10250)).toBe('node-a');
    expect(peer('::ffff:10.244.2.50', 8080)).toBe('fixture-pod');
    // unknown to the watcher and never resolved: the address stays
    expect(peer('192.0.2.7', 443)).toBe('192.0.2.7:443');
  });

  it('falls back to DNS names the sensor saw resolved, then to local names', () => {
    pipeline.consume([
      call({
        pid: 100,
        protocol: 'dns',
        role: 'client',
        method: 'A',
        resource: 'API.Payments.example.',
        status: 'NOERROR',
        server: { ip: '10.96.0.10', port: 53 },
        attributes: { 'dns.answers': 'edge.example.net,198.51.100.20', 'dns.answers.min_ttl': 30 },
      }),
    ]);
    const c = call({
      pid: 100,
      role: 'client',
      resource: '/pay',
      server: { ip: '198.51.100.20', port: 443 },
    });
    expect(labelsOf(pipeline, c).peer).toBe('api.payments.example');
    // a container the watcher does not know: its short id; a systemd service: its unit
    expect(labelsOf(pipeline, call({ pid: 500 })).workload).toBe('cd34cd34cd34');
    expect(labelsOf(pipeline, call({ pid: 400 })).workload).toBe('ssh');
    const counts = pipeline.identity!.counts;
    expect(counts.peer.dns).toBeGreaterThan(0);
    expect(counts.workload.host).toBeGreaterThan(0);
  });

  it('follows pods added later, found by pod UID before their container ids are published', async () => {
    const p = podObject({ name: 'fresh-1', namespace: 'shop', ip: '10.244.3.3', node: 'node-a' });
    (p.metadata as Record<string, unknown>).uid = '12345678-aaaa-bbbb-cccc-1234567890ab';
    (p.metadata as Record<string, unknown>).ownerReferences = [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'postgres', uid: 'sts-postgres', controller: true },
    ];
    fake.upsert('pods', p);
    const client = pipeline.identity!.client!;
    await until('the new pod reaches the sensor', () => client.lookupIp('10.244.3.3') !== undefined);
    // pid 600 was never asked about before, so its /proc facts are read now
    expect(labelsOf(pipeline, call({ pid: 600, resource: '/fresh' }))).toMatchObject({
      workload: 'postgres',
      namespace: 'shop',
    });
    const health = await pipeline.health();
    expect(health.detail).toMatch(/k8s-watcher: \d+ entries, rev \d+, following/);
  });
});

describe('identity without a reachable watcher', () => {
  it('starts after readyTimeoutMs and names by local facts', async () => {
    const p = new SensorPipeline({
      identity: {
        watcherUrl: 'http://127.0.0.1:9', // discard port: nothing listens
        readyTimeoutMs: 300,
        processes: { procRoot: proc },
      },
    });
    await p.start();
    try {
      expect(labelsOf(p, call({ pid: 100, client: { ip: '10.244.1.9', port: 1 } }))).toMatchObject({
        workload: '1f0e1f0e1f0e',
        namespace: '',
        peer: '10.244.1.9',
      });
      expect((await p.health()).detail).toMatch(/k8s-watcher: no snapshot yet/);
    } finally {
      await p.shutdown();
    }
  });
});
