/**
 * CPU per API call of the sensor pipeline alone (`SensorPipeline.consume`: naming, templating, RED
 * aggregation, the sampling decision, span building and encoding), in-process, without eBPF, so a change
 * to sensor/pipeline can be measured in seconds rather than through the whole-sensor benchmark.
 *
 * Calls are made by the real connection tracker and HTTP parser from synthetic bytes (so they are the
 * parser's own `HttpCall` objects, with lazy headers and bodies, as the live sensor hands them over), plus
 * plain PostgreSQL and Redis calls:
 * - `node-service`: what the whole-sensor benchmark's Node.js service sees: `GET /` from 32 wrk
 *   connections, answered 200 with ~1 KB of JSON, role server, one pid (this process: real /proc reads);
 * - `mixed`: client calls of one process: HTTP paths with ids (2 % 5xx), SQL with literals, Redis keys.
 * The sampler's global rate limit is lifted so 1 % of normal calls become spans whatever the benchmark's
 * speed, as in the live sensor at up to 10k calls/s (100 spans/s); the exporters are built but never
 * started (spans are encoded into bodies that nothing sends).
 *
 * Measured: process CPU (all threads: V8's garbage-collector helpers included, which is where allocation
 * per call shows) per call, and young-generation collections per 10k calls. Baseline in the same run,
 * rounds alternating: BENCH_REFERENCE=<git ref> runs that commit's pipeline (git archive into a temporary
 * directory, node_modules shared) on the same call objects; without it the baseline is the bare RED
 * aggregation of the same calls (fixed names, no templating), the floor of what the pipeline must do.
 * Run: npm run bench pipeline.bench   (BENCH_ROUNDS, default 5; BENCH_CALLS per round, default 200000;
 * BENCH_WORKLOADS=node-service,mixed selects workloads; BENCH_RESULTS_FILE sends rows elsewhere)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { RedAggregator } from '../../sensor/pipeline/redAggregator.ts';
import { SensorPipeline } from '../../sensor/pipeline/sensorPipeline.ts';
import type { ApiCall } from '../../sensor/protocols/contract.ts';
import { protocolSpecs } from '../../sensor/protocols/registry.ts';
import { ConnectionTracker } from '../../sensor/protocols/tracker/connectionTracker.ts';
import { record } from '../harness.ts';

const repo = join(import.meta.dirname, '../..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);
/** Distinct call objects per workload, cycled through (a live sensor sees each once, then drops it). */
const DISTINCT = 20_000;
/** Calls per `consume`: what the tracker hands over per ring-buffer batch at a few thousand calls/s. */
const BATCH = 16;
const enc = new TextEncoder();
/** BENCH_WORKLOADS=node-service,mixed: which workloads run (all by default). */
const ONLY = process.env.BENCH_WORKLOADS?.split(',');
/** BENCH_RESULTS_FILE: where rows go instead of bench/results.tsv (trial runs). */
const RESULTS = process.env.BENCH_RESULTS_FILE || undefined;

interface Consumer {
  consume(calls: readonly ApiCall[]): void;
}

/** HTTP/1.1 calls through the real tracker and parser; `conv(i)` gives call i's request, response, latency. */
function httpCalls(
  n: number,
  role: 'server' | 'client',
  conns: number,
  conv: (i: number) => { req: string; resp: string; latencyNs: number; server: string },
): ApiCall[] {
  const out: ApiCall[] = [];
  const tracker = new ConnectionTracker({ specs: protocolSpecs, onCall: (c) => void out.push(c) });
  let ts = 1_000_000_000n;
  for (let i = 0; i < n; i++) {
    const c = conv(i);
    const port = 40_000 + (i % conns);
    const local = role === 'server' ? { ip: '127.0.0.1', port: 8080 } : { ip: '10.0.0.1', port };
    const remote = role === 'server' ? { ip: '127.0.0.1', port } : { ip: c.server, port: 80 };
    const info = { local, remote, transport: 'tcp' as const, role, pid: process.pid };
    const key = `${role}-${i % conns}-${c.server}`;
    ts += 1_000_000n;
    tracker.onData(key, info, role === 'server' ? 'ingress' : 'egress', enc.encode(c.req), ts);
    const respTs = ts + BigInt(c.latencyNs);
    tracker.onData(key, info, role === 'server' ? 'egress' : 'ingress', enc.encode(c.resp), respTs);
  }
  tracker.flush();
  return out;
}

