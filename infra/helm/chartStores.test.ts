import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { renderRules } from '../../incloud/monitors/vmalertRules.ts';
import { freePort, waitForHttp } from '../../lib/net.ts';
import { monitorInput } from '../../lib/tunnel/monitors.ts';
import { find, type Rendered, renderScenarios, SCENARIOS } from './chartRender.ts';
import { allContainers, type Container, flag, podSpecs } from './podSpecs.ts';

// The third-party configurations the chart generates, checked by the real programs where Debian has them:
// vmagent and victoria-metrics parse their flags and scrape config with -dryRun. ClickHouse's XML is checked for
// well-formedness and for environment references the pod really sets; the collector's pipelines for references
// to defined components (what otelcol checks at start; no collector binary runs here). vmalert parses the
// rendered flags and a rules file as the evaluator writes it with -dryRun (Debian's 1.79.5, older than the
// chart's image: a flag removed since would not be caught here). vminsert, vmselect and
// vmstorage flags are not checked: Debian ships no cluster binaries.
let renders = new Map<string, Rendered>();
const render = (name: string): Rendered => renders.get(name)!;
const dir = mkdtempSync(join(tmpdir(), 'understory-chart-stores-'));

beforeAll(async () => {
  renders = await renderScenarios();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(bin: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        resolve({
          code: -1,
          out: `cannot run ${bin}: not installed (scripts/setup.sh installs victoria-metrics)`,
        });
        return;
      }
      resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

function workload(name: string, workloadName: string) {
  const found = podSpecs(render(name).manifests).find((p) => p.workload.metadata.name === workloadName);
  if (!found) throw new Error(`cannot find ${workloadName} in ${name}`);
  return found;
}

/** Rendered args with in-pod paths moved under a temp dir. */
function localArgs(c: Container, paths: Record<string, string>): string[] {
  return (c.args ?? []).map((a) => {
    const [flagName] = a.split('=');
    return flagName && paths[flagName] !== undefined ? `${flagName}=${paths[flagName]}` : a;
  });
}

const withVmagent = SCENARIOS.filter((s) => s !== 'minimal');
describe('vmagent (Debian vmagent -dryRun)', () => {
  it.each(withVmagent)('%s: accepts the rendered flags and scrape config', async (name) => {
    const cm = find(render(name).manifests, 'ConfigMap', 'understory-vmagent');
    const config = join(dir, `${name}-scrape.yaml`);
    writeFileSync(config, (cm.data as Record<string, string>)['scrape.yaml']!);
    const c = workload(name, 'understory-vmagent').pod.containers[0]!;
    const args = localArgs(c, {
      '-promscrape.config': config,
      '-remoteWrite.tmpDataPath': join(dir, `${name}-buffer`),
    });
    const r = await run('vmagent', [...args, '-dryRun']);
    expect(r.out).toContain('all the configs are ok');
    expect(r.code).toBe(0);
  });

  it('rejects a broken relabelling (the check can fail)', async () => {
    const cm = find(render('default').manifests, 'ConfigMap', 'understory-vmagent');
    const config = join(dir, 'broken-scrape.yaml');
    writeFileSync(
      config,
      (cm.data as Record<string, string>)['scrape.yaml']!.replace('keep_if_equal', 'keep_if_eq'),
    );
    const r = await run('vmagent', ['-promscrape.config', config, '-dryRun']);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('unknown `action` "keep_if_eq"');
  });
});

describe('vmalert (Debian vmalert -dryRun)', () => {
  // A rules file as the evaluator writes it (renderRules), from a PromQL monitor like the ready-made ones, in
  // a directory the rendered -rule glob is moved to.
  const rulesDir = join(dir, 'vmalert-rules');
  beforeAll(() => {
    mkdirSync(rulesDir, { recursive: true });
    const monitor = {
      ...monitorInput.parse({
        name: 'error rate',
        condition: { type: 'promql', query: 'sum(rate(http_requests_total[5m]))', op: '>', threshold: 1 },
        forSeconds: 300,
      }),
      id: 'mon_chart',
    };
    writeFileSync(join(rulesDir, 'rules.json'), renderRules([monitor]));
  });

  it.each(SCENARIOS)(
    '%s: accepts every flag the chart passes, with a rules file of the evaluator',
    async (name) => {
      const c = allContainers(workload(name, 'understory-monitors').pod).find((x) => x.name === 'vmalert')!;
      expect(flag(c, '-rule')).toBe('/rules/*.json');
      const args = localArgs(c, { '-rule': join(rulesDir, '*.json') });
      const r = await run('vmalert', [...args, '-dryRun']);
      expect(r.out).not.toMatch(/flag provided but not defined|fatal|error/i);
      expect(r.code, r.out).toBe(0);
    },
  );

  it('starts with the rendered flags before the evaluator has written its file, then loads it on /-/reload', async () => {
    // The pod's order: vmalert may start first, on an empty /rules; the evaluator writes rules.json and reloads.
    const c = allContainers(workload('default', 'understory-monitors').pod).find(
      (x) => x.name === 'vmalert',
    )!;
    const empty = join(dir, 'vmalert-live');
    mkdirSync(empty, { recursive: true });
    const port = await freePort();
    const args = localArgs(c, {
      '-rule': join(empty, '*.json'),
      '-httpListenAddr': `127.0.0.1:${port}`,
      // Nothing listens there: the stores are not needed to start and load rules.
      '-datasource.url': 'http://127.0.0.1:9',
      '-remoteWrite.url': 'http://127.0.0.1:9',
      '-remoteRead.url': 'http://127.0.0.1:9',
    });
    const child = spawn('vmalert', args, { stdio: 'ignore' });
    const groups = async () => {
      const body = (await (await fetch(`http://127.0.0.1:${port}/api/v1/rules`)).json()) as {
        data: { groups: { name: string }[] | null };
      };
      return (body.data.groups ?? []).map((g) => g.name);
    };
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, { timeoutMs: 20_000, intervalMs: 100 });
      expect(await groups()).toEqual([]);
      writeFileSync(join(empty, 'rules.json'), readFileSync(join(rulesDir, 'rules.json')));
      expect((await fetch(`http://127.0.0.1:${port}/-/reload`)).status).toBe(200);
      // /-/reload only signals vmalert; the groups change once its reload loop has run (slow under load).
      await expect.poll(groups, { timeout: 30_000, interval: 200 }).toEqual(['mon_chart']);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('rejects a flag it does not have, and a rules file it cannot parse (the checks can fail)', async () => {
    const c = allContainers(workload('default', 'understory-monitors').pod).find(
      (x) => x.name === 'vmalert',
    )!;
    const args = localArgs(c, { '-rule': join(rulesDir, '*.json') });
    const unknown = await run('vmalert', [...args, '-notifier.urls=http://x', '-dryRun']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.out).toContain('flag provided but not defined: -notifier.urls');
    const broken = join(dir, 'broken-rules.json');
    writeFileSync(broken, '{"groups":[{"name":"g","rules":[{"alert":"a","expr":"sum(("}]}]}');
    const bad = await run('vmalert', [`-rule=${broken}`, '-dryRun']);
    expect(bad.code).not.toBe(0);
  });
});

describe('VictoriaMetrics single node (Debian victoria-metrics -dryRun)', () => {
  const single = ['default', 'minimal'];
  it.each(single)('%s: accepts the rendered flags, retention included', async (name) => {
    const empty = join(dir, 'empty-scrape.yaml');
    writeFileSync(empty, 'scrape_configs: []\n');
    const c = workload(name, 'understory-victoria-metrics').pod.containers[0]!;
    const args = localArgs(c, { '-storageDataPath': join(dir, `${name}-storage`) });
    const r = await run('victoria-metrics', [...args, `-promscrape.config=${empty}`, '-dryRun']);
    expect(r.out).not.toContain('fatal');
    expect(r.code).toBe(0);
  });

  it('rejects a retention it cannot parse (the check can fail)', async () => {
    const r = await run('victoria-metrics', ['-retentionPeriod=30days', '-dryRun']);
    expect(r.code).not.toBe(0);
  });
});

describe('ClickHouse and Keeper configuration', () => {
  const xmlFiles = (name: string) =>
    render(name)
      .manifests.filter((m) => m.kind === 'ConfigMap' && /clickhouse/.test(m.metadata.name))
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([k, v]) => [`${m.metadata.name}/${k}`, v]),
      );

  it.each(['default', 'cluster', 'minimal'])('%s: every XML file is well-formed', (name) => {
    const files = xmlFiles(name);
    expect(files.length).toBeGreaterThanOrEqual(name === 'cluster' ? 3 : 2);
    for (const [file, xml] of files) expect(XMLValidator.validate(xml!), file).toBe(true);
  });

  it('the validator catches a broken file', () => {
    expect(XMLValidator.validate('<clickhouse><users></clickhouse>')).not.toBe(true);
  });

  it.each(['default', 'cluster'])('%s: every from_env variable is set in the pod that reads it', (name) => {
    const refs = (xml: string) => [...xml.matchAll(/from_env="([A-Z_]+)"/g)].map((m) => m[1]!);
    const { manifests } = render(name);
    const ch = find(manifests, 'ConfigMap', 'understory-clickhouse').data as Record<string, string>;
    const chEnv = new Set(
      (workload(name, 'understory-clickhouse').pod.containers[0]!.env ?? [])
        .map((e) => e.name)
        .concat('HOSTNAME'),
    );
    const used = refs(ch['understory.xml']! + ch['users.xml']!);
    expect(used).toContain('UNDERSTORY_CLICKHOUSE_PASSWORD');
    for (const v of used) expect(chEnv, v).toContain(v);
    if (name === 'cluster') {
      const keeperXml = (
        find(manifests, 'ConfigMap', 'understory-clickhouse-keeper').data as Record<string, string>
      )['keeper_config.xml']!;
      const command = workload(name, 'understory-clickhouse-keeper').pod.containers[0]!.command!.join(' ');
      for (const v of refs(keeperXml)) expect(command, v).toContain(`export ${v}=`);
    }
  });
});

describe('opentelemetry-collector pipelines', () => {
  interface Config {
    extensions: Record<string, unknown>;
    receivers: Record<string, unknown>;
    processors: Record<string, unknown>;
    exporters: Record<string, unknown>;
    service: {
      extensions: string[];
      pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>;
    };
  }
  it.each(SCENARIOS)('%s: pipelines use only defined components, and every component is used', (name) => {
    const cm = find(render(name).manifests, 'ConfigMap', 'understory-otel-collector');
    const c = parseYaml((cm.data as Record<string, string>)['config.yaml']!) as Config;
    const pipelines = Object.values(c.service.pipelines);
    expect(Object.keys(c.service.pipelines).sort()).toEqual(['logs', 'traces']);
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      const used = new Set(pipelines.flatMap((p) => p[kind]));
      expect([...used].sort(), kind).toEqual(Object.keys(c[kind]).sort());
    }
    expect(c.service.extensions.sort()).toEqual(Object.keys(c.extensions).sort());
    // The memory limiter must see data first to protect the process.
    for (const p of pipelines) expect(p.processors[0]).toBe('memory_limiter');
  });
});
