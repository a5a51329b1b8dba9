import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { MonitorMetrics } from '../../incloud/monitors/metrics.ts';
import { VmalertProcess } from '../../incloud/monitors/testing/vmalertProcess.ts';
import { freePort, waitForHttp } from '../../incloud/testing/ports.ts';
import { VictoriaMetricsProcess } from '../../incloud/testing/victoriaMetrics.ts';
import { find, type Rendered, renderScenarios } from './chartRender.ts';
import type { Manifest } from './k8sSchema.ts';

/**
 * The chart's vmagent scrape config, run by Debian's vmagent against real processes: the rendered relabelling
 * is kept as it is, only Kubernetes pod discovery is replaced by static targets carrying the same `__meta_*`
 * labels the pod role would give the rendered pods (one target per declared container port). The monitors pod's
 * two /metrics (the evaluator's prom-client registry, a real vmalert whose datasource is down so its rules fail)
 * and an ordinary pod (VictoriaMetrics itself) must come out as exactly three targets, and vmalert's rule
 * evaluation errors must land in VictoriaMetrics with the pod's labels.
 */
let renders = new Map<string, Rendered>();
const dir = mkdtempSync(join(tmpdir(), 'understory-chart-scrape-'));
const vm = new VictoriaMetricsProcess();
let vmalert: VmalertProcess | undefined;
let evaluatorMetrics: Server | undefined;
let vmagent: ChildProcess | undefined;
let vmagentLog = '';

/** What Kubernetes pod discovery would say about one declared container port of a rendered pod. */
function podTargets(workload: Manifest, podName: string, addressOf: (port: number) => string) {
  const template = (
    workload.spec as {
      template: {
        metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
        spec: { containers: { name: string; ports?: { containerPort: number }[] }[] };
      };
    }
  ).template;
  const meta: Record<string, string> = {
    __meta_kubernetes_pod_name: podName,
    __meta_kubernetes_pod_node_name: 'node-1',
  };
  const name = (k: string) => k.replace(/[^a-zA-Z0-9_]/g, '_');
  for (const [k, v] of Object.entries(template.metadata.labels ?? {}))
    meta[`__meta_kubernetes_pod_label_${name(k)}`] = v;
  for (const [k, v] of Object.entries(template.metadata.annotations ?? {}))
    meta[`__meta_kubernetes_pod_annotation_${name(k)}`] = v;
  return template.spec.containers.flatMap((c) =>
    (c.ports ?? []).map((p) => ({
      targets: [addressOf(p.containerPort)],
      labels: {
        ...meta,
        __meta_kubernetes_pod_container_name: c.name,
        __meta_kubernetes_pod_container_port_number: String(p.containerPort),
      },
    })),
  );
}

