/**
 * Latency and throughput the edge and the tunnel add to a Prometheus query: `wrangler dev` (worker -> the
 * cluster's Durable Object -> WebSocket -> the real Portal -> VictoriaMetrics) against the same query sent to
 * the portal's VictoriaMetrics directly, interleaved in one run. Issue 9's target: <= +5 ms p50, +20 ms p99.
 * Two edges run side by side, the same code: one as configured (auth cache on) and one with AUTH_CACHE_TTL_MS=0
 * (every request reads D1 for token, membership and cluster, as before the cache), so the saving is measured
 * in the same run. A 404 through the worker (no D1, no tunnel) shows the floor wrangler dev itself costs.
 * `npm run bench tunnel`.
 */
import { Portal } from '../../incloud/portal/portal.ts';
import { startEdgeStack, waitConnected } from '../../incloud/portal/testing/edgeStack.ts';
import { VictoriaMetricsProcess } from '../../incloud/testing/victoriaMetrics.ts';
import { percentile, record } from '../harness.ts';

const ITERATIONS = 400;
const LARGE_SERIES = 20_000;

async function timed(url: string, headers: Record<string, string>): Promise<[number, number]> {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  const bytes = (await res.arrayBuffer()).byteLength;
  if (!res.ok) throw new Error(`cannot query ${url}: HTTP ${res.status}`);
  return [performance.now() - t0, bytes];
}

async function main(): Promise<void> {
  const vm = new VictoriaMetricsProcess();
  await vm.start();
  const [stack, uncached] = await Promise.all([startEdgeStack(), startEdgeStack({ AUTH_CACHE_TTL_MS: '0' })]);
  const portal = new Portal({
    edgeUrl: stack.url,
    installToken: stack.installToken,
    victoriaMetricsUrl: vm.url,
    replicaId: 'bench',
  });
  const uncachedPortal = new Portal({
    edgeUrl: uncached.url,
    installToken: uncached.installToken,
    victoriaMetricsUrl: vm.url,
    replicaId: 'bench-uncached',
  });
  try {
    // Small series for latency, many for a large answer (series API, ~2 MB of JSON).
    const now = Date.now();
    const lines = [
      JSON.stringify({ metric: { __name__: 'up', job: 'api' }, values: [1], timestamps: [now] }),
    ];
    for (let i = 0; i < LARGE_SERIES; i++)
      lines.push(
        JSON.stringify({
          metric: { __name__: 'big', pod: `pod-${i}`, ns: 'bench' },
          values: [i],
          timestamps: [now],
        }),
      );
    await fetch(`${vm.url}/api/v1/import`, { method: 'POST', body: lines.join('\n') });
    await vm.flush();
    await portal.start();
    await uncachedPortal.start();
    await waitConnected(stack);
    await waitConnected(uncached);
    const auth = { authorization: `Bearer ${stack.readToken}` };
    const uncachedAuth = { authorization: `Bearer ${uncached.readToken}` };
    const path = `/api/v1/query?query=${encodeURIComponent('up')}`;

    const edge: number[] = [];
    const direct: number[] = [];
    // The same authentication and cluster lookup without the tunnel: splits the added time into API and tunnel.
    const apiOnly: number[] = [];
    const edgeUncached: number[] = [];
    const floor: number[] = [];
    const clusterUrl = stack.prometheusUrl.replace(/\/prometheus$/, '');
    const notFound = async (url: string) => {
      const t0 = performance.now();
      await (await fetch(url)).arrayBuffer();
      return performance.now() - t0;
    };
    for (let i = 0; i < 30; i++) {
      await timed(stack.prometheusUrl + path, auth); // warm-up
      await timed(uncached.prometheusUrl + path, uncachedAuth);
    }
    for (let i = 0; i < ITERATIONS; i++) {
      direct.push((await timed(vm.url + path, {}))[0]);
      edge.push((await timed(stack.prometheusUrl + path, auth))[0]);
      edgeUncached.push((await timed(uncached.prometheusUrl + path, uncachedAuth))[0]);
      apiOnly.push((await timed(clusterUrl, auth))[0]);
      floor.push(await notFound(`${stack.url}/api/no-such-route`));
    }
    for (const p of [50, 99]) {
      record({
        benchmark: 'edge-tunnel/prometheus-query',
        metric: `latency_p${p}`,
        value: percentile(edge, p),
        unit: 'ms',
        baseline: percentile(direct, p),
        notes: `${ITERATIONS} interleaved runs via wrangler dev + Durable Object + portal; baseline = VictoriaMetrics directly; added p${p} = ${(percentile(edge, p) - percentile(direct, p)).toFixed(2)} ms`,
      });
      record({
        benchmark: 'edge-tunnel/prometheus-query-vs-api',
        metric: `latency_p${p}`,
        value: percentile(edge, p),
        unit: 'ms',
        baseline: percentile(apiOnly, p),
        notes: `baseline = GET the cluster through the same wrangler dev with the same token (auth + D1, no tunnel); difference = tunnel + portal + VictoriaMetrics`,
      });
      record({
        benchmark: 'edge-tunnel/prometheus-query-auth-cache-off',
        metric: `latency_p${p}`,
        value: percentile(edgeUncached, p),
        unit: 'ms',
        baseline: percentile(direct, p),
        notes: `same run, a second wrangler dev with AUTH_CACHE_TTL_MS=0 (3 D1 reads per query, the code before the cache); added p${p} = ${(percentile(edgeUncached, p) - percentile(direct, p)).toFixed(2)} ms`,
      });
      record({
        benchmark: 'edge-tunnel/worker-floor',
        metric: `latency_p${p}`,
        value: percentile(floor, p),
        unit: 'ms',
        baseline: percentile(direct, p),
        notes: 'a 404 through the same wrangler dev (no D1, no tunnel): what any request costs there',
      });
    }

    const big = `/api/v1/series?${new URLSearchParams({ 'match[]': 'big', start: String(Math.floor(now / 1000) - 60) })}`;
    const edgeBig: number[] = [];
    const directBig: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 8; i++) {
      const [td, b] = await timed(vm.url + big, {});
      directBig.push(td);
      bytes = b;
      edgeBig.push((await timed(stack.prometheusUrl + big, auth))[0]);
    }
    const mibs = (ms: number) => bytes / 2 ** 20 / (ms / 1000);
    record({
      benchmark: 'edge-tunnel/large-answer',
      metric: 'throughput_p50',
      value: mibs(percentile(edgeBig, 50)),
      unit: 'MiB/s',
      baseline: mibs(percentile(directBig, 50)),
      notes: `${(bytes / 2 ** 20).toFixed(2)} MiB series answer (${LARGE_SERIES} series), 8 interleaved runs; baseline = VictoriaMetrics directly`,
    });
  } finally {
    await portal.shutdown();
    await uncachedPortal.shutdown();
    await stack.stop();
    await uncached.stop();
    await vm.close();
  }
}

await main();
