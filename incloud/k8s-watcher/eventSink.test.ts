import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../lib/log.ts';
import { ChdbStore } from '../clickhouse/chdbStore.ts';
import { migrate } from '../clickhouse/migrations.ts';
import { K8sEventSink } from './eventSink.ts';
import { K8sWatcher } from './k8sWatcher.ts';
import { WatcherMetrics } from './metrics.ts';
import { stripEvent } from './records.ts';
import { FakeApiServer } from './testing/fakeApiServer.ts';
import { kubeConfigFor, loadShopCluster, shopCluster } from './testing/shopCluster.ts';

interface Row {
  Uid: string;
  Reason: string;
  Count: number;
  Workload: string;
  InvolvedObjectName: string;
  LastTimestamp: string;
  ClusterName: string;
}

describe('Kubernetes events -> ClickHouse (chdb, the real k8s_events migration)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understory-k8s-events-'));
  const store = new ChdbStore(join(dir, 'ch'));
  const fake = new FakeApiServer({ token: 'fake-token' });
  let watcher: K8sWatcher;
  const rows = () => store.query<Row>('SELECT * FROM k8s_events ORDER BY Uid, LastTimestamp');

  beforeAll(async () => {
    store.open();
    await migrate(store);
    await fake.start();
    loadShopCluster(fake);
    watcher = new K8sWatcher({
      mode: 'cluster',
      kubeConfig: kubeConfigFor(fake),
      api: { host: '127.0.0.1', port: 0 },
      store,
      events: { flushIntervalMs: 50, clusterName: 'test-cluster' },
    });
    await watcher.start();
  });

  afterAll(async () => {
    await watcher?.shutdown();
    await fake.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes each event with its involved object resolved to a workload', async () => {
    let got: Row[] = [];
    for (let i = 0; i < 100 && got.length < 3; i++) {
      got = await rows();
      if (got.length < 3) await new Promise((r) => setTimeout(r, 100));
    }
    expect(got.map((r) => [r.Reason, r.Workload, r.Count, r.ClusterName])).toEqual([
      ['Pulled', 'Deployment/checkout', 1, 'test-cluster'],
      ['BackOff', 'Deployment/checkout', 4, 'test-cluster'],
      ['SuccessfulCreate', 'CronJob/nightly-report', 1, 'test-cluster'],
    ]);
  });

  it('stores a repeat as a new version and does not duplicate on re-list', async () => {
    const backoff = shopCluster().find((o) => o.object.reason === 'BackOff')!.object;
    const lists = async () =>
      (await watcher.metrics.lists.get()).values.find((v) => v.labels.resource === 'events')?.value ?? 0;
    const before = await lists();
    // The repeat happens while the watch is down and history is compacted: it arrives through a re-list,
    // which also brings every other event again.
    fake.expireWatches(() => {
      fake.upsert('events', { ...backoff, count: 5, lastTimestamp: '2026-11-25T10:06:00Z' });
    });
    let got: Row[] = [];
    for (let i = 0; i < 150; i++) {
      got = await rows();
      if (got.length >= 4 && (await lists()) > before) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await watcher.events?.flush();
    got = await rows();
    expect(await lists()).toBeGreaterThan(before);
    expect(got).toHaveLength(4);
    const latest = await store.query<{ Count: number }>(
      "SELECT Count FROM k8s_events FINAL WHERE Reason = 'BackOff'",
    );
    expect(latest).toEqual([{ Count: 5 }]);
  });

  it('retries a failing write, then drops the batch and counts it', async () => {
    const metrics = new WatcherMetrics();
    const sink = new K8sEventSink(store, metrics, logger('test'), {
      table: 'no_such_table',
      clusterName: '',
      batchSize: 10,
      flushIntervalMs: 60_000,
      maxQueued: 100,
      maxAttempts: 2,
      dedupEntries: 100,
    });
    sink.add(stripEvent({ metadata: { name: 'e1', namespace: 'n', uid: 'u1' }, reason: 'X' }));
    await sink.flush();
    expect(sink.lastError).toMatch(/no_such_table/);
    expect(sink.queued).toBe(1);
    await sink.flush();
    expect(sink.queued).toBe(0);
    expect((await metrics.eventsDropped.get()).values).toEqual([
      expect.objectContaining({ value: 1, labels: { reason: 'write_failed' } }),
    ]);
    expect(
      () => new K8sEventSink(store, metrics, logger('test'), { ...sinkDefaults(), table: 'x; DROP' }),
    ).toThrow(/cannot use table name/);
  });
});

function sinkDefaults() {
  return {
    table: 'k8s_events',
    clusterName: '',
    batchSize: 10,
    flushIntervalMs: 1000,
    maxQueued: 10,
    maxAttempts: 1,
    dedupEntries: 10,
  };
}