function nodeServiceCalls(): ApiCall[] {
  const body = JSON.stringify({
    items: Array.from({ length: 12 }, (_, i) => ({ id: i, name: `item-${i}` })),
  });
  const resp =
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Thu, 26 Nov 2026 04:00:00 GMT\r\n' +
    `Connection: keep-alive\r\nKeep-Alive: timeout=60\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  return httpCalls(DISTINCT, 'server', 32, (i) => ({
    req: 'GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n',
    resp,
    latencyNs: 200_000 + ((i * 7919) % 300_000),
    server: '127.0.0.1',
  }));
}

function mixedCalls(): ApiCall[] {
  const http = httpCalls((DISTINCT * 2) / 3, 'client', 8, (i) => {
    const status = i % 50 === 0 ? 503 : 200;
    const body = `{"id":${i},"status":"shipped"}`;
    return {
      req:
        `GET /api/v1/users/${i % 997}/orders/${(i * 2654435761) % 4294967296}?page=${i % 5} HTTP/1.1\r\n` +
        `Host: orders.svc\r\nAccept: application/json\r\ntraceparent: 00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01\r\n\r\n`,
      resp: `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      latencyNs: 500_000 + ((i * 104_729) % 4_000_000),
      server: `10.0.1.${i % 7}`,
    };
  });
  const other: ApiCall[] = [];
  for (let i = 0; other.length < DISTINCT / 3; i++) {
    const startNs = BigInt(i) * 1_000_000n;
    const sql = i % 2 === 0;
    other.push({
      protocol: sql ? 'postgres' : 'redis',
      role: 'client',
      method: sql ? 'SELECT' : 'GET',
      resource: sql
        ? `SELECT id, total FROM orders WHERE customer_id = ${i % 5000} AND status = 'open' LIMIT 20`
        : `cart:${i % 9000}:items`,
      status: sql ? '00000' : 'OK',
      error: false,
      startNs,
      endNs: startNs + BigInt(100_000 + (i % 900_000)),
      reqBytes: 90,
      respBytes: 400,
      client: { ip: '10.0.0.1', port: 50_000 + (i % 20) },
      server: { ip: sql ? '10.0.2.5' : '10.0.2.6', port: sql ? 5432 : 6379 },
      pid: process.pid,
    });
  }
  // Interleaved, as a service's calls arrive.
  const out: ApiCall[] = [];
  for (let i = 0; i < Math.max(http.length, other.length); i++) {
    if (i < http.length) out.push(http[i]!);
    if (i < other.length) out.push(other[i]!);
  }
  return out;
}

function pipelineOptions() {
  return {
    // Built, never started: nothing is sent, spans are still built and encoded.
    otlpUrl: 'http://127.0.0.1:9',
    remoteWriteUrl: 'http://127.0.0.1:9/api/v1/write',
    node: 'bench-node',
    sampling: { ratePerSecond: 1e9, burst: 1e9 },
  };
}

/** The reference commit's (BENCH_REFERENCE) pipeline class: its sensor/pipeline code on the same calls. */
async function referencePipeline(ref: string, dir: string): Promise<() => Consumer> {
  const tar = join(dir, 'src.tar');
  execFileSync('git', ['archive', '--output', tar, ref], { cwd: repo });
  execFileSync('tar', ['-xf', tar, '-C', dir]);
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  const mod = await import(join(dir, 'sensor/pipeline/sensorPipeline.ts'));
  return () => new mod.SensorPipeline(pipelineOptions()) as Consumer;
}

