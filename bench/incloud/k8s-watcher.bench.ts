/**
 * k8s-watcher: memory and CPU for 10k pods with churn, and the time from a pod change on the API server to
 * the sensor client's copy.
 *
 * Baseline (same run, same fake API server, same events): client-node's informer caching the full pod
 * objects in its Map, i.e. a watcher that neither strips, resolves owners nor serves sensors. The fake API
 * server runs in a child process so only the watcher's own CPU and heap are measured here.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type KubernetesObject, makeInformer } from '@kubernetes/client-node';
import { K8sMetadataClient } from '../../incloud/k8s-watcher/client/sensorClient.ts';
import type { Entry } from '../../incloud/k8s-watcher/client/types.ts';
import { K8sWatcher } from '../../incloud/k8s-watcher/k8sWatcher.ts';
import type { FakeApiServer } from '../../incloud/k8s-watcher/testing/fakeApiServer.ts';
import { kubeConfigFor } from '../../incloud/k8s-watcher/testing/shopCluster.ts';
import { percentile, record } from '../harness.ts';

const PODS = Number(process.env.K8S_BENCH_PODS ?? 10_000);
const CHURN = Number(process.env.K8S_BENCH_CHURN ?? 3000);
const RATE = Number(process.env.K8S_BENCH_RATE ?? 300);
const NAME = 'k8s-watcher';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const now = () => performance.timeOrigin + performance.now();

// Each run (baseline, watcher) is its own process so neither sees the other's heap or pending timers;
// the parent owns the fake API server child and relays churn requests to it.
const role = process.argv[2] ?? 'parent';
const selfPath = fileURLToPath(import.meta.url);

function next<T>(proc: ChildProcess | NodeJS.Process, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>) => {
      if (key in m) {
        proc.off('message', on);
        resolve(m as T);
      }
    };
    proc.on('message', on);
  });
}

if (role === 'parent') {
  const fake: ChildProcess = fork(
    fileURLToPath(new URL('../../incloud/k8s-watcher/testing/fakeApiProcess.ts', import.meta.url)),
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const { port } = await next<{ port: number }>(fake, 'port');
  fake.send({ op: 'load', pods: PODS });
  await next(fake, 'loaded');
  const results: Record<string, RunResult> = {};
  for (const run of ['baseline', 'watcher']) {
    const runner = fork(selfPath, [run, String(port)], {
      // K8S_BENCH_PROFILE=<dir> writes a CPU profile of each run there.
      execArgv: [
        '--import',
        'tsx',
        ...(process.env.K8S_BENCH_PROFILE
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env.K8S_BENCH_PROFILE}`]
          : []),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    runner.on('message', (m: Record<string, unknown>) => {
      if (m.op === 'churn') {
        fake.send(m);
        void next<{ sentAt: number[] }>(fake, 'churned').then((r) => runner.send(r));
      }
    });
    results[run] = (await next<{ result: RunResult }>(runner, 'result')).result;
  }
  fake.send({ op: 'stop' });
  report(results.baseline!, results.watcher!);
  process.exit(0);
}

const kc = kubeConfigFor({ url: `http://127.0.0.1:${process.argv[3]}` } as FakeApiServer);

interface RunResult {
  heapMb: number;
  entries?: number;
  /** p99 event-loop delay of the run's process during the churn. */
  loopDelayP99Ms?: number;
  /** Watcher run only: entry log -> sensor client copy, per update. */
  hopMs?: number[];
  /** Watcher run only: a sensor's copy, whole and scoped to one node (snapshot bytes, client heap). */
  copy?: { fullBytes: number; scopedBytes: number; fullHeapMb: number; scopedHeapMb: number };
  listCpuMs: number;
  churnCpuMs: number;
  latenciesMs: number[];
}

const loop = monitorEventLoopDelay({ resolution: 5 });

