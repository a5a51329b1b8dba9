/**
 * Latency and throughput the edge and the tunnel add to a Prometheus query (issue 9's target: <= +5 ms p50,
 * +20 ms p99 against calling VictoriaMetrics directly), split into the local runtime's part and ours.
 * Interleaved in one run, each round measures:
 * - `direct`: the query sent to VictoriaMetrics;
 * - the edge (worker -> ClusterTunnel Durable Object -> WebSocket -> the real Portal -> VictoriaMetrics) on
 *   `wrangler dev` (its ProxyWorker relays every request) and on Miniflare directly (the same workerd, no relay);
 * - the runtime floor (floorWorker/): the same shape (assets router, worker, Durable Object, hibernatable
 *   WebSocket to Node, which asks VictoriaMetrics) with none of our code, on both runtimes; a plain worker
 *   response on both;
 * - with BENCH_REFERENCE=<git ref>: the edge and portal of that commit (git archive into a temp dir) on
 *   `wrangler dev`, so before/after is one run.
 * Then a large answer (20,000 series, ~1 MiB) directly and through each edge. `npm run bench tunnel`;
 * BENCH_ITERATIONS (default 300) rounds.
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { REPO_ROOT } from '../../cli/up/plan.ts';
import { Portal } from '../../incloud/portal/portal.ts';
import { type EdgeStack, startEdgeStack, waitConnected } from '../../incloud/portal/testing/edgeStack.ts';
import {
  type LocalWorker,
  startLocalWorker,
  type WorkerRuntime,
} from '../../incloud/portal/testing/localWorker.ts';
import { VictoriaMetricsProcess } from '../../incloud/testing/victoriaMetrics.ts';
import { percentile, record } from '../harness.ts';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 300);
const LARGE_SERIES = 20_000;
const RUNTIMES: WorkerRuntime[] = ['wrangler-dev', 'miniflare'];

type Target = { name: string; url: (path: string) => string; headers: Record<string, string> };
type Stoppable = { stop(): Promise<void> } | { shutdown(): Promise<void> };

async function timed(url: string, headers: Record<string, string>): Promise<[number, number]> {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  const bytes = (await res.arrayBuffer()).byteLength;
  if (!res.ok) throw new Error(`cannot query ${url}: HTTP ${res.status}`);
  return [performance.now() - t0, bytes];
}

/** The floor worker plus its Node end: answers each relayed query from VictoriaMetrics, nothing else. */
async function startFloor(runtime: WorkerRuntime, vmUrl: string) {
  const stateDir = mkdtempSync(join(tmpdir(), 'understory-floor-'));
  const worker: LocalWorker = await startLocalWorker({
    config: join(REPO_ROOT, 'bench', 'edge', 'floorWorker', 'wrangler.toml'),
    stateDir,
    runtime,
    readyPath: '/api/plain',
  });
  const ws = new WebSocket(`${worker.url.replace('http', 'ws')}/api/connect`, { perMessageDeflate: false });
  ws.on('message', async (data: Buffer) => {
    const text = data.toString('utf8');
    const nl = text.indexOf('\n');
    const body = await (await fetch(`${vmUrl}/api/v1/query?${text.slice(nl + 1)}`)).text();
    ws.send(`${text.slice(0, nl)}\n${body}`);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return {
    url: worker.url,
    stop: async () => {
      ws.terminate();
      await worker.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** The edge and portal of another commit (BENCH_REFERENCE), from `git archive`, sharing node_modules. */
async function startReference(ref: string, dir: string, vmUrl: string) {
  execSync(`git archive ${JSON.stringify(ref)} | tar -x -C ${JSON.stringify(dir)}`, { cwd: REPO_ROOT });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  // The built UI is not in git; the API does not need it, but wrangler wants the assets directory.
  symlinkSync(join(REPO_ROOT, 'edge', 'public'), join(dir, 'edge', 'public'));
  const stackModule = await import(join(dir, 'incloud/portal/testing/edgeStack.ts'));
  const portalModule = await import(join(dir, 'incloud/portal/portal.ts'));
  const stack: EdgeStack = await stackModule.startEdgeStack();
  const portal: Portal = new portalModule.Portal({
    edgeUrl: stack.url,
    installToken: stack.installToken,
    victoriaMetricsUrl: vmUrl,
    replicaId: 'bench-reference',
  });
  return { stack, portal };
}

async function loadSeries(vm: VictoriaMetricsProcess, now: number): Promise<void> {
  const lines = [JSON.stringify({ metric: { __name__: 'up', job: 'api' }, values: [1], timestamps: [now] })];
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
}

async function main(): Promise<void> {
  const ref = process.env.BENCH_REFERENCE;
  const refDir = ref ? mkdtempSync(join(tmpdir(), 'understory-tunnel-ref-')) : undefined;
  const vm = new VictoriaMetricsProcess();
  await vm.start();
  const running: Stoppable[] = [];
  try {
    const now = Date.now();
    await loadSeries(vm, now);
    const edges: Target[] = [];
    const stacks = await Promise.all(RUNTIMES.map((r) => startEdgeStack({}, r)));
    running.push(...stacks);
    const floors = await Promise.all(RUNTIMES.map((r) => startFloor(r, vm.url)));
    running.push(...floors);
    const portals = stacks.map(
      (s, i) =>
        new Portal({
          edgeUrl: s.url,
          installToken: s.installToken,
          victoriaMetricsUrl: vm.url,
          replicaId: `b${i}`,
        }),
    );
    for (const [i, s] of stacks.entries())
      edges.push({
        name: RUNTIMES[i]!,
        url: (p) => s.prometheusUrl + p,
        headers: { authorization: `Bearer ${s.readToken}` },
      });
    if (ref && refDir) {
      const { stack, portal } = await startReference(ref, refDir, vm.url);
      running.push(stack);
      portals.push(portal);
      edges.push({
        name: `${ref} wrangler-dev`,
        url: (p) => stack.prometheusUrl + p,
        headers: { authorization: `Bearer ${stack.readToken}` },
      });
      stacks.push(stack);
    }
    running.push(...portals);
    for (const p of portals) await p.start();
    for (const s of stacks) await waitConnected(s);

    const path = `/api/v1/query?query=${encodeURIComponent('up')}`;
    const samples = new Map<string, number[]>();
    const add = (k: string, ms: number) => samples.set(k, [...(samples.get(k) ?? []), ms]);
    const round = async (keep: boolean) => {
      const put = (k: string, ms: number) => keep && add(k, ms);
      put('direct', (await timed(vm.url + path, {}))[0]);
      for (const e of edges) put(`edge ${e.name}`, (await timed(e.url(path), e.headers))[0]);
      for (const [i, f] of floors.entries()) {
        put(`floor ${RUNTIMES[i]}`, (await timed(`${f.url}/api/relay?query=up`, {}))[0]);
        put(`plain ${RUNTIMES[i]}`, (await timed(`${f.url}/api/plain`, {}))[0]);
      }
    };
    for (let i = 0; i < 30; i++) await round(false);
    for (let i = 0; i < ITERATIONS; i++) await round(true);

    const get = (k: string) => samples.get(k)!;
    const direct = get('direct');
    const added = (k: string, p: number) => (percentile(get(k), p) - percentile(direct, p)).toFixed(2);
    for (const p of [50, 99]) {
      const vsDirect = (benchmark: string, key: string, what: string) =>
        record({
          benchmark,
          metric: `latency_p${p}`,
          value: percentile(get(key), p),
          unit: 'ms',
          baseline: percentile(direct, p),
          notes: `${what}; ${ITERATIONS} interleaved rounds; baseline = VictoriaMetrics directly; added p${p} = ${added(key, p)} ms`,
        });
      vsDirect(
        'edge-tunnel/prometheus-query',
        'edge wrangler-dev',
        'this checkout via wrangler dev + Durable Object + portal',
      );
      vsDirect(
        'edge-tunnel/prometheus-query-miniflare',
        'edge miniflare',
        'this checkout on Miniflare directly (same workerd, no wrangler dev ProxyWorker)',
      );
      for (const r of RUNTIMES) {
        vsDirect(
          `edge-tunnel/runtime-floor-${r}`,
          `floor ${r}`,
          `${r}: worker -> Durable Object -> WebSocket -> Node -> VictoriaMetrics and back with none of our code (floorWorker/)`,
        );
        vsDirect(
          `edge-tunnel/plain-response-${r}`,
          `plain ${r}`,
          `${r}: a worker answering at once (no Durable Object)`,
        );
        record({
          benchmark: `edge-tunnel/prometheus-query-vs-floor-${r}`,
          metric: `latency_p${p}`,
          value: percentile(get(`edge ${r}`), p),
          unit: 'ms',
          baseline: percentile(get(`floor ${r}`), p),
          notes: `our code's part on ${r}: the edge's query minus the runtime floor = ${(percentile(get(`edge ${r}`), p) - percentile(get(`floor ${r}`), p)).toFixed(2)} ms`,
        });
      }
      if (ref) {
        vsDirect(
          'edge-tunnel/prometheus-query-reference',
          `edge ${ref} wrangler-dev`,
          `commit ${ref} via wrangler dev (before)`,
        );
        record({
          benchmark: 'edge-tunnel/prometheus-query-vs-reference',
          metric: `latency_p${p}`,
          value: percentile(get('edge wrangler-dev'), p),
          unit: 'ms',
          baseline: percentile(get(`edge ${ref} wrangler-dev`), p),
          notes: `this checkout vs commit ${ref}, both via wrangler dev, same run`,
        });
      }
    }

    const big = `/api/v1/series?${new URLSearchParams({ 'match[]': 'big', start: String(Math.floor(now / 1000) - 60) })}`;
    const bigTimes = new Map<string, number[]>();
    let bytes = 0;
    for (let i = 0; i < 8; i++) {
      const [td, b] = await timed(vm.url + big, {});
      bigTimes.set('direct', [...(bigTimes.get('direct') ?? []), td]);
      bytes = b;
      for (const e of edges)
        bigTimes.set(e.name, [...(bigTimes.get(e.name) ?? []), (await timed(e.url(big), e.headers))[0]]);
    }
    const mibs = (ms: number) => bytes / 2 ** 20 / (ms / 1000);
    const directMibs = mibs(percentile(bigTimes.get('direct')!, 50));
    for (const e of edges) {
      const name = e.name === 'wrangler-dev' ? '' : e.name === 'miniflare' ? '-miniflare' : '-reference';
      record({
        benchmark: `edge-tunnel/large-answer${name}`,
        metric: 'throughput_p50',
        value: mibs(percentile(bigTimes.get(e.name)!, 50)),
        unit: 'MiB/s',
        baseline: directMibs,
        notes: `${(bytes / 2 ** 20).toFixed(2)} MiB series answer (${LARGE_SERIES} series) via ${e.name}, 8 interleaved runs; baseline = VictoriaMetrics directly`,
      });
    }
  } finally {
    for (const r of running.reverse()) await ('shutdown' in r ? r.shutdown() : r.stop()).catch(() => {});
    await vm.close();
    if (refDir) rmSync(refDir, { recursive: true, force: true });
  }
}

await main();
