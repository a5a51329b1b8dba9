/**
 * Portal tunnel benchmark (`npm run bench portal`).
 *
 * 1. Latency a query gains by going through the tunnel client: the same query answered by calling the portal's
 *    handler directly (baseline) and through a local WebSocket server playing the edge (FakeEdge), interleaved
 *    in one run; p50 and p99. Queries: a logs search on chdb and a PromQL query on VictoriaMetrics.
 * 2. Throughput of a large result (32 MiB) through the tunnel protocol, against the same bytes sent as plain
 *    256 KiB WebSocket frames over the same kind of connection (baseline).
 * Both ends run in this one process, so the figures include the edge side's work too. Not measured here: the
 * Durable Object hop (edge issue), which adds its own latency.
 */
import { WebSocket, WebSocketServer } from 'ws';
import { defaultLimits } from '../../incloud/portal/limits.ts';
import { Portal } from '../../incloud/portal/portal.ts';
import type { QueryAnswer } from '../../incloud/portal/query.ts';
import { FakeEdge } from '../../incloud/portal/testing/fakeEdge.ts';
import { openFixtureStore } from '../../incloud/portal/testing/fixtures.ts';
import { importRedData } from '../../incloud/portal/testing/redData.ts';
import { TunnelClient } from '../../incloud/portal/tunnelClient.ts';
import { VictoriaMetricsProcess } from '../../incloud/testing/victoriaMetrics.ts';
import { MAX_CHUNK_BYTES } from '../../lib/tunnel/index.ts';
import { percentile, record } from '../harness.ts';

const ITERATIONS = Number(process.env.PORTAL_BENCH_ITERATIONS ?? 300);
const TOKEN = 'ust_cit_bench';

async function drain(a: QueryAnswer): Promise<number> {
  if (a.body instanceof Uint8Array) return a.body.byteLength;
  let n = 0;
  for await (const p of a.body) n += p.byteLength;
  return n;
}

async function latency(): Promise<void> {
  const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
  const vm = new VictoriaMetricsProcess();
  const [ch] = await Promise.all([openFixtureStore(base), vm.start()]);
  await importRedData(vm.url, base + 3_600_000);
  await vm.flush();
  const edge = new FakeEdge(TOKEN);
  await edge.start();
  const portal = new Portal({
    edgeUrl: edge.url,
    installToken: TOKEN,
    victoriaMetricsUrl: vm.url,
    clickhouse: ch.store,
  });
  await portal.start();
  await edge.waitForHellos(1);
  const queries: [string, string, unknown][] = [
    [
      'logs-search',
      'logs.search',
      { start: base, end: base + 3_660_000, query: 'service:checkout refused', limit: 100 },
    ],
    [
      'promql-instant',
      'prom',
      {
        path: '/api/v1/query',
        method: 'GET',
        args: [
          ['query', 'sum by (workload) (rate(http_server_request_duration_seconds_count[10m]))'],
          ['time', String((base + 3_600_000) / 1000)],
        ],
      },
    ],
  ];
  try {
    for (const [name, kind, params] of queries) {
      const direct: number[] = [];
      const tunnel: number[] = [];
      for (let i = 0; i < 20; i++) await edge.request(kind, params); // warm-up
      for (let i = 0; i < ITERATIONS; i++) {
        let t = performance.now();
        await drain(
          await portal.router.serve(kind, params, {
            signal: new AbortController().signal,
            timeoutMs: 30_000,
          }),
        );
        direct.push(performance.now() - t);
        t = performance.now();
        await edge.request(kind, params);
        tunnel.push(performance.now() - t);
      }
      for (const p of [50, 99]) {
        record({
          benchmark: `portal-tunnel/${name}`,
          metric: `latency_p${p}_ms`,
          value: percentile(tunnel, p),
          unit: 'ms',
          baseline: percentile(direct, p),
          notes: `${ITERATIONS} interleaved runs; baseline = handler called directly; added p${p} = ${(percentile(tunnel, p) - percentile(direct, p)).toFixed(2)} ms`,
        });
      }
    }
  } finally {
    await portal.shutdown();
    await edge.stop();
    await ch.close();
    await vm.close();
  }
}

async function throughput(): Promise<void> {
  const size = 32 * 1024 * 1024;
  const payload = new Uint8Array(size).map((_, i) => i % 251);
  // Tunnel: a handler that returns the payload; FakeEdge reassembles and checks every chunk.
  const edge = new FakeEdge(TOKEN);
  await edge.start();
  const client = new TunnelClient({
    edgeUrl: edge.url,
    installToken: TOKEN,
    replicaId: 'bench',
    capabilities: ['blob'],
    serve: async () => ({ status: 200, contentType: 'application/octet-stream', body: payload }),
    limits: { ...defaultLimits(), maxResponseBytes: size * 2 },
  });
  client.start();
  await edge.waitForHellos(1);
  const tunnelRun = async () => {
    const t = performance.now();
    const a = await edge.request('blob', {});
    if (a.body.length !== size) throw new Error(`tunnel delivered ${a.body.length} of ${size} bytes`);
    return performance.now() - t;
  };

  // Baseline: the same bytes as plain 256 KiB binary frames from a ws client to a ws server (the direction of
  // the tunnel: client frames are masked), each send awaited, no protocol.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1024 * 1024 });
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as { port: number }).port;
  wss.on('connection', (peer) => {
    let got = 0;
    peer.on('message', (data: Buffer, binary: boolean) => {
      if (binary) got += data.length;
      else {
        peer.send(String(got));
        got = 0;
      }
    });
  });
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { maxPayload: 1024 * 1024, perMessageDeflate: false });
  await new Promise((r) => ws.once('open', r));
  const plainRun = async () => {
    const t = performance.now();
    const done = new Promise<string>((r) => ws.once('message', (d: Buffer) => r(d.toString())));
    for (let off = 0; off < size; off += MAX_CHUNK_BYTES)
      await new Promise<void>((res, rej) =>
        ws.send(payload.subarray(off, off + MAX_CHUNK_BYTES), (e) => (e ? rej(e) : res())),
      );
    ws.send('end');
    const got = Number(await done);
    if (got !== size) throw new Error(`plain ws delivered ${got} of ${size}`);
    return performance.now() - t;
  };
  // Interleaved, so load from other work on the machine hits both alike.
  await tunnelRun();
  await plainRun();
  const tunnelRuns: number[] = [];
  const plainRuns: number[] = [];
  for (let i = 0; i < 7; i++) {
    tunnelRuns.push(await tunnelRun());
    plainRuns.push(await plainRun());
  }
  ws.close();
  wss.close();
  await client.stop();
  await edge.stop();
  const mibs = (ms: number) => size / 1024 / 1024 / (ms / 1000);
  record({
    benchmark: 'portal-tunnel/large-result',
    metric: 'throughput_MiB_per_s',
    value: mibs(percentile(tunnelRuns, 50)),
    unit: 'MiB/s',
    baseline: mibs(percentile(plainRuns, 50)),
    notes:
      '32 MiB answer, median of 5; baseline = plain 256 KiB ws frames client->server on loopback, same process',
  });
}

await latency();
await throughput();
