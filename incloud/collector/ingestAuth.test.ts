import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChdbStore } from '../clickhouse/chdbStore.ts';
import { BearerCheck, readIngestToken } from '../ingester/bearerAuth.ts';
import { MetricsIngester } from '../ingester/ingester.ts';
import { encodeRemoteWrite, REMOTE_WRITE_HEADERS } from '../ingester/remoteWrite.ts';
import { freePort } from '../testing/ports.ts';
import type { OtlpCollector } from './collector.ts';
import { openTestStore, startCollector } from './collectorTestKit.ts';
import { RemoteWriteSink } from './metricsSink.ts';

// The cluster ingest token on both receivers over real HTTP: the collector checks it and forwards OTLP metrics
// to a token-checking ingester with it. A refused request changes nothing.
const TOKEN = 'ust_ingest_0123456789abcdef';
const EXAMPLES = '/work/shared/testdata/otlp/examples';
const tmp = mkdtempSync(join(tmpdir(), 'understory-auth-'));
let db: { store: ChdbStore; close: () => Promise<void> };
let ingester: MetricsIngester;
let collector: OtlpCollector;

beforeAll(async () => {
  db = await openTestStore();
  ingester = new MetricsIngester({
    host: '127.0.0.1',
    port: 0,
    vmUrl: `http://127.0.0.1:${await freePort()}`, // nothing listens: flushed bodies just wait in the queue
    queueDir: join(tmp, 'queue'),
    reportIntervalMs: 3_600_000,
    registry: new Registry(),
    token: TOKEN,
  });
  await ingester.start();
  collector = await startCollector({
    store: db.store,
    metrics: new RemoteWriteSink(`http://127.0.0.1:${ingester.port}/api/v1/write`, 10_000, TOKEN),
    token: TOKEN,
  });
}, 60_000);

afterAll(async () => {
  await collector?.shutdown();
  await ingester?.shutdown(0);
  await db?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('ingest token', () => {
  it('refuses remote write without the right token (401, clear message), accepts it with the token', async () => {
    const url = `http://127.0.0.1:${ingester.port}/api/v1/write`;
    const body = encodeRemoteWrite([
      { labels: { __name__: 'auth_probe_total' }, samples: [{ value: 1, timestampMs: 1 }] },
    ]);
    for (const headers of [{}, bearer('wrong'), bearer(`${TOKEN}x`), { authorization: TOKEN }]) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { ...REMOTE_WRITE_HEADERS, ...headers },
        body,
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.text()).toMatch(/cannot authorize request: missing or wrong bearer token/);
    }
    expect(ingester.flush()).toBe(0); // nothing was folded in
    const ok = await fetch(url, {
      method: 'POST',
      headers: { ...REMOTE_WRITE_HEADERS, ...bearer(TOKEN) },
      body,
    });
    expect(ok.status).toBe(204);
    expect(ingester.flush()).toBe(1);
  });

  it('refuses OTLP without the token and stores nothing; with it the collector stores and forwards', async () => {
    const post = (path: string, file: string, headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${collector.port}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: readFileSync(`${EXAMPLES}/${file}`),
      });
    const spans = async () =>
      Number((await db.store.query<{ n: string }>('SELECT count() AS n FROM otel_traces'))[0]?.n);
    const denied = await post('/v1/traces', 'trace.json', bearer('nope'));
    expect(denied.status).toBe(401);
    expect(await denied.text()).toMatch(/missing or wrong bearer token/);
    expect(await spans()).toBe(0);
    expect((await post('/v1/traces', 'trace.json', bearer(TOKEN))).status).toBe(200);
    expect(await spans()).toBe(1);
    // Metrics go on to the ingester with the same token (a sink without it would get a 401 -> 503 here).
    ingester.flush();
    expect((await post('/v1/metrics', 'metrics.json', bearer(TOKEN))).status).toBe(200);
    expect(ingester.flush()).toBeGreaterThan(0);
    const noToken = new RemoteWriteSink(`http://127.0.0.1:${ingester.port}/api/v1/write`);
    await expect(
      noToken.write([{ labels: { __name__: 'x' }, samples: [{ value: 1, timestampMs: 1 }] }]),
    ).rejects.toThrow(/HTTP 401/);
  });

  it('needs a token to listen beyond loopback, and reads it from a file or the environment', () => {
    expect(() => BearerCheck.forListener('remote write', '0.0.0.0', undefined)).toThrow(
      /cannot serve remote write on 0.0.0.0 without an ingest token/,
    );
    expect(BearerCheck.forListener('OTLP', '127.0.0.1', undefined).enabled).toBe(false);
    expect(BearerCheck.forListener('OTLP', '0.0.0.0', TOKEN).enabled).toBe(true);
    const file = join(tmp, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    expect(readIngestToken(file, {})).toBe(TOKEN);
    expect(readIngestToken(undefined, { UNDERSTORY_INGEST_TOKEN: 'from-env' })).toBe('from-env');
    expect(readIngestToken(undefined, {})).toBeUndefined();
    writeFileSync(file, '\n');
    expect(() => readIngestToken(file, {})).toThrow(/it is empty/);
    expect(() => readIngestToken(join(tmp, 'missing'), {})).toThrow(/cannot read ingest token file/);
  });
});
