import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { K8sMetadataClient } from './client/sensorClient.ts';
import type { PodEntry } from './client/types.ts';
import { K8sWatcher } from './k8sWatcher.ts';
import { FakeApiServer } from './testing/fakeApiServer.ts';
import { kubeConfigFor, loadShopCluster, podObject, until } from './testing/shopCluster.ts';

const TOKEN = 'sensor-token-for-tests';
const RS = { kind: 'ReplicaSet', name: 'checkout-7d9f8b6c5', uid: 'rs-checkout-7d9f8b6c5' };

async function counter(
  c: { get(): Promise<{ values: { value: number; labels: object }[] }> },
  labels: object,
) {
  const v = (await c.get()).values.find((x) =>
    Object.entries(labels).every(([k, l]) => (x.labels as never)[k] === l),
  );
  return v?.value ?? 0;
}

describe('k8s-watcher against the fake API server', () => {
  const fake = new FakeApiServer({ token: 'fake-token', bookmarkIntervalMs: 200 });
  let watcher: K8sWatcher;
  let client: K8sMetadataClient;

  beforeAll(async () => {
    await fake.start();
    loadShopCluster(fake);
    watcher = new K8sWatcher({
      mode: 'cluster',
      kubeConfig: kubeConfigFor(fake),
      api: { host: '127.0.0.1', port: 0, token: TOKEN },
      // Small pages so every list really pages with continue tokens.
      informer: { pageSize: 2, backoffInitialMs: 50, backoffMaxMs: 500 },
    });
    await watcher.start();
    client = new K8sMetadataClient({
      url: `http://127.0.0.1:${watcher.port}`,
      token: TOKEN,
      backoffMaxMs: 500,
    });
    client.start();
    await client.ready();
  });

  afterAll(async () => {
    await client?.stop();
    await watcher?.shutdown();
    await fake.stop();
  });

  it('lists with paging and watches with bookmarks from the list resourceVersion', async () => {
    expect((await watcher.health()).ok).toBe(true);
    expect(fake.requests.some((r) => r.startsWith('GET /api/v1/pods?limit=2&continue='))).toBe(true);
    const podWatch = fake.requests.find((r) => r.startsWith('GET /api/v1/pods?watch=true'));
    expect(podWatch).toMatch(/allowWatchBookmarks=true/);
    expect(podWatch).toMatch(/resourceVersion=\d+/);
    await until('a bookmark', () => fake.openWatches > 0);
    await new Promise((r) => setTimeout(r, 500));
    expect(
      await counter(watcher.metrics.watchEvents, { resource: 'pods', type: 'BOOKMARK' }),
    ).toBeGreaterThan(0);
  });

  it('resolves owner chains into workloads', () => {
    const byName = (ns: string, name: string) =>
      [
        ...(function* () {
          for (const ip of ['10.244.0.17', '10.244.1.8', '10.244.1.9']) yield client.lookupIp(ip);
        })(),
      ].find((e) => e?.type === 'pod' && e.namespace === ns && e.name === name) as PodEntry | undefined;
    expect(byName('shop', 'checkout-7d9f8b6c5-x4k2p')?.workload).toEqual({
      kind: 'Deployment',
      name: 'checkout',
      namespace: 'shop',
    });
    expect(byName('shop', 'postgres-0')?.workload).toEqual({
      kind: 'StatefulSet',
      name: 'postgres',
      namespace: 'shop',
    });
    const job = client.get('pod/nightly-report-29403255-5cz8d-uid') as PodEntry | undefined;
    expect(job?.workload).toEqual({ kind: 'CronJob', name: 'nightly-report', namespace: 'batch' });
    const agent = client.get('pod/node-agent-7xq2m-uid') as PodEntry | undefined;
    expect(agent?.workload).toEqual({ kind: 'DaemonSet', name: 'node-agent', namespace: 'kube-system' });
    const mirror = client.get('pod/kube-apiserver-node-a-uid') as PodEntry | undefined;
    expect(mirror?.workload).toEqual({
      kind: 'Pod',
      name: 'kube-apiserver-node-a',
      namespace: 'kube-system',
    });
    expect(client.workload('shop', 'Deployment', 'checkout')).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
      labels: { 'app.kubernetes.io/name': 'checkout' },
    });
    expect(client.workload('shop', 'ReplicaSet', 'checkout-7d9f8b6c5')?.owner).toEqual({
      kind: 'Deployment',
      name: 'checkout',
    });
    expect(client.workload('batch', 'CronJob', 'nightly-report')?.schedule).toBe('15 2 * * *');
  });

  it('maps pod, service, node and external endpoint IPs, and container ids', () => {
    expect(client.lookupIp('10.96.12.34')).toMatchObject({ type: 'service', name: 'checkout' });
    expect(client.lookupIp('172.16.5.10')).toMatchObject({ type: 'service', name: 'billing-db' });
    // host-network pods share the node's IP: the IP stays the node's
    expect(client.lookupIp('10.128.0.11')).toMatchObject({ type: 'node', name: 'node-a' });
    // a finished job pod no longer owns its IP
    expect(client.lookupIp('10.244.0.23')).toBeUndefined();
    expect(client.lookupContainer('1f0e'.repeat(16))).toMatchObject({ name: 'checkout-7d9f8b6c5-x4k2p' });
    expect(client.lookupContainer('3c2b'.repeat(16))).toMatchObject({ name: 'checkout-7d9f8b6c5-x4k2p' });
  });

  it('follows adds, updates and deletes', async () => {
    fake.upsert(
      'pods',
      podObject({
        name: 'checkout-7d9f8b6c5-new01',
        ip: '10.244.0.40',
        owner: RS,
        containerId: 'aa'.repeat(32),
      }),
    );
    await until('new pod', () => client.lookupIp('10.244.0.40')?.type === 'pod');
    expect((client.lookupIp('10.244.0.40') as PodEntry).workload.name).toBe('checkout');
    fake.upsert(
      'pods',
      podObject({
        name: 'checkout-7d9f8b6c5-new01',
        ip: '10.244.0.40',
        owner: RS,
        containerId: 'bb'.repeat(32),
      }),
    );
    await until('container restart', () => client.lookupContainer('bb'.repeat(32)) !== undefined);
    expect(client.lookupContainer('aa'.repeat(32))).toBeUndefined();
    fake.remove('pods', 'shop', 'checkout-7d9f8b6c5-new01');
    await until('pod deleted', () => client.lookupIp('10.244.0.40') === undefined);
    expect(client.lookupContainer('bb'.repeat(32))).toBeUndefined();
  });

  it('re-resolves pods when their owner arrives late', async () => {
    const rsUid = 'rs-late';
    fake.upsert(
      'pods',
      podObject({
        name: 'late-abc12-zz',
        ip: '10.244.0.50',
        owner: { kind: 'ReplicaSet', name: 'late-abc12', uid: rsUid },
      }),
    );
    await until('orphan pod', () => client.lookupIp('10.244.0.50') !== undefined);
    expect((client.lookupIp('10.244.0.50') as PodEntry).workload).toMatchObject({
      kind: 'ReplicaSet',
      name: 'late-abc12',
    });
    fake.upsert('deployments', {
      metadata: { name: 'late', namespace: 'shop', uid: 'dep-late' },
      spec: { replicas: 1 },
    });
    fake.upsert('replicasets', {
      metadata: {
        name: 'late-abc12',
        namespace: 'shop',
        uid: rsUid,
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'late', uid: 'dep-late', controller: true },
        ],
      },
      spec: { replicas: 1 },
    });
    await until(
      'pod resolved to deployment',
      () => (client.lookupIp('10.244.0.50') as PodEntry).workload.kind === 'Deployment',
    );
    expect((client.lookupIp('10.244.0.50') as PodEntry).workload.name).toBe('late');
  });

  it('hands a reused IP to the new pod, whatever the order of events', async () => {
    fake.upsert('pods', podObject({ name: 'old-pod', ip: '10.244.0.60' }));
    await until('old pod', () => client.lookupIp('10.244.0.60')?.type === 'pod');
    // the new pod is scheduled with the same IP before the old one's deletion arrives
    fake.upsert('pods', podObject({ name: 'new-pod', ip: '10.244.0.60' }));
    await until(
      'new pod owns IP',
      () => (client.lookupIp('10.244.0.60') as PodEntry | undefined)?.name === 'new-pod',
    );
    fake.remove('pods', 'shop', 'old-pod');
    await until(
      'old pod gone',
      () => client.get(`pod/${fake.get('pods', 'shop', 'new-pod')?.metadata.uid}`) !== undefined,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect((client.lookupIp('10.244.0.60') as PodEntry).name).toBe('new-pod');
    // and the other order: the old pod finishes (keeps its IP in status) and a new one takes the IP
    fake.upsert('pods', podObject({ name: 'new-pod', ip: '10.244.0.60', phase: 'Succeeded' }));
    fake.upsert('pods', podObject({ name: 'newer-pod', ip: '10.244.0.60' }));
    await until(
      'newer pod owns IP',
      () => (client.lookupIp('10.244.0.60') as PodEntry | undefined)?.name === 'newer-pod',
    );
  });

  it('re-lists after watch expiry (410 as ERROR event, then as HTTP 410)', async () => {
    for (const goneAsHttp of [false, true]) {
      fake.opts.goneAsHttp = goneAsHttp;
      const lists = await counter(watcher.metrics.lists, { resource: 'pods' });
      const ip = goneAsHttp ? '10.244.0.71' : '10.244.0.70';
      fake.expireWatches(() => {
        fake.upsert('pods', podObject({ name: `expiry-${goneAsHttp}`, ip }));
        fake.remove('pods', 'shop', 'newer-pod');
      });
      await until(`pod added during expiry (http=${goneAsHttp})`, () => client.lookupIp(ip)?.type === 'pod');
      await until('pod deleted during expiry', () => client.lookupIp('10.244.0.60') === undefined);
      expect(await counter(watcher.metrics.lists, { resource: 'pods' })).toBeGreaterThan(lists);
    }
    fake.opts.goneAsHttp = false;
    expect(fake.requests.some((r) => r.includes('/api/v1/pods?watch=true'))).toBe(true);
  });

  it('survives an API server restart, with and without history', async () => {
    await fake.restart({
      whileDown: () => fake.upsert('pods', podObject({ name: 'while-down', ip: '10.244.0.80' })),
    });
    await until(
      'change made while the API server was down',
      () => client.lookupIp('10.244.0.80')?.type === 'pod',
      30_000,
    );
    await fake.restart({
      loseHistory: true,
      whileDown: () => fake.remove('pods', 'shop', 'while-down'),
    });
    await until(
      'delete made while down, after history loss',
      () => client.lookupIp('10.244.0.80') === undefined,
      30_000,
    );
    await until('healthy again', () => watcher.informers.every((i) => i.synced));
  });

  it('keeps the sensor copy across a watcher restart (new epoch -> snapshot)', async () => {
    const port = watcher.port;
    await watcher.shutdown();
    fake.upsert('pods', podObject({ name: 'while-watcher-down', ip: '10.244.0.90' }));
    // the copy keeps answering while the watcher is away
    expect(client.lookupIp('10.96.12.34')).toMatchObject({ name: 'checkout' });
    watcher = new K8sWatcher({
      mode: 'cluster',
      kubeConfig: kubeConfigFor(fake),
      api: { host: '127.0.0.1', port, token: TOKEN },
      informer: { pageSize: 100, backoffInitialMs: 50, backoffMaxMs: 500 },
    });
    await watcher.start();
    await until(
      're-synced from the new watcher',
      () => client.lookupIp('10.244.0.90')?.type === 'pod',
      30_000,
    );
    expect(client.snapshots).toBeGreaterThanOrEqual(2);
    expect(client.lookupIp('10.244.0.17')).toMatchObject({ name: 'checkout-7d9f8b6c5-x4k2p' });
  });
});

