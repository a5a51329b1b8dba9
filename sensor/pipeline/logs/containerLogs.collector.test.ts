import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChdbStore } from '../../../incloud/clickhouse/chdbStore.ts';
import type { OtlpCollector } from '../../../incloud/collector/collector.ts';
import { openTestStore, RecordingSink, startCollector } from '../../../incloud/collector/collectorTestKit.ts';
import { EntryIndex } from '../../../incloud/k8s-watcher/client/entryIndex.ts';
import { ContainerLogs } from './containerLogs.ts';
import { listPodLogFiles, podLogFileOf } from './podLogs.ts';

// CRI files in a kubelet-shaped directory -> ContainerLogs -> the real collector -> chdb otel_logs.
const dir = mkdtempSync(join(tmpdir(), 'understory-pod-logs-'));
const root = join(dir, 'pods');
let store: ChdbStore;
let close: () => Promise<void>;
let collector: OtlpCollector;
beforeAll(async () => {
  ({ store, close } = await openTestStore());
  collector = await startCollector({ store, metrics: new RecordingSink() });
});
afterAll(async () => {
  await collector?.shutdown();
  await close?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('pod log layout', () => {
  it.each([
    [
      'shop_cart-7d9f_0a1b-2c3d/app/0.log',
      { namespace: 'shop', pod: 'cart-7d9f', podUid: '0a1b-2c3d', container: 'app', restartCount: 0 },
    ],
    [
      'kube-system_coredns-1_u1/coredns/3.log',
      { namespace: 'kube-system', pod: 'coredns-1', podUid: 'u1', container: 'coredns', restartCount: 3 },
    ],
    ['shop_cart_u/app/0.log.20261125-185000', undefined],
    ['shop_cart/app/0.log', undefined],
    ['shop_cart_u/0.log', undefined],
  ])('%s', (rel, want) => {
    const f = podLogFileOf('/var/log/pods', `/var/log/pods/${rel}`);
    expect(
      f && {
        namespace: f.namespace,
        pod: f.pod,
        podUid: f.podUid,
        container: f.container,
        restartCount: f.restartCount,
      },
    ).toEqual(want);
  });
});

describe('container logs end to end through the collector into ClickHouse', () => {
  it('ships CRI lines with pod identity and severity, across a rotation, once each', async () => {
    const c = join(root, 'shop_cart-7d9f_uid-1', 'app');
    mkdirSync(c, { recursive: true });
    const log = join(c, '0.log');
    const t = '2026-11-25T18:50:00';
    writeFileSync(
      log,
      `${t}.000000001Z stdout F {"level":"error","msg":"boom"}\n${t}.000000002Z stderr P partial `,
    );
    expect(listPodLogFiles(root).map((f) => f.container)).toEqual(['app']);
    const logs = new ContainerLogs({
      root,
      stateFile: join(dir, 'offsets.json'),
      otlpUrl: `http://127.0.0.1:${collector.port}`,
      fromStart: true,
      pollIntervalMs: 3_600_000,
    });
    await logs.start();
    appendFileSync(log, `\n${t}.000000003Z stderr F line\n${t}.000000005Z stdout F INFO ready\n`);
    renameSync(log, `${log}.20261125-185001`);
    writeFileSync(log, `${t}.000000006Z stdout F after rotation\n`);
    await logs.poll();
    await logs.poll();
    expect(await logs.drain(20_000)).toBe(true);
    await logs.shutdown();
    // A restart reads nothing again.
    const again = new ContainerLogs({
      root,
      stateFile: join(dir, 'offsets.json'),
      otlpUrl: `http://127.0.0.1:${collector.port}`,
      fromStart: true,
      pollIntervalMs: 3_600_000,
    });
    await again.start();
    expect(await again.drain(20_000)).toBe(true);
    await again.shutdown();
    const rows = await store.query<Record<string, unknown>>(
      "SELECT Body, SeverityText, SeverityNumber, ServiceName, ResourceAttributes, LogAttributes, toString(toUnixTimestamp64Nano(Timestamp)) AS Ts FROM otel_logs WHERE ServiceName = 'app' ORDER BY Ts",
    );
    expect(
      rows.map((r) => [
        r.Body,
        r.SeverityText,
        r.SeverityNumber,
        (r.LogAttributes as Record<string, string>)['log.iostream'],
      ]),
    ).toEqual([
      ['{"level":"error","msg":"boom"}', 'ERROR', 17, 'stdout'],
      ['partial line', '', 0, 'stderr'],
      ['INFO ready', 'INFO', 9, 'stdout'],
      ['after rotation', '', 0, 'stdout'],
    ]);
    expect(rows[0]!.Ts).toBe('1795632600000000001');
    expect(rows[0]!.ResourceAttributes).toMatchObject({
      'k8s.namespace.name': 'shop',
      'k8s.pod.name': 'cart-7d9f',
      'k8s.pod.uid': 'uid-1',
      'k8s.container.name': 'app',
    });
  });

  it('names service.name by the workload the k8s-watcher knows for the pod', async () => {
    const c = join(root, 'shop_checkout-7d9f8b6c5-x4k2p_uid-42', 'envoy');
    mkdirSync(c, { recursive: true });
    writeFileSync(join(c, '0.log'), '2026-11-25T18:51:00.000000001Z stdout F proxy up\n');
    const registry = new Registry();
    const metadata = new EntryIndex();
    metadata.put('pod/uid-42', {
      type: 'pod',
      uid: 'uid-42',
      namespace: 'shop',
      name: 'checkout-7d9f8b6c5-x4k2p',
      node: 'node-a',
      ips: ['10.244.0.17'],
      terminated: false,
      workload: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
      containers: [{ name: 'envoy' }],
    });
    const logs = new ContainerLogs({
      root,
      stateFile: join(dir, 'offsets-workload.json'),
      otlpUrl: `http://127.0.0.1:${collector.port}`,
      fromStart: true,
      pollIntervalMs: 3_600_000,
      metadata,
      registry,
    });
    await logs.start();
    expect(await logs.drain(20_000)).toBe(true);
    await logs.shutdown();
    const rows = await store.query<{ ServiceName: string; ResourceAttributes: Record<string, string> }>(
      "SELECT ServiceName, ResourceAttributes FROM otel_logs WHERE Body = 'proxy up'",
    );
    expect(rows).toHaveLength(1);
    // every pod file under root was read from its start by this fresh instance
    expect(await registry.getSingleMetricAsString('sensor_container_logs_lines_total')).toMatch(
      /sensor_container_logs_lines_total [1-9]\d*/,
    );
    expect(await registry.getSingleMetricAsString('sensor_otlp_logs_sent_total')).toMatch(
      /sensor_otlp_logs_sent_total [1-9]\d*/,
    );
    expect(rows[0]!.ServiceName).toBe('checkout');
    expect(rows[0]!.ResourceAttributes).toMatchObject({
      'k8s.deployment.name': 'checkout',
      'k8s.node.name': 'node-a',
      'k8s.container.name': 'envoy',
    });
  });

  it('follows configured plain-text files of a plain host as their service', async () => {
    const file = join(dir, 'nginx-error.log');
    writeFileSync(file, '2026/11/25 18:52:00 [error] 12#12: upstream timed out\nplain line\n');
    const logs = new ContainerLogs({
      root: join(dir, 'no-pods-here'),
      stateFile: join(dir, 'offsets-host.json'),
      otlpUrl: `http://127.0.0.1:${collector.port}`,
      hostFiles: [
        { path: file, service: 'nginx' },
        { path: join(dir, 'not-yet.log'), service: 'later' },
      ],
      host: 'laptop',
      fromStart: true,
      pollIntervalMs: 3_600_000,
    });
    await logs.start();
    expect(await logs.drain(20_000)).toBe(true);
    await logs.shutdown();
    const rows = await store.query<{
      Body: string;
      SeverityText: string;
      ResourceAttributes: Record<string, string>;
    }>(
      "SELECT Body, SeverityText, ResourceAttributes FROM otel_logs WHERE ServiceName = 'nginx' ORDER BY Body",
    );
    expect(rows.map((r) => [r.Body, r.SeverityText])).toEqual([
      ['2026/11/25 18:52:00 [error] 12#12: upstream timed out', 'ERROR'],
      ['plain line', ''],
    ]);
    expect(rows[0]!.ResourceAttributes).toMatchObject({ 'host.name': 'laptop' });
  });

  it('joins Java and Node stack traces into one record each, in files a glob finds and in container logs', async () => {
    const java = [
      '2026-11-25 18:53:00 ERROR request failed',
      'java.lang.IllegalStateException: cart is empty',
      '\tat com.shop.Cart.checkout(Cart.java:42)',
      'Caused by: java.io.IOException: disk full',
      '\tat com.shop.Store.write(Store.java:9)',
      '\t... 1 more',
    ];
    const node = [
      'Error: cannot charge card',
      '    at charge (/app/pay.js:10:11)',
      '    at async Promise.all (index 0)',
    ];
    const app = join(dir, 'glob-app');
    mkdirSync(join(app, 'sub'), { recursive: true });
    writeFileSync(join(app, 'a.log'), `${java.join('\n')}\n2026-11-25 18:53:01 INFO after java\n`);
    writeFileSync(join(app, 'a.log.1'), 'ROTATED sibling, read before as a.log\n');
    writeFileSync(join(app, 'sub', 'b.log'), `${node.join('\n')}\n`);
    const pods = join(dir, 'pods-multiline');
    const c = join(pods, 'shop_billing-1_uid-ml', 'javaapp');
    mkdirSync(c, { recursive: true });
    const t = (n: number) => `2026-11-25T18:54:00.00000000${n}Z`;
    writeFileSync(
      join(c, '0.log'),
      [
        `${t(1)} stderr F ${java[1]}`,
        `${t(2)} stdout F GET /cart 500`,
        `${t(3)} stderr P \tat com.shop.Cart.`, // the runtime split this frame: joined first, then the trace
        `${t(3)} stderr F checkout(Cart.java:42)`,
        `${t(4)} stderr F ${java[3]}`,
        `${t(5)} stdout F GET /health 200`,
        `${t(6)} stderr F INFO retrying`,
        '',
      ].join('\n'),
    );
    const options = {
      root: pods,
      stateFile: join(dir, 'offsets-multiline.json'),
      otlpUrl: `http://127.0.0.1:${collector.port}`,
      hostFiles: [
        {
          path: join(app, '**', '*.log'),
          service: 'globbed',
          multiline: { start: '^\\d{4}-|^Error', flushMs: 100 },
        },
      ],
      multiline: { flushMs: 100 },
      fromStart: true,
      pollIntervalMs: 3_600_000,
    };
    const logs = new ContainerLogs(options);
    await logs.start();
    writeFileSync(join(app, 'c.log'), '2026-11-25 18:53:02 WARN from a file created later\n');
    await new Promise((r) => setTimeout(r, 150));
    await logs.poll(); // reads c.log; b.log's trace, quiet for flushMs, goes now
    expect(await logs.drain(20_000)).toBe(true);
    const bodies = async (service: string) =>
      (
        await store.query<{ Body: string; LogAttributes: Record<string, string> }>(
          `SELECT Body, LogAttributes FROM otel_logs WHERE ServiceName = '${service}' ORDER BY Timestamp, Body`,
        )
      ).map((r) => [r.Body, r.LogAttributes['log.file.path'] ?? '', r.LogAttributes['log.iostream'] ?? '']);
    expect((await bodies('globbed')).map(([b]) => b)).toContain(node.join('\n'));
    await logs.shutdown();
    // A restart on the same offsets sends nothing again.
    const again = new ContainerLogs(options);
    await again.start();
    expect(await again.drain(20_000)).toBe(true);
    await again.shutdown();
    const globbed = await bodies('globbed');
    expect(globbed.map(([b, path]) => [b, path!.slice(app.length + 1)]).sort()).toEqual(
      [
        [java.join('\n'), 'a.log'],
        ['2026-11-25 18:53:01 INFO after java', 'a.log'],
        [node.join('\n'), 'sub/b.log'],
        ['2026-11-25 18:53:02 WARN from a file created later', 'c.log'],
      ].sort(),
    );
    expect((await bodies('javaapp')).map(([b, , stream]) => [b, stream])).toEqual([
      [[java[1], java[2], java[3]].join('\n'), 'stderr'],
      ['GET /cart 500', 'stdout'],
      ['GET /health 200', 'stdout'],
      ['INFO retrying', 'stderr'],
    ]);
  });

  it('ships the last lines of a host file that left the list (rotated, no new file yet)', async () => {
    const logDir = join(dir, 'vanishing');
    mkdirSync(logDir);
    const file = join(logDir, 'svc.log');
    writeFileSync(file, 'first\n');
    const logs = new ContainerLogs({
      root: join(dir, 'no-pods-here'),
      stateFile: join(dir, 'offsets-vanishing.json'),
      otlpUrl: `http://127.0.0.1:${collector.port}`,
      hostFiles: [{ path: join(logDir, '*.log'), service: 'vanishing' }],
      fromStart: true,
      pollIntervalMs: 3_600_000,
    });
    await logs.start();
    appendFileSync(file, 'written just before the rotation\n');
    renameSync(file, `${file}.1`); // not matched by the glob: svc.log leaves the list
    await logs.poll();
    expect(await logs.drain(20_000)).toBe(true);
    await logs.shutdown();
    const rows = await store.query<{ Body: string }>(
      "SELECT Body FROM otel_logs WHERE ServiceName = 'vanishing' ORDER BY Body",
    );
    expect(rows.map((r) => r.Body)).toEqual(['first', 'written just before the rotation']);
  });
});
