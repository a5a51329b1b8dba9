import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRemoteWrite } from '../../../incloud/ingester/remoteWrite.ts';
import type { FlatSeries } from '../redAggregator.ts';
import { BatchSender } from './batchSender.ts';
import { RemoteWriteExporter } from './remoteWriteExporter.ts';

// The exporter against a small real HTTP receiver that answers what each test scripts.
let server: Server | undefined;
afterEach(() => server?.close());

async function receiver(statuses: number[]): Promise<{ url: string; bodies: Buffer[]; hits: () => number }> {
  const bodies: Buffer[] = [];
  let hits = 0;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = statuses[Math.min(hits, statuses.length - 1)]!;
      hits++;
      if (status < 300) bodies.push(Buffer.concat(chunks));
      res.writeHead(status).end(status >= 400 ? 'nope' : undefined);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`,
    bodies,
    hits: () => hits,
  };
}

const series = (n: number): FlatSeries[] =>
  Array.from({ length: n }, (_, i) => ({ pairs: ['__name__', 'm_total', 'i', String(i)], value: i }));

async function metric(registry: Registry, name: string): Promise<string> {
  return registry.getSingleMetricAsString(name);
}

describe('RemoteWriteExporter delivery', () => {
  it('cuts snapshots into bodies the ingester codec decodes', async () => {
    const rx = await receiver([204]);
    const ex = new RemoteWriteExporter({ url: rx.url, source: () => series(5), maxSeriesPerBody: 2 });
    ex.start();
    ex.flush(1_700_000_000_000);
    expect(await ex.drain(10_000)).toBe(true);
    const decoded = rx.bodies.map((b) => decodeRemoteWrite(b, 1 << 20));
    expect(decoded.map((d) => d.length)).toEqual([2, 2, 1]);
    expect(decoded[2]![0]).toEqual({
      labels: { __name__: 'm_total', i: '4' },
      samples: [{ value: 4, timestampMs: 1_700_000_000_000 }],
    });
    await ex.shutdown();
  });

  it('retries 5xx and 429 with backoff until accepted', async () => {
    const rx = await receiver([503, 429, 500, 204]);
    const registry = new Registry();
    const ex = new RemoteWriteExporter({
      url: rx.url,
      source: () => series(3),
      initialBackoffMs: 5,
      maxBackoffMs: 20,
      registry,
    });
    ex.start();
    ex.flush();
    expect(await ex.drain(10_000)).toBe(true);
    expect(rx.hits()).toBe(4);
    expect(await metric(registry, 'sensor_remote_write_errors_total')).toMatch(/ 3$/m);
    expect(await metric(registry, 'sensor_remote_write_samples_sent_total')).toMatch(/ 3$/m);
    await ex.shutdown();
  });

  it('drops a body the receiver refuses with 4xx and counts it', async () => {
    const rx = await receiver([400, 204]);
    const registry = new Registry();
    const ex = new RemoteWriteExporter({ url: rx.url, source: () => series(2), registry });
    ex.start();
    ex.flush();
    ex.flush();
    expect(await ex.drain(10_000)).toBe(true);
    expect(rx.hits()).toBe(2);
    expect(await metric(registry, 'sensor_remote_write_samples_dropped_total')).toMatch(
      /reason="rejected"} 2$/m,
    );
    await ex.shutdown();
  });

  it('keeps the queue bounded while the receiver is down, dropping the oldest', async () => {
    const rx = await receiver([503]);
    const registry = new Registry();
    const ex = new RemoteWriteExporter({
      url: rx.url,
      source: () => series(1),
      maxQueueBodies: 3,
      initialBackoffMs: 1000,
      registry,
    });
    ex.start();
    for (let i = 0; i < 10; i++) ex.flush();
    expect(ex.queued).toBe(3);
    expect(await metric(registry, 'sensor_remote_write_samples_dropped_total')).toMatch(
      /reason="queue_full"} 7$/m,
    );
    await ex.shutdown(50);
    expect(await metric(registry, 'sensor_remote_write_samples_dropped_total')).toMatch(
      /reason="shutdown"} [34]$/m,
    );
  });

  it('refuses a bad URL and a queue under two bodies', () => {
    expect(() => new RemoteWriteExporter({ url: 'not a url', source: () => [] })).toThrow(
      /cannot configure remote write/,
    );
    expect(
      () =>
        new BatchSender({
          name: 'x',
          send: async () => {},
          maxQueueBodies: 1,
          initialBackoffMs: 1,
          maxBackoffMs: 1,
        }),
    ).toThrow(/maxQueueBodies must be >= 2/);
  });

  it('shutdown is safe before start and twice', async () => {
    const ex = new RemoteWriteExporter({ url: 'http://127.0.0.1:1/api/v1/write', source: () => [] });
    await ex.shutdown();
    await ex.shutdown();
  });
});