beforeAll(async () => {
  renders = await renderScenarios();
  await vm.start();
  // The evaluator's registry, with one counter moved so its series is there to find.
  const registry = new Registry();
  new MonitorMetrics(registry).ruleReloads.inc({ result: 'error' });
  const server = createServer((_req, res) => {
    void registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  evaluatorMetrics = server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  // vmalert with one rule and a datasource nobody answers: every evaluation fails.
  const rulesFile = join(dir, 'rules.json');
  writeFileSync(
    rulesFile,
    JSON.stringify({ groups: [{ name: 'mon_x', interval: '1s', rules: [{ alert: 'x', expr: 'up > 0' }] }] }),
  );
  const closed = await freePort();
  vmalert = new VmalertProcess({
    rulesFile,
    datasourceUrl: `http://127.0.0.1:${closed}`,
    notifierUrl: `http://127.0.0.1:${closed}`,
    interval: '1s',
  });
  await vmalert.start();
}, 120_000);

afterAll(async () => {
  if (vmagent && vmagent.exitCode === null) {
    const exited = new Promise((r) => vmagent!.once('exit', r));
    vmagent.kill('SIGTERM');
    await exited;
  }
  await vmalert?.stop();
  evaluatorMetrics?.closeAllConnections();
  await new Promise((r) => evaluatorMetrics?.close(r));
  await vm.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('vmagent scrapes the monitors pod (Debian vmagent, the rendered relabelling)', () => {
  it('scrapes the evaluator and vmalert, each once, and vmalert’s rule errors reach VictoriaMetrics', async () => {
    const { manifests } = renders.get('default')!;
    const monitors = find(manifests, 'Deployment', 'understory-monitors');
    const victoria = find(manifests, 'StatefulSet', 'understory-victoria-metrics');
    const evaluatorPort = (evaluatorMetrics!.address() as AddressInfo).port;
    const local: Record<number, string> = {
      9473: `127.0.0.1:${evaluatorPort}`,
      8880: `127.0.0.1:${vmalert!.port}`,
    };
    const closed = `127.0.0.1:${await freePort()}`;
    const targets = [
      ...podTargets(monitors, 'understory-monitors-abc', (p) => local[p] ?? closed),
      ...podTargets(victoria, 'understory-victoria-metrics-0', (p) =>
        p === 8428 ? `127.0.0.1:${vm.port}` : closed,
      ),
    ];
    // The monitors pod declares exactly these ports: the evaluator's admin and vmalert's.
    expect(targets.map((t) => t.labels.__meta_kubernetes_pod_container_port_number)).toEqual([
      '9473',
      '8880',
      '8428',
    ]);

    const config = parse(
      (find(manifests, 'ConfigMap', 'understory-vmagent').data as Record<string, string>)['scrape.yaml']!,
    ) as { global: Record<string, unknown>; scrape_configs: Record<string, unknown>[] };
    config.global.scrape_interval = '1s';
    expect(config.scrape_configs.map((j) => j.job_name)).toEqual(['understory', 'understory-sidecars']);
    for (const job of config.scrape_configs) {
      expect(job.kubernetes_sd_configs).toBeDefined();
      delete job.kubernetes_sd_configs;
      job.static_configs = targets;
    }
    const configFile = join(dir, 'scrape.yaml');
    writeFileSync(configFile, stringify(config));
    const port = await freePort();
    const child = spawn(
      'vmagent',
      [
        `-promscrape.config=${configFile}`,
        `-remoteWrite.url=${vm.url}/api/v1/write`,
        `-remoteWrite.tmpDataPath=${join(dir, 'buffer')}`,
        '-remoteWrite.flushInterval=200ms',
        `-httpListenAddr=127.0.0.1:${port}`,
        '-loggerLevel=WARN',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    vmagent = child;
    child.stderr?.on('data', (b: Buffer) => {
      vmagentLog = (vmagentLog + b.toString()).slice(-8000);
    });
    await waitForHttp(`http://127.0.0.1:${port}/health`, 30_000, () => child.exitCode === null);

    const series = async (expr: string) => {
      await vm.flush();
      return (await vm.query(expr)).map((s) => s.metric);
    };
    const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 60_000, interval: 1000 });
    // Exactly three targets, all up: the ordinary job finds the evaluator and VictoriaMetrics, the sidecar job
    // vmalert alone (not VictoriaMetrics again, not the evaluator's port).
    const upKey = (m: Record<string, string>) => `${m.job} ${m.component} ${m.container ?? '-'} ${m.pod}`;
    await poll(async () => (await series('up == 1')).map(upKey).sort()).toEqual([
      'understory monitors - understory-monitors-abc',
      'understory victoria-metrics - understory-victoria-metrics-0',
      'understory-sidecars monitors vmalert understory-monitors-abc',
    ]);
    expect(await series('up == 0'), vmagentLog).toEqual([]);
    // The evaluator's own series, from the ordinary job.
    await poll(() => series('monitors_rule_reloads_total{result="error"}')).toEqual([
      expect.objectContaining({ job: 'understory', component: 'monitors', pod: 'understory-monitors-abc' }),
    ]);
    // vmalert's failing rule, visible where dashboards and alerts look (Debian's vmalert 1.79 names it
    // vmalert_alerting_rules_error; the chart's release vmalert_alerting_rules_errors_total).
    await poll(() =>
      series('{__name__=~"vmalert_alerting_rules_errors?(_total)?", alertname="x"} > 0'),
    ).toEqual([
      expect.objectContaining({
        job: 'understory-sidecars',
        component: 'monitors',
        container: 'vmalert',
        group: 'mon_x',
      }),
    ]);
  }, 120_000);
});