describe('k8s-watcher API server errors', () => {
  it('reports 401 and 403 in health and keeps retrying', async () => {
    const fake = new FakeApiServer({ token: 'right', forbidden: new Set(['events']) });
    await fake.start();
    loadShopCluster(fake);
    const wrong = new K8sWatcher({
      mode: 'cluster',
      kubeConfig: kubeConfigFor(fake, 'wrong'),
      api: { host: '127.0.0.1', port: 0 },
      resources: ['pods'],
      informer: { backoffInitialMs: 50, backoffMaxMs: 100 },
    });
    const forbidden = new K8sWatcher({
      mode: 'cluster',
      kubeConfig: kubeConfigFor(fake, 'right'),
      api: { host: '127.0.0.1', port: 0 },
      resources: ['pods', 'events'],
      informer: { backoffInitialMs: 50, backoffMaxMs: 100 },
    });
    try {
      await wrong.start();
      await forbidden.start();
      const h1 = await wrong.health();
      expect(h1.ok).toBe(false);
      expect(h1.detail).toMatch(/pods: not listed yet \(cannot list pods: HTTP 401: Unauthorized/);
      const h2 = await forbidden.health();
      expect(h2.ok).toBe(false);
      expect(h2.detail).toMatch(/events: .*HTTP 403: Forbidden: events is forbidden/);
      expect(h2.detail).not.toMatch(/pods:/);
      const before = fake.requests.length;
      await until('retries with back-off', () => fake.requests.length > before + 3);
    } finally {
      await wrong.shutdown();
      await forbidden.shutdown();
      await fake.stop();
    }
  });
});

describe('k8s-watcher lifecycle', () => {
  it('shuts down before start and twice; a failed start leaves nothing running', async () => {
    const fake = new FakeApiServer({ token: 'fake-token' });
    await fake.start();
    const idle = new K8sWatcher({
      mode: 'cluster',
      kubeConfig: kubeConfigFor(fake),
      api: { host: '127.0.0.1', port: 0 },
    });
    await idle.shutdown();
    await idle.shutdown();
    expect((await idle.health()).ok).toBe(false);
    // the port is taken by the fake API server: listening fails after the informers started
    const clash = new K8sWatcher({
      mode: 'cluster',
      kubeConfig: kubeConfigFor(fake),
      api: { host: '127.0.0.1', port: fake.port },
      resources: ['pods'],
    });
    await expect(clash.start()).rejects.toThrow(/cannot start k8s-watcher: listen EADDRINUSE/);
    // the watch that would follow the list must not be opened after the failed start either
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.openWatches).toBe(0);
    // credentials that cannot be read: start() still returns, health says why, nothing crashes
    const kc = kubeConfigFor(fake);
    kc.users = [
      { name: 'watcher', authProvider: { name: 'tokenFile', config: { tokenFile: '/nonexistent/token' } } },
    ];
    const unreadable = new K8sWatcher({
      mode: 'cluster',
      kubeConfig: kc,
      api: { host: '127.0.0.1', port: 0 },
      resources: ['pods'],
    });
    await unreadable.start();
    expect((await unreadable.health()).detail).toMatch(/pods: not listed yet \(.*\/nonexistent\/token/);
    await unreadable.shutdown();
    // credentials that fail between the list and the watch: retried, and no unhandled rejection
    class FlakyKubeConfig extends KubeConfig {
      calls = 0;
      override async applySecurityAuthentication(
        ctx: Parameters<KubeConfig['applySecurityAuthentication']>[0],
      ) {
        if (++this.calls === 2) throw new Error('token file vanished');
        return super.applySecurityAuthentication(ctx);
      }
    }
    const flaky = new FlakyKubeConfig();
    flaky.loadFromOptions({ ...kubeConfigFor(fake), currentContext: 'fake' });
    const recovering = new K8sWatcher({
      mode: 'cluster',
      kubeConfig: flaky,
      api: { host: '127.0.0.1', port: 0 },
      resources: ['pods'],
      informer: { backoffInitialMs: 20, backoffMaxMs: 50 },
    });
    await recovering.start();
    await until('watch re-established', () => flaky.calls >= 3 && fake.openWatches === 1).catch((e) => {
      throw new Error(`${e.message}: calls ${flaky.calls}, open watches ${fake.openWatches}`);
    });
    expect(await counter(recovering.metrics.informerErrors, { resource: 'pods' })).toBe(1);
    expect((await recovering.health()).ok).toBe(true);
    await recovering.shutdown();
    await fake.stop();
  });
});
