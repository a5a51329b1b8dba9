import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { logger } from '../../lib/log.ts';
import { EntryIndex } from './client/entryIndex.ts';
import { K8sMetadataClient } from './client/sensorClient.ts';
import type { PodEntry } from './client/types.ts';
import { EntryLog } from './entryLog.ts';
import { WatcherMetrics } from './metrics.ts';
import { DEFAULT_SENSOR_API_OPTIONS, SensorApi } from './sensorApi.ts';
import { until } from './testing/shopCluster.ts';

const TOKEN = 'api-test-token';
const pod = (name: string, ip: string, terminated = false): PodEntry => ({
  type: 'pod',
  uid: name,
  namespace: 'ns',
  name,
  ips: [ip],
  terminated,
  workload: { kind: 'Deployment', name: 'web', namespace: 'ns' },
  containers: [{ name: 'app', id: `${name}-cid` }],
});

describe('sensor API', () => {
  let api: SensorApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  async function serve(log: EntryLog, opts: Partial<typeof DEFAULT_SENSOR_API_OPTIONS> = {}) {
    const metrics = new WatcherMetrics();
    api = new SensorApi(
      log,
      { ...DEFAULT_SENSOR_API_OPTIONS, ...opts, host: '127.0.0.1', port: 0, token: TOKEN },
      metrics,
      logger('test'),
    );
    const port = await api.listen();
    const get = (path: string, token = TOKEN, method = 'GET') =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    return { port, get, metrics };
  }

  it('refuses to listen beyond loopback without a token', () => {
    expect(
      () =>
        new SensorApi(
          new EntryLog(),
          { ...DEFAULT_SENSOR_API_OPTIONS, host: '0.0.0.0', port: 0 },
          new WatcherMetrics(),
          logger('t'),
        ),
    ).toThrow(/without a token/);
  });

  it('checks the bearer token and answers bad requests clearly', async () => {
    const log = new EntryLog();
    const { get } = await serve(log);
    expect((await get('/v1/snapshot', '')).status).toBe(401);
    expect((await get('/v1/snapshot', 'wrong')).status).toBe(401);
    expect((await get('/v1/snapshot', `${TOKEN}x`)).status).toBe(401);
    expect((await get('/v1/snapshot')).status).toBe(200);
    expect((await get('/v1/snapshot', TOKEN, 'POST')).status).toBe(405);
    expect((await get('/v1/nothing')).status).toBe(404);
    const bad = await get(`/v1/watch?epoch=${log.epoch}&since=abc`);
    expect([bad.status, ((await bad.json()) as { error: string }).error]).toEqual([
      400,
      expect.stringMatching(/^cannot watch: `since`/),
    ]);
    expect((await get(`/v1/watch?epoch=other&since=0`)).status).toBe(410);
  });

  it('serves a snapshot and then exactly the later changes', async () => {
    const log = new EntryLog();
    log.put('pod/a', pod('a', '10.0.0.1'));
    log.put('pod/b', pod('b', '10.0.0.2'));
    const { get } = await serve(log);
    const snap = await (await get('/v1/snapshot')).json();
    expect(snap).toMatchObject({ epoch: log.epoch, rev: 2, entries: [{ key: 'pod/a' }, { key: 'pod/b' }] });
    log.put('pod/c', pod('c', '10.0.0.3'));
    log.put('pod/a', pod('a', '10.0.0.1')); // identical: not a change
    const res = await get(`/v1/watch?epoch=${log.epoch}&since=2`);
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (s: string) => {
      while (!text.includes(s)) text += new TextDecoder().decode((await reader.read()).value);
    };
    await readUntil('pod/c');
    log.delete('pod/b');
    await readUntil('"rev":4');
    await reader.cancel();
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => !l.heartbeat)).toEqual([
      { rev: 3, key: 'pod/c', value: pod('c', '10.0.0.3') },
      { rev: 4, key: 'pod/b' },
    ]);
  });

  it('a node-scoped copy has container ids only for its own node, in the snapshot and the stream', async () => {
    const log = new EntryLog();
    const on = (name: string, ip: string, node: string): PodEntry => ({ ...pod(name, ip), node });
    log.put('pod/here', on('here', '10.0.0.1', 'node-a'));
    log.put('pod/there', on('there', '10.0.0.2', 'node-b'));
    const { port, get } = await serve(log);
    expect((await get('/v1/snapshot?node=Bad_Name')).status).toBe(400);
    expect((await get(`/v1/watch?epoch=${log.epoch}&since=0&node=${'x'.repeat(300)}`)).status).toBe(400);
    const client = new K8sMetadataClient({ url: `http://127.0.0.1:${port}`, token: TOKEN, node: 'node-a' });
    client.start();
    try {
      await client.ready();
      expect(client.lookupContainer('here-cid')).toMatchObject({ name: 'here' });
      expect(client.lookupContainer('there-cid')).toBeUndefined();
      // Elsewhere a pod still names its IP as a peer.
      expect(client.lookupIp('10.0.0.2')).toMatchObject({ name: 'there', node: 'node-b', containers: [] });
      log.put('pod/new-there', on('new-there', '10.0.0.3', 'node-b'));
      log.put('pod/new-here', on('new-here', '10.0.0.4', 'node-a'));
      await until('the new local pod', () => client.lookupContainer('new-here-cid') !== undefined);
      expect(client.lookupIp('10.0.0.3')).toMatchObject({ name: 'new-there', containers: [] });
      expect(client.lookupContainer('new-there-cid')).toBeUndefined();
    } finally {
      await client.stop();
    }
    // Without `node`, the whole record (what a sensor without a known node name gets).
    const full = (await (await get('/v1/snapshot')).json()) as { entries: { value: PodEntry }[] };
    expect(full.entries.map((e) => e.value.containers.length)).toEqual([1, 1, 1, 1]);
  });

  it('sends 410 when the history no longer reaches the revision', async () => {
    const log = new EntryLog(3);
    for (let i = 0; i < 10; i++) log.put(`pod/${i}`, pod(String(i), `10.0.1.${i}`));
    const { get } = await serve(log);
    expect((await get(`/v1/watch?epoch=${log.epoch}&since=2`)).status).toBe(410);
    expect((await get(`/v1/watch?epoch=${log.epoch}&since=11`)).status).toBe(410);
    const ok = await get(`/v1/watch?epoch=${log.epoch}&since=7`);
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
  });

  it('limits watch streams and drops a reader that does not keep up', async () => {
    const log = new EntryLog();
    const { get, port, metrics } = await serve(log, { maxWatchClients: 1, maxBufferedBytes: 64 * 1024 });
    // a reader that never reads: the socket buffers fill, then the watcher's own buffer passes the limit
    const stalled = request({
      port,
      path: `/v1/watch?epoch=${log.epoch}&since=0`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const closed = new Promise<void>((resolve) => {
      stalled.on('response', (res) => {
        res.pause();
        res.on('close', () => resolve());
        res.on('error', () => resolve());
      });
      stalled.on('error', () => resolve());
    });
    stalled.end();
    await until('stream open', () => (api?.watchClients ?? 0) === 1);
    expect((await get(`/v1/watch?epoch=${log.epoch}&since=0`)).status).toBe(503);
    const big = 'x'.repeat(10_000);
    for (let i = 0; i < 3000 && (api?.watchClients ?? 0) > 0; i++) {
      log.put(`workload/ns/Deployment/w${i}`, {
        type: 'workload',
        namespace: 'ns',
        kind: 'Deployment',
        name: big,
        uid: String(i),
        labels: {},
      });
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await closed;
    const dropped = (await metrics.watchClientsDropped.get()).values;
    expect(dropped).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { reason: 'slow_reader' }, value: 1 }),
        expect.objectContaining({ labels: { reason: 'limit' }, value: 1 }),
      ]),
    );
  });

  it('answers workload queries by namespace and kind', async () => {
    const log = new EntryLog();
    const w = (ns: string, kind: string, name: string) =>
      log.put(`workload/${ns}/${kind}/${name}`, {
        type: 'workload',
        namespace: ns,
        kind,
        name,
        uid: name,
        labels: {},
      });
    w('a', 'Deployment', 'web');
    w('a', 'StatefulSet', 'db');
    w('b', 'Deployment', 'api');
    const { get } = await serve(log);
    const names = async (q: string) =>
      ((await (await get(`/v1/workloads${q}`)).json()) as { items: { name: string }[] }).items.map(
        (x) => x.name,
      );
    expect(await names('')).toEqual(['web', 'db', 'api']);
    expect(await names('?namespace=a')).toEqual(['web', 'db']);
    expect(await names('?namespace=a&kind=StatefulSet')).toEqual(['db']);
    expect(await names('?kind=Deployment&limit=1')).toEqual(['web']);
  });

  it('client re-syncs when the history expired while it was away', async () => {
    const log = new EntryLog(2);
    log.put('pod/a', pod('a', '10.0.0.1'));
    const { port } = await serve(log);
    const client = new K8sMetadataClient({
      url: `http://127.0.0.1:${port}`,
      token: TOKEN,
      backoffInitialMs: 10,
    });
    client.start();
    await client.ready();
    await until('watching', () => client.connected);
    // cut the client off, then change more than the history keeps
    await api!.close();
    for (let i = 0; i < 5; i++) log.put(`pod/x${i}`, pod(`x${i}`, `10.0.2.${i}`));
    log.delete('pod/a');
    api = new SensorApi(
      log,
      { ...DEFAULT_SENSOR_API_OPTIONS, host: '127.0.0.1', port, token: TOKEN },
      new WatcherMetrics(),
      logger('t'),
    );
    await api.listen();
    await until(
      're-synced',
      () => client.lookupIp('10.0.2.4') !== undefined && client.lookupIp('10.0.0.1') === undefined,
    );
    expect(client.snapshots).toBe(2);
    await client.stop();
  });
});

