import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickhouseServerProcess } from '../testing/clickhouseServer.ts';
import { migrate } from './migrations.ts';
import { ServerStore } from './serverStore.ts';

// The @clickhouse/client backend against a real server. Debian ships clickhouse-server 18.16 (2018), which has
// no DateTime64, Map or TTL, so the otel_* schema cannot be created there: this test runs the migration runner
// and the store's exec/insert/query/bound parameters on a plain table instead. The full schema is tested on
// chdb (ClickHouse 26.7) in migrations.test.ts; production runs a current server.
const PLAIN = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata', 'server-migrations');

describe('ServerStore against clickhouse-server', () => {
  const server = new ClickhouseServerProcess();
  let store: ServerStore;
  beforeAll(async () => {
    await server.start();
    store = new ServerStore({ url: server.url });
  });
  afterAll(async () => {
    await store?.close();
    await server.stop();
  });

  it('migrates, inserts and reads back', async () => {
    await store.ping();
    const first = await migrate(store, { dir: PLAIN });
    expect(first.applied).toEqual(['0001_plain_spans']);
    expect((await migrate(store, { dir: PLAIN })).applied).toEqual([]);
    await store.insert('plain_spans', [
      { TraceId: 't1', SpanName: 'GET /a', DurationNs: 18446744073709551615n, Day: '2026-11-25' },
      { TraceId: 't2', SpanName: "it's", DurationNs: 5, Day: '2026-11-25' },
    ]);
    // 18.16 has no server-side query parameters ({name:Type} came in 19.x): the query carries none here.
    const rows = await store.query<{ TraceId: string; DurationNs: string }>(
      "SELECT TraceId, toString(DurationNs) AS DurationNs FROM plain_spans WHERE SpanName = 'it\\'s'",
    );
    expect(rows).toEqual([{ TraceId: 't2', DurationNs: '5' }]);
    const [big] = await store.query<{ d: string }>(
      "SELECT toString(DurationNs) AS d FROM plain_spans WHERE TraceId = 't1'",
    );
    expect(big?.d).toBe('18446744073709551615');
  });

  it('refuses a table name that is not an identifier', async () => {
    await expect(store.insert('plain_spans; DROP TABLE x', [{ a: 1 }])).rejects.toThrow(/not an identifier/);
  });
});
