import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsIngester } from '../../../incloud/ingester/ingester.ts';
import { EntryIndex } from '../../../incloud/k8s-watcher/client/entryIndex.ts';
import type { PodEntry } from '../../../incloud/k8s-watcher/client/types.ts';
import { VictoriaMetricsProcess } from '../../../incloud/testing/victoriaMetrics.ts';
import { RemoteWriteExporter } from '../exporters/remoteWriteExporter.ts';
import { SensorPipeline } from '../sensorPipeline.ts';
import { ResourceSampler } from './resourceSampler.ts';

// A node in fixture trees (/proc and a hybrid cgroup v1 mount) -> ResourceSampler -> remote write -> the
// real metrics-ingester -> a private VictoriaMetrics; PromQL reads per-workload series back.
const tmp = mkdtempSync(join(tmpdir(), 'understory-resources-'));
const proc = join(tmp, 'proc');
const cgroup = join(tmp, 'cgroup');
const vm = new VictoriaMetricsProcess();
let ingester: MetricsIngester;

const APP = '1f0e'.repeat(16);
const SIDECAR = '2e1d'.repeat(16);
const AGENT = '7d66'.repeat(16);
const DOCKER = 'cd34'.repeat(16);
const HOST_NET = 'net:[4026531840]';
const NET_DEV = (rx: number, tx: number) =>
  `Inter-|   Receive |  Transmit\n face |bytes ...|bytes ...\n    lo: 9 1 0 0 0 0 0 0 9 1 0 0 0 0 0 0\n  eth0: ${rx} 5 0 0 0 0 0 0 ${tx} 7 0 0 0 0 0 0\n`;

