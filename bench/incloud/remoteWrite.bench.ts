/**
 * Remote write -> VictoriaMetrics: samples per CPU-second of the metrics-ingester (decode, aggregate, flush
 * every second, encode, write VM) against vmagent receiving the same remote-write bodies on its own
 * /api/v1/write and forwarding them to VictoriaMetrics (baseline, same run). CPU is read from /proc for the
 * receiving process only (the sender and VictoriaMetrics are not counted for either).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRemoteWrite, postRemoteWrite, type RemoteSeries } from '../../incloud/ingester/remoteWrite.ts';
import { freePort, waitForHttp } from '../../incloud/testing/ports.ts';
import { VictoriaMetricsProcess } from '../../incloud/testing/victoriaMetrics.ts';
import { record } from '../harness.ts';

const SERIES = Number(process.env.BENCH_SERIES ?? 2000);
const BODIES = Number(process.env.BENCH_BODIES ?? 200);
const CONCURRENCY = 4;
const CLK_TCK = 100;

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function bodies(name: string): Buffer[] {
  const t0 = Date.now() - 60_000;
  return Array.from({ length: BODIES }, (_, b) => {
    const series: RemoteSeries[] = Array.from({ length: SERIES }, (_, i) => ({
      labels: {
        __name__: name,
        workload: `w${i % 50}`,
        namespace: 'shop',
        method: ['GET', 'POST'][i % 2]!,
        resource: `/api/r${i}`,
        status: '200',
        instance: `node-${b % 4}`,
      },
      samples: [{ value: b * 10 + i, timestampMs: t0 + b * 100 }],
    }));
    return encodeRemoteWrite(series);
  });
}

async function send(url: string, input: Buffer[], pid: number): Promise<{ cpuS: number; wallS: number }> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < input.length) await postRemoteWrite(url, input[next++]!, 60_000);
    }),
  );
  return { cpuS: cpuSeconds(pid) - c0, wallS: (performance.now() - t0) / 1000 };
}

const dir = mkdtempSync(join(tmpdir(), 'understory-bench-rw-'));
const vm = new VictoriaMetricsProcess();
const children: ChildProcess[] = [];
try {
  await vm.start();
  // Baseline: vmagent accepting remote write and forwarding to VictoriaMetrics.
  const agentPort = await freePort();
  const agent = spawn(
    'vmagent',
    [
      `-httpListenAddr=127.0.0.1:${agentPort}`,
      `-remoteWrite.url=${vm.url}/api/v1/write`,
      `-remoteWrite.tmpDataPath=${join(dir, 'vmagent')}`,
      '-loggerLevel=ERROR',
    ],
    { stdio: 'ignore' },
  );
  children.push(agent);
  await waitForHttp(`http://127.0.0.1:${agentPort}/health`, 30_000);
  const agentInput = bodies('bench_agent_total');
  await send(`http://127.0.0.1:${agentPort}/api/v1/write`, agentInput.slice(0, 5), agent.pid!); // warm up
  const base = await send(`http://127.0.0.1:${agentPort}/api/v1/write`, agentInput, agent.pid!);
  const agentDrain = cpuSeconds(agent.pid!);
  await new Promise((r) => setTimeout(r, 2000)); // vmagent forwards asynchronously: count that CPU too
  base.cpuS += cpuSeconds(agent.pid!) - agentDrain;

  // The ingester in its own process.
  const script = fileURLToPath(new URL('./ingesterProcess.ts', import.meta.url));
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the ingester there (open it in Chrome DevTools).
  const prof = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const ing = spawn(
    process.execPath,
    [...prof, '--import', 'tsx', script, vm.url, join(dir, 'queue'), '1000'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  children.push(ing);
  const port = await new Promise<number>((resolve, reject) => {
    ing.stdout!.on('data', (b: Buffer) => {
      const m = /port (\d+)/.exec(b.toString());
      if (m) resolve(Number(m[1]));
    });
    ing.once('exit', (code) => reject(new Error(`ingester exited with ${code}`)));
  });
  const ingInput = bodies('bench_ingester_total');
  await send(`http://127.0.0.1:${port}/api/v1/write`, ingInput.slice(0, 5), ing.pid!);
  const via = await send(`http://127.0.0.1:${port}/api/v1/write`, ingInput, ing.pid!);
  const drain = cpuSeconds(ing.pid!);
  await new Promise((r) => setTimeout(r, 2000)); // a flush or two to VictoriaMetrics
  via.cpuS += cpuSeconds(ing.pid!) - drain;
  await vm.flush();
  const [n] = await vm.query('count(bench_ingester_total)');
  if (Number(n?.value[1]) !== SERIES)
    throw new Error(`VictoriaMetrics has ${n?.value[1]} ingester series, want ${SERIES}`);

  const samples = SERIES * BODIES;
  const notes = `${BODIES} bodies x ${SERIES} series, ${CONCURRENCY} concurrent, 4 senders aggregated; ingester flushes every 1 s`;
  record({
    benchmark: 'incloud-remote-write/ingester-vs-vmagent',
    metric: 'samples_per_cpu_second',
    value: samples / via.cpuS,
    baseline: samples / base.cpuS,
    unit: 'samples/s/core',
    notes: `${notes}; baseline = vmagent forwarding the same bodies; cpu ${via.cpuS.toFixed(2)} s vs ${base.cpuS.toFixed(2)} s`,
  });
  record({
    benchmark: 'incloud-remote-write/ingester-vs-vmagent',
    metric: 'samples_per_second',
    value: samples / via.wallS,
    baseline: samples / base.wallS,
    unit: 'samples/s',
    notes,
  });
} finally {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(0)))),
  );
  await vm.close();
  rmSync(dir, { recursive: true, force: true });
}