describe('EntryIndex', () => {
  it('keeps the newest live claimant of an IP and never unmaps a newer owner', () => {
    const idx = new EntryIndex();
    idx.put('pod/old', pod('old', '10.1.0.1'));
    idx.put('pod/new', pod('new', '10.1.0.1'));
    expect((idx.lookupIp('10.1.0.1') as PodEntry).name).toBe('new');
    idx.put('pod/old', pod('old', '10.1.0.1')); // an update of the old pod does not take the IP back
    expect((idx.lookupIp('10.1.0.1') as PodEntry).name).toBe('new');
    idx.delete('pod/old');
    expect((idx.lookupIp('10.1.0.1') as PodEntry).name).toBe('new');
    idx.put('pod/new', pod('new', '10.1.0.1', true)); // finished: the IP is free
    expect(idx.lookupIp('10.1.0.1')).toBeUndefined();
    idx.put('node/n', { type: 'node', name: 'n', ips: ['10.1.0.9'] });
    idx.put('service/s', {
      type: 'service',
      uid: 's',
      namespace: 'ns',
      name: 's',
      serviceType: 'ClusterIP',
      clusterIPs: ['10.1.0.9'],
      ports: [],
    });
    expect(idx.lookupIp('10.1.0.9')?.type).toBe('service');
    expect(idx.lookupContainer('new-cid')).toMatchObject({ name: 'new' });
    idx.delete('pod/new');
    expect(idx.lookupContainer('new-cid')).toBeUndefined();
  });
});