function file(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
function processIn(pid: number, cgroupPath: string, netns: string, netDev?: string): void {
  file(
    join(proc, String(pid), 'cgroup'),
    `9:blkio:${cgroupPath}\n4:cpu,cpuacct:${cgroupPath}\n3:memory:${cgroupPath}\n0::/\n`,
  );
  mkdirSync(join(proc, String(pid), 'ns'), { recursive: true });
  symlinkSync(netns, join(proc, String(pid), 'ns', 'net'));
  if (netDev) file(join(proc, String(pid), 'net', 'dev'), netDev);
}
function container(path: string, cpuNs: number, memBytes: number): void {
  file(join(cgroup, 'cpuacct', path, 'cpuacct.usage'), `${cpuNs}\n`);
  file(join(cgroup, 'memory', path, 'memory.usage_in_bytes'), `${memBytes}\n`);
  file(join(cgroup, 'memory', path, 'memory.stat'), `total_inactive_file ${memBytes / 4}\n`);
  file(
    join(cgroup, 'blkio', path, 'blkio.throttle.io_service_bytes'),
    '8:0 Read 4096\n8:0 Write 512\nTotal 4608\n',
  );
}

const pod = (name: string, workload: string, containers: { name: string; id: string }[]): PodEntry => ({
  type: 'pod',
  uid: `${name}-uid`,
  namespace: 'shop',
  name,
  node: 'node-a',
  ips: [],
  terminated: false,
  workload: { kind: 'Deployment', name: workload, namespace: 'shop' },
  containers,
});

beforeAll(async () => {
  file(join(proc, 'stat'), 'cpu  1 0 1 1 0 0 0 0\ncpu0 100 0 50 1000 0 0 0 0\n');
  file(join(proc, 'meminfo'), 'MemTotal:       16384 kB\nMemAvailable:    8192 kB\n');
  processIn(1, '/', HOST_NET);
  const podPath = '/kubepods/burstable/pod1f0e';
  processIn(100, `${podPath}/cri-containerd-${APP}.scope`, 'net:[4026532001]', NET_DEV(5000, 7000));
  processIn(101, `${podPath}/cri-containerd-${SIDECAR}.scope`, 'net:[4026532001]', NET_DEV(5000, 7000));
  processIn(102, `${podPath}/cri-containerd-${APP}.scope`, 'net:[4026532001]'); // a second process of app
  processIn(300, `/kubepods/besteffort/podagent/cri-containerd-${AGENT}.scope`, HOST_NET, NET_DEV(1, 1));
  processIn(400, `/docker/${DOCKER}`, 'net:[4026532009]', NET_DEV(300, 400));
  processIn(500, '/system.slice/ssh.service', HOST_NET);
  container(`${podPath}/cri-containerd-${APP}.scope`, 2_000_000_000, 4_000_000);
  container(`${podPath}/cri-containerd-${SIDECAR}.scope`, 500_000_000, 1_000_000);
  container(`/kubepods/besteffort/podagent/cri-containerd-${AGENT}.scope`, 1_000_000_000, 2_000_000);
  container(`/docker/${DOCKER}`, 3_000_000_000, 8_000_000);

  await vm.start();
  ingester = new MetricsIngester({
    host: '127.0.0.1',
    port: 0,
    vmUrl: vm.url,
    queueDir: join(tmp, 'queue'),
    reportIntervalMs: 3_600_000, // flushed by hand
    registry: new Registry(),
  });
  await ingester.start();
});
afterAll(async () => {
  await ingester?.shutdown();
  await vm.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** One snapshot of `exporter` through the ingester into VictoriaMetrics; returns its time (s). */
async function ship(exporter: RemoteWriteExporter): Promise<number> {
  exporter.flush();
  expect(await exporter.drain(20_000)).toBe(true);
  const t = Math.floor(Date.now() / 1000) * 1000 - 5_000;
  expect(ingester.flush(t)).toBeGreaterThan(0);
  const deadline = Date.now() + 30_000;
  while (ingester.queued > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await vm.flush();
  return t / 1000;
}

describe('resource metrics end to end through the ingester into VictoriaMetrics', () => {
  it('arrive per node and per workload container, with pod network once per namespace', async () => {
    const index = new EntryIndex();
    index.put(
      'pod/checkout',
      pod('checkout-x4k2p', 'checkout', [
        { name: 'app', id: APP },
        { name: 'envoy', id: SIDECAR },
      ]),
    );
    index.put('pod/agent', pod('node-agent-7xq2m', 'node-agent', [{ name: 'agent', id: AGENT }]));
    const sampler = new ResourceSampler({
      procRoot: proc,
      cgroupRoot: cgroup,
      host: 'node-a',
      metadata: index,
    });
    const exporter = new RemoteWriteExporter({
      url: `http://127.0.0.1:${ingester.port}/api/v1/write`,
      source: () => sampler.series({ sensor: 'sensor-node-a' }),
      intervalMs: 3_600_000,
    });
    exporter.start();
    const at = await ship(exporter).finally(() => exporter.shutdown());
    expect(sampler.counts.containers).toBe(4);

    const q = async (expr: string, by: string[]) =>
      (await vm.query(expr, at)).map((r) => [...by.map((l) => r.metric[l] ?? ''), Number(r.value[1])]).sort();
    expect(
      await q('container_cpu_usage_seconds_total', ['namespace', 'pod', 'workload', 'container', 'host']),
    ).toEqual([
      ['', '', 'cd34cd34cd34', 'cd34cd34cd34', 'node-a', 3],
      ['shop', 'checkout-x4k2p', 'checkout', 'app', 'node-a', 2],
      ['shop', 'checkout-x4k2p', 'checkout', 'envoy', 'node-a', 0.5],
      ['shop', 'node-agent-7xq2m', 'node-agent', 'agent', 'node-a', 1],
    ]);
    expect(await q('container_memory_working_set_bytes{workload="checkout"}', ['container'])).toEqual([
      ['app', 3_000_000],
      ['envoy', 750_000],
    ]);
    expect(await q('sum by (workload) (container_fs_reads_bytes_total)', ['workload'])).toEqual([
      ['cd34cd34cd34', 4096],
      ['checkout', 8192],
      ['node-agent', 4096],
    ]);
    // one series per pod network namespace, none for the host-network agent
    expect(
      await q('container_network_receive_bytes_total', ['workload', 'pod', 'container', 'interface']),
    ).toEqual([
      ['cd34cd34cd34', '', '', 'eth0', 300],
      ['checkout', 'checkout-x4k2p', '', 'eth0', 5000],
    ]);
    expect(await q('node_memory_MemTotal_bytes', ['host', 'sensor'])).toEqual([['node-a', '', 16384 * 1024]]);
  });

  it('is exported by the pipeline when its resources option is set', async () => {
    file(join(cgroup, 'cpuacct', `/docker/${DOCKER}`, 'cpuacct.usage'), '9000000000\n');
    const pipeline = new SensorPipeline({
      remoteWriteUrl: `http://127.0.0.1:${ingester.port}/api/v1/write`,
      node: 'node-b',
      sensorLabels: { sensor: 'node-b' },
      identity: { processes: { procRoot: proc } },
      resources: { intervalMs: 3_600_000, procRoot: proc, cgroupRoot: cgroup },
    });
    await pipeline.start();
    const at = await ship(pipeline.resourceExport!).finally(() => pipeline.shutdown());
    const got = await vm.query('container_cpu_usage_seconds_total{host="node-b"}', at);
    expect(got.map((r) => [r.metric.workload, Number(r.value[1])]).sort()).toContainEqual([
      'cd34cd34cd34',
      9,
    ]);
  });
});