async function churn(tag: string, received: Map<number, number>): Promise<number[]> {
  // Steady state: let start-up work (GC after the list, the client's first watch connect) finish first.
  await new Promise((r) => setTimeout(r, 1000));
  loop.reset();
  loop.enable();
  const reply = next<{ sentAt: number[] }>(process, 'sentAt');
  process.send?.({ op: 'churn', count: CHURN, perSecond: RATE, tag });
  const { sentAt } = await reply;
  const deadline = Date.now() + 30_000;
  while (received.size < CHURN && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  loop.disable();
  const latencies: number[] = [];
  for (const [seq, at] of received) if (sentAt[seq] !== undefined) latencies.push(at - sentAt[seq]!);
  return latencies;
}

function seqOf(tag: string, ids: (string | undefined)[]): number | undefined {
  for (const id of ids) if (id?.startsWith(`${tag}-`)) return Number(id.slice(tag.length + 1));
  return undefined;
}

// --- baseline: the bare informer with full objects in a Map --------------------------------------------
async function baseline(): Promise<RunResult> {
  const received = new Map<number, number>();
  const heap0 = heapMb();
  const cpu0 = cpuMs();
  const api = kc.makeApiClient((await import('@kubernetes/client-node')).CoreV1Api);
  const informer = makeInformer<KubernetesObject>(kc, '/api/v1/pods', () => api.listPodForAllNamespaces());
  informer.on('update', (obj) => {
    const statuses = (obj as { status?: { containerStatuses?: { containerID?: string }[] } }).status
      ?.containerStatuses;
    const seq = seqOf(
      'baseline',
      (statuses ?? []).map((s) => s.containerID?.replace('containerd://', '')),
    );
    if (seq !== undefined && !received.has(seq)) received.set(seq, now());
  });
  await informer.start();
  while (informer.list().length < PODS) await new Promise((r) => setTimeout(r, 20));
  const listCpuMs = cpuMs() - cpu0;
  const heap = heapMb() - heap0;
  const cpu1 = cpuMs();
  const latenciesMs = await churn('baseline', received);
  const churnCpuMs = cpuMs() - cpu1;
  await informer.stop();
  return { heapMb: heap, listCpuMs, churnCpuMs, latenciesMs, loopDelayP99Ms: loop.percentile(99) / 1e6 };
}

// --- the watcher, its sensor API and a sensor client ----------------------------------------------------
async function watcher(): Promise<RunResult> {
  const received = new Map<number, number>();
  const heap0 = heapMb();
  const cpu0 = cpuMs();
  const w = new K8sWatcher({
    mode: 'cluster',
    kubeConfig: kc,
    api: { host: '127.0.0.1', port: 0, token: 'bench' },
  });
  await w.start();
  // Where the time goes: arrival in the watcher's entry log, before the hop to the sensor client.
  const inWatcher = new Map<number, number>();
  w.entries.subscribe((c) => {
    const m = /"id":"watcher-(\d+)"/.exec(c.json ?? '');
    if (m && !inWatcher.has(Number(m[1]))) inWatcher.set(Number(m[1]), now());
  });
  const client = new K8sMetadataClient({
    url: `http://127.0.0.1:${w.port}`,
    token: 'bench',
    onChange: (_key: string, value: Entry | undefined) => {
      if (value?.type !== 'pod') return;
      const seq = seqOf(
        'watcher',
        value.containers.map((c) => c.id),
      );
      if (seq !== undefined && !received.has(seq)) received.set(seq, now());
    },
  });
  client.start();
  await client.ready();
  while (!client.connected) await new Promise((r) => setTimeout(r, 10));
  const listCpuMs = cpuMs() - cpu0;
  const heap = heapMb() - heap0;
  const cpu1 = cpuMs();
  const latenciesMs = await churn('watcher', received);
  const churnCpuMs = cpuMs() - cpu1;
  const entries = client.size;
  const copy = await copySizes(w.port);
  const hopMs = [...received]
    .filter(([seq]) => inWatcher.has(seq))
    .map(([seq, at]) => at - inWatcher.get(seq)!);
  await client.stop();
  await w.shutdown();
  return {
    heapMb: heap,
    listCpuMs,
    churnCpuMs,
    latenciesMs,
    entries,
    hopMs,
    copy,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
  };
}

/** A sensor's copy of the cluster, whole and scoped to node-0 of the 100: snapshot bytes and client heap. */
async function copySizes(port: number): Promise<RunResult['copy']> {
  const url = `http://127.0.0.1:${port}`;
  const bytes = async (query: string) =>
    (
      await (
        await fetch(`${url}/v1/snapshot${query}`, { headers: { authorization: 'Bearer bench' } })
      ).arrayBuffer()
    ).byteLength;
  // Both copies stay alive until both are measured: a stopped client's heap is freed at some later gc,
  // which would land in the next one's figure.
  const clients: K8sMetadataClient[] = [];
  const heapOf = async (node?: string) => {
    const before = heapMb();
    const c = new K8sMetadataClient({ url, token: 'bench', node });
    clients.push(c);
    c.start();
    await c.ready();
    return heapMb() - before;
  };
  const out = {
    fullBytes: await bytes(''),
    scopedBytes: await bytes('?node=node-0'),
    fullHeapMb: await heapOf(),
    scopedHeapMb: await heapOf('node-0'),
  };
  for (const c of clients) await c.stop();
  return out;
}

process.send?.({ result: role === 'baseline' ? await baseline() : await watcher() });
process.exit(0);

function report(base: RunResult, ours: RunResult): void {
  const notes = `${PODS} pods (20 per deployment), ${CHURN} pod updates at ${RATE}/s; baseline: client-node informer caching full pods in a Map`;
  record({
    benchmark: NAME,
    metric: 'heap_mb_after_list',
    value: ours.heapMb,
    unit: 'MiB',
    baseline: base.heapMb,
    notes: `${notes}; ours includes the sensor client copy in the same process (${ours.entries} entries)`,
  });
  record({
    benchmark: NAME,
    metric: 'list_cpu_ms',
    value: ours.listCpuMs,
    unit: 'ms',
    baseline: base.listCpuMs,
    notes,
  });
  record({
    benchmark: NAME,
    metric: 'churn_cpu_us_per_update',
    value: (ours.churnCpuMs * 1000) / CHURN,
    unit: 'us',
    baseline: (base.churnCpuMs * 1000) / CHURN,
    notes: `${notes}; ours includes the sensor API and client`,
  });
  record({
    benchmark: NAME,
    metric: 'event_loop_delay_p99_ms',
    value: ours.loopDelayP99Ms ?? Number.NaN,
    unit: 'ms',
    baseline: base.loopDelayP99Ms,
    notes: `${notes}; during the churn, in the measured process`,
  });
  record({
    benchmark: NAME,
    metric: 'sensor_api_hop_p50_ms',
    value: percentile(ours.hopMs ?? [], 50),
    unit: 'ms',
    notes: `${notes}; part of the change_to_copy time spent between the watcher's entry log and the client copy`,
  });
  if (ours.copy) {
    const copyNotes = `${notes}; pods spread over 100 nodes, 64-hex container ids; node-scoped: ?node=node-0 (pods of other nodes without containers) against the whole copy`;
    record({
      benchmark: NAME,
      metric: 'sensor_snapshot_bytes_node_scoped',
      value: ours.copy.scopedBytes,
      unit: 'bytes',
      baseline: ours.copy.fullBytes,
      notes: copyNotes,
    });
    record({
      benchmark: NAME,
      metric: 'sensor_copy_heap_mb_node_scoped',
      value: ours.copy.scopedHeapMb,
      unit: 'MiB',
      baseline: ours.copy.fullHeapMb,
      notes: `${copyNotes}; heap after gc with one more client copy, in the watcher's process`,
    });
  }
  for (const p of [50, 99]) {
    record({
      benchmark: NAME,
      metric: `change_to_copy_p${p}_ms`,
      value: percentile(ours.latenciesMs, p),
      unit: 'ms',
      baseline: percentile(base.latenciesMs, p),
      notes: `${notes}; ours: API server -> watcher -> sensor API -> client copy; baseline: API server -> informer callback; received ${ours.latenciesMs.length}/${base.latenciesMs.length} of ${CHURN}`,
    });
  }
}