/** The floor: RED aggregation only, with fixed names and the method as resource (no templating). */
function bareRed(): Consumer {
  const agg = new RedAggregator();
  const id = { workload: 'bench', namespace: '', peer: 'peer' };
  return {
    consume(calls) {
      for (const c of calls) agg.observe(c, id, c.method);
    },
  };
}

let scavenges = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)
      scavenges++;
}).observe({ entryTypes: ['gc'] });

interface Run {
  cpuS: number;
  scavenges: number;
}

/** `CALLS` calls in batches of BATCH, cycling through `calls`. */
async function run(target: Consumer, calls: readonly ApiCall[], n = CALLS): Promise<Run> {
  const batch: ApiCall[] = [];
  // Let pending GC observer callbacks land before and after, so they count in the right run.
  await new Promise((r) => setImmediate(r));
  const s0 = scavenges;
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    batch.push(calls[i % calls.length]!);
    if (batch.length === BATCH) {
      target.consume(batch);
      batch.length = 0;
    }
  }
  if (batch.length > 0) target.consume(batch);
  const t = process.cpuUsage(t0);
  await new Promise((r) => setTimeout(r, 20));
  return { cpuS: (t.user + t.system) / 1e6, scavenges: scavenges - s0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const ref = process.env.BENCH_REFERENCE;
  const refDir = ref ? mkdtempSync(join(tmpdir(), 'understory-pipeline-ref-')) : undefined;
  try {
    const reference = ref && refDir ? await referencePipeline(ref, refDir) : undefined;
    const workloads = { 'node-service': nodeServiceCalls(), mixed: mixedCalls() };
    for (const [name, calls] of Object.entries(workloads)) {
      if (ONLY && !ONLY.includes(name)) continue;
      if (calls.length < DISTINCT * 0.9) throw new Error(`${name}: only ${calls.length} calls were made`);
      const builds: [string, Consumer][] = [['current', new SensorPipeline(pipelineOptions())]];
      if (ref && reference) builds.push([ref, reference()]);
      else builds.push(['bare RED aggregation', bareRed()]);
      for (const [, b] of builds) await run(b, calls, CALLS / 2); // warm-up: JIT, caches, series
      const runs: Run[][] = builds.map(() => []);
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) runs[i]!.push(await run(builds[i]![1], calls));
      }
      // A pipeline that skipped calls on an error would look fast: every call must have been processed.
      const current = builds[0]![1] as SensorPipeline;
      if (current.counts.failed > 0 || current.counts.calls < CALLS * ROUNDS)
        throw new Error(`${name}: ${current.counts.failed} calls failed of ${current.counts.calls}`);
      const perSecond = runs.map((rs) => CALLS / median(rs.map((r) => r.cpuS)));
      const perScavenge = runs.map((rs) => (median(rs.map((r) => r.scavenges)) / CALLS) * 10_000);
      const notes = `${calls.length} distinct calls cycled, ${CALLS} per round in batches of ${BATCH}, median of ${ROUNDS} alternating rounds; process CPU (all threads); baseline: ${builds[1]![0]}`;
      const bench = `sensor-pipeline/${name}`;
      record(
        {
          benchmark: bench,
          metric: ref ? 'calls_per_cpu_second_vs_reference' : 'calls_per_cpu_second_vs_bare_red',
          value: Math.round(perSecond[0]!),
          unit: 'calls/s',
          baseline: Math.round(perSecond[1]!),
          notes,
        },
        RESULTS,
      );
      record(
        {
          benchmark: bench,
          metric: 'cpu_us_per_call',
          value: 1e6 / perSecond[0]!,
          unit: 'us',
          baseline: 1e6 / perSecond[1]!,
          notes,
        },
        RESULTS,
      );
      record(
        {
          benchmark: bench,
          metric: 'scavenges_per_10k_calls',
          value: perScavenge[0]!,
          unit: 'collections',
          baseline: perScavenge[1]!,
          notes,
        },
        RESULTS,
      );
    }
  } finally {
    if (refDir) rmSync(refDir, { recursive: true, force: true });
  }
}

await main();
