import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMap, isScalar, isSeq, parseDocument, parse as parseYaml, type YAMLMap } from 'yaml';
import { connectCommands } from '../../edge/src/clusters/connectCommands.ts';
import {
  byKind,
  CHART_DIR,
  find,
  parseManifests,
  type Rendered,
  renderChart,
  renderScenarios,
  SCENARIOS,
  scenarioFile,
} from './chartRender.ts';
import { allContainers, type Container, flag, podSpecs } from './podSpecs.ts';

// What the chart configures: the collector's exporter, each storage mode, retention, the edge's install
// command, and the refusal of inconsistent values.
const MIGRATIONS = fileURLToPath(new URL('../../db/clickhouse/', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let renders = new Map<string, Rendered>();
const render = (name: string): Rendered => renders.get(name)!;

beforeAll(async () => {
  renders = await renderScenarios();
});

function container(name: string, workload: string): Container {
  const found = podSpecs(render(name).manifests).find(({ workload: w }) => w.metadata.name === workload);
  if (!found) throw new Error(`cannot find workload ${workload} in ${name}`);
  return allContainers(found.pod)[0]!;
}

describe('opentelemetry-collector', () => {
  interface CollectorConfig {
    exporters: { clickhouse: Record<string, unknown> };
    service: { pipelines: Record<string, { receivers: string[]; exporters: string[] }> };
  }
  const config = (name: string): CollectorConfig => {
    const cm = find(render(name).manifests, 'ConfigMap', 'understory-otel-collector');
    return parseYaml((cm.data as Record<string, string>)['config.yaml']!) as CollectorConfig;
  };

  it.each(SCENARIOS)('%s: writes our ClickHouse tables with the clickhouse exporter', (name) => {
    const c = config(name);
    const ch = c.exporters.clickhouse;
    expect(ch).toMatchObject({
      traces_table_name: 'otel_traces',
      logs_table_name: 'otel_logs',
      create_schema: false,
      // The collector's own environment substitution, not a JS template.
      password: ['$', '{env:UNDERSTORY_CLICKHOUSE_PASSWORD}'].join(''),
    });
    expect(c.service.pipelines.traces).toMatchObject({ receivers: ['otlp'], exporters: ['clickhouse'] });
    expect(c.service.pipelines.logs).toMatchObject({ receivers: ['otlp'], exporters: ['clickhouse'] });
    const values = parseYaml(readFileSync(scenarioFile(name), 'utf8')) as {
      clickhouse?: { database?: string; external?: { collectorEndpoint?: string } };
      retention?: { tracesDays?: number };
    };
    expect(ch.database).toBe(values.clickhouse?.database ?? 'default');
    expect(ch.ttl).toBe(`${(values.retention?.tracesDays ?? 7) * 24}h`);
    expect(ch.endpoint).toBe(
      values.clickhouse?.external?.collectorEndpoint ?? 'tcp://understory-clickhouse:9000?dial_timeout=10s',
    );
  });

  it('targets tables that our migrations create', () => {
    const sql = readdirSync(MIGRATIONS)
      .filter((f) => f.endsWith('.sql'))
      .map((f) => readFileSync(join(MIGRATIONS, f), 'utf8'))
      .join('\n');
    const c = config('default').exporters.clickhouse;
    for (const table of [c.traces_table_name, c.logs_table_name]) {
      expect(sql).toMatch(new RegExp(`CREATE TABLE IF NOT EXISTS ${String(table)} \\(`));
    }
  });
});

describe('storage modes', () => {
  const workloads = (name: string) =>
    podSpecs(render(name).manifests)
      .map(({ workload }) => `${workload.kind}/${workload.metadata.name}`)
      .sort();

  it('default: standalone ClickHouse and single-node VictoriaMetrics', () => {
    expect(workloads('default')).toEqual([
      'DaemonSet/understory-sensor',
      'Deployment/understory-ingester',
      'Deployment/understory-k8s-watcher',
      'Deployment/understory-monitors',
      'Deployment/understory-otel-collector',
      'Deployment/understory-portal',
      'Deployment/understory-vmagent',
      'Job/understory-migrate',
      'StatefulSet/understory-clickhouse',
      'StatefulSet/understory-victoria-metrics',
    ]);
    expect(flag(container('default', 'understory-ingester'), '--vm-url')).toBe(
      'http://understory-victoria-metrics:8428',
    );
    expect(flag(container('default', 'understory-vmagent'), '-remoteWrite.url')).toBe(
      'http://understory-victoria-metrics:8428/api/v1/write',
    );
    expect(flag(container('default', 'understory-portal'), '--vm-url')).toBe(
      'http://understory-victoria-metrics:8428',
    );
    expect(flag(container('default', 'understory-portal'), '--clickhouse')).toBe(
      'http://understory-clickhouse:8123',
    );
    const migrate = container('default', 'understory-migrate');
    expect(flag(migrate, '--clickhouse-url')).toBe('http://understory-clickhouse:8123');
    expect(flag(migrate, '--clickhouse-database')).toBe('default');
    expect(migrate.args).not.toContain('--replicated');
  });

  it('cluster: replicated ClickHouse with Keeper, and vminsert/vmselect/vmstorage', () => {
    const { manifests } = render('cluster');
    expect(workloads('cluster')).toEqual([
      'DaemonSet/understory-sensor',
      'Deployment/understory-ingester',
      'Deployment/understory-k8s-watcher',
      'Deployment/understory-monitors',
      'Deployment/understory-otel-collector',
      'Deployment/understory-portal',
      'Deployment/understory-vmagent',
      'Deployment/understory-vminsert',
      'Deployment/understory-vmselect',
      'Job/understory-migrate',
      'StatefulSet/understory-clickhouse',
      'StatefulSet/understory-clickhouse-keeper',
      'StatefulSet/understory-vmstorage',
    ]);
    const replicas = (kind: string, n: string) =>
      (find(manifests, kind, n).spec as { replicas: number }).replicas;
    expect(replicas('StatefulSet', 'understory-clickhouse')).toBe(3);
    expect(replicas('StatefulSet', 'understory-clickhouse-keeper')).toBe(3);
    expect(replicas('StatefulSet', 'understory-vmstorage')).toBe(3);

    const nodes = (port: number) =>
      [0, 1, 2]
        .map((i) => `understory-vmstorage-${i}.understory-vmstorage-headless.understory.svc:${port}`)
        .join(',');
    const vminsert = container('cluster', 'understory-vminsert');
    expect(flag(vminsert, '-storageNode')).toBe(nodes(8400));
    expect(flag(vminsert, '-replicationFactor')).toBe('2');
    expect(flag(container('cluster', 'understory-vmselect'), '-storageNode')).toBe(nodes(8401));
    expect(flag(container('cluster', 'understory-ingester'), '--vm-url')).toBe(
      'http://understory-vminsert:8480/insert/0/prometheus',
    );
    expect(flag(container('cluster', 'understory-portal'), '--vm-url')).toBe(
      'http://understory-vmselect:8481/select/0/prometheus',
    );

    const chConfig = (find(manifests, 'ConfigMap', 'understory-clickhouse').data as Record<string, string>)[
      'understory.xml'
    ]!;
    for (const i of [0, 1, 2]) {
      expect(chConfig).toContain(
        `<host>understory-clickhouse-keeper-${i}.understory-clickhouse-keeper-headless.understory.svc</host>`,
      );
      expect(chConfig).toContain(
        `<host>understory-clickhouse-${i}.understory-clickhouse-headless.understory.svc</host>`,
      );
    }
    const keeperConfig = (
      find(manifests, 'ConfigMap', 'understory-clickhouse-keeper').data as Record<string, string>
    )['keeper_config.xml']!;
    expect(keeperConfig.match(/<server>/g)).toHaveLength(3);
    expect(keeperConfig).toContain('<id>3</id>');
    const migrate = container('cluster', 'understory-migrate');
    expect(migrate.args).toEqual(expect.arrayContaining(['--replicated', '--cluster=understory']));
    expect(flag(migrate, '--clickhouse-database')).toBe('understory');
    expect(flag(container('cluster', 'understory-portal'), '--clickhouse')).toBe(
      'http://understory-clickhouse:8123/understory',
    );
  });

  it('external: deploys no store and points every component at the given URLs', () => {
    const { manifests } = render('external');
    expect(byKind(manifests, 'StatefulSet')).toEqual([]);
    const values = parseYaml(readFileSync(scenarioFile('external'), 'utf8')) as {
      clickhouse: { external: { url: string } };
      victoriaMetrics: { external: { writeUrl: string; readUrl: string } };
    };
    const chUrl = `${values.clickhouse.external.url}/understory_prod`;
    const { writeUrl, readUrl } = values.victoriaMetrics.external;
    expect(flag(container('external', 'understory-ingester'), '--vm-url')).toBe(writeUrl);
    expect(flag(container('external', 'understory-vmagent'), '-remoteWrite.url')).toBe(
      `${writeUrl}/api/v1/write`,
    );
    expect(flag(container('external', 'understory-portal'), '--vm-url')).toBe(readUrl);
    expect(flag(container('external', 'understory-portal'), '--clickhouse')).toBe(chUrl);
    for (const w of ['understory-portal', 'understory-k8s-watcher', 'understory-migrate']) {
      const c = container('external', w);
      if (w === 'understory-k8s-watcher') expect(flag(c, '--clickhouse-url'), w).toBe(chUrl);
      expect(flag(c, '--clickhouse-user'), w).toBe('understory_writer');
      // The password is a file from the named existing Secret, never a flag or an environment variable.
      expect(flag(c, '--clickhouse-password-file'), w).toBe(
        '/var/run/secrets/understory/clickhouse/password',
      );
      const pod = podSpecs(manifests).find((p) => p.workload.metadata.name === w)!.pod;
      expect(pod.volumes, w).toContainEqual({
        name: 'clickhouse-password',
        secret: { secretName: 'clickhouse-credentials', items: [{ key: 'password', path: 'password' }] },
      });
    }
    const migrate = container('external', 'understory-migrate');
    expect(flag(migrate, '--clickhouse-url')).toBe(values.clickhouse.external.url);
    expect(flag(migrate, '--clickhouse-database')).toBe('understory_prod');
  });
});

describe('retention per data type', () => {
  it.each([
    ['default', ['7', '7', '30'], '30d'],
    ['cluster', ['14', '30', '90'], '1y'],
    ['minimal', ['1', '1', '3'], '3d'],
  ])(
    '%s: traces/logs/events days reach the migration, metrics reach VictoriaMetrics',
    (name, days, metrics) => {
      const migrate = container(name, 'understory-migrate');
      expect([
        flag(migrate, '--traces-retention-days'),
        flag(migrate, '--logs-retention-days'),
        flag(migrate, '--events-retention-days'),
      ]).toEqual(days);
      const vm = name === 'cluster' ? 'understory-vmstorage' : 'understory-victoria-metrics';
      expect(flag(container(name, vm), '-retentionPeriod')).toBe(metrics);
    },
  );
});

describe('the install command the edge shows', () => {
  // The very command string the UI shows (edge/src/clusters/connectCommands.ts), run as `helm template`.
  it('installs the chart as it is, with the values the edge sets', async () => {
    const token = 'ust_cit_abc-DEF_123';
    const { helm } = connectCommands({
      edgeUrl: 'https://edge.example.com/x',
      installToken: token,
      clusterName: 'prod-eu',
    });
    const words = helm.split(' ');
    expect(words.slice(0, 3)).toEqual(['helm', 'upgrade', '--install']);
    const [release, chartPath, ...flags] = words.slice(3);
    expect(join(REPO_ROOT, chartPath!)).toBe(CHART_DIR.replace(/\/$/, ''));
    const set: string[] = [];
    let namespace = '';
    for (let i = 0; i < flags.length; i++) {
      if (flags[i] === '--set') set.push(flags[++i]!);
      else if (flags[i] === '--namespace') namespace = flags[++i]!;
      else expect(flags[i]).toBe('--create-namespace');
    }
    expect(set.map((s) => s.split('=')[0])).toEqual(['portal.edgeUrl', 'portal.installToken', 'clusterName']);

    const r = await renderChart({ release, namespace, set });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const manifests = parseManifests(r.stdout);
    expect(manifests.every((m) => m.metadata.name.startsWith(`${release}-`))).toBe(true);
    const secret = find(manifests, 'Secret', `${release}-portal`);
    expect(Buffer.from((secret.data as Record<string, string>)['install-token']!, 'base64').toString()).toBe(
      token,
    );
    const pods = podSpecs(manifests);
    const portal = pods.find((p) => p.workload.metadata.name === `${release}-portal`)!.pod.containers[0]!;
    expect(flag(portal, '--edge-url')).toBe('https://edge.example.com');
    expect(flag(portal, '--install-token-file')).toBe('/var/run/secrets/understory/portal/install-token');
    const watcher = pods.find((p) => p.workload.metadata.name === `${release}-k8s-watcher`)!.pod
      .containers[0]!;
    expect(flag(watcher, '--cluster-name')).toBe('prod-eu');
    const sensor = pods.find((p) => p.workload.kind === 'DaemonSet')!.pod.containers[0]!;
    expect(sensor.env).toContainEqual({ name: 'UNDERSTORY_CLUSTER_NAME', value: 'prod-eu' });
    // The token itself never appears in a pod spec, only the path of the mounted Secret.
    expect(JSON.stringify(pods)).not.toContain(token);
  });

  it('generates the sensor-API token and the ClickHouse password at random', async () => {
    const secrets = async () => {
      const r = await renderChart({ valuesFiles: [scenarioFile('default')] });
      const m = parseManifests(r.stdout);
      const token = (find(m, 'Secret', 'understory-sensor-api-token').data as Record<string, string>).token!;
      const password = (find(m, 'Secret', 'understory-clickhouse').data as Record<string, string>).password!;
      return [token, password].map((v) => Buffer.from(v, 'base64').toString());
    };
    const [a, b] = [await secrets(), await secrets()];
    for (const v of [...a, ...b]) expect(v).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(a[0]).not.toBe(b[0]);
    expect(a[1]).not.toBe(b[1]);
    expect(a[0]).not.toBe(a[1]);
  });
});

describe('inconsistent values are refused with a clear message', () => {
  const base = ['clusterName=c1', 'portal.edgeUrl=https://edge.example.com', 'portal.installToken=t'];
  it.each([
    [['clusterName=Prod_EU'], 'clusterName must be set to a DNS label'],
    [['clickhouse.mode=external'], 'clickhouse.mode is external but clickhouse.external.url is empty'],
    [
      ['victoriaMetrics.mode=external'],
      'victoriaMetrics.mode is external but victoriaMetrics.external.writeUrl',
    ],
    [
      ['clickhouse.mode=replicated', 'clickhouse.database=understory', 'clickhouse.keeper.replicas=2'],
      'clickhouse.keeper.replicas must be odd',
    ],
    [
      ['victoriaMetrics.mode=cluster', 'victoriaMetrics.cluster.replicationFactor=4'],
      'victoriaMetrics.cluster.replicationFactor must not exceed',
    ],
    [['retention.logsDays=0'], 'retention.logsDays must be a whole number of days'],
    [['retention.metrics=30days'], 'retention.metrics must look like 30d'],
    [['portal.edgeUrl=https://edge.example.com/app'], "portal.edgeUrl must be the edge's origin"],
    [['portal.installToken='], 'portal.installToken (or portal.existingSecret) is required'],
    [['clickhouse.user=bad user'], 'clickhouse.user must match'],
    [['clickhouse.mode=replicated'], 'clickhouse.mode replicated needs its own database'],
    [['alerting.vmalert.evaluationInterval=30'], 'alerting.vmalert.evaluationInterval must look like 30s'],
  ])('%j', async (extra, message) => {
    // --skip-schema-validation: these checks are the chart's own, behind values.schema.json.
    const r = await renderChart({ set: [...base, ...extra], extraArgs: ['--skip-schema-validation'] });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot render the chart: ${message}`);
  });

  it('renders with the same values minus the bad one (the table above tests the checks, not typos)', async () => {
    expect((await renderChart({ set: base })).code).toBe(0);
  });
});

describe('values.yaml', () => {
  it.each([
    ['portal.edgeURL=https://edge.example.com', "at '/portal': additional properties 'edgeURL' not allowed"],
    ['ingester.replicas=two', "at '/ingester/replicas': got string, want integer"],
    [
      'clickhouse.mode=sharded',
      "at '/clickhouse/mode': value must be one of 'standalone', 'replicated', 'external'",
    ],
    ['victoriaMetrics.mode=cluser', "at '/victoriaMetrics/mode': value must be one of"],
    ['retention.tracesDays=1.5', "at '/retention/tracesDays': got string, want integer"],
    ['sensor.image.pullPolicy=Sometimes', "at '/sensor/image/pullPolicy': value must be one of"],
  ])('refuses a misspelt or mistyped value: %s', async (set, where) => {
    const r = await renderChart({
      set: ['clusterName=c1', 'portal.edgeUrl=https://edge.example.com', 'portal.installToken=t', set],
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    expect(r.stderr).toContain(where);
  });

  it('documents every key with a comment', () => {
    const doc = parseDocument(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));
    const missing: string[] = [];
    let checked = 0;
    const walk = (map: YAMLMap, path: string) => {
      map.items.forEach((pair, i) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        // The first key of a map carries its comment on the map itself when it follows a parent key.
        const comment =
          (pair.key as { commentBefore?: string }).commentBefore ?? (i === 0 ? map.commentBefore : undefined);
        checked++;
        if (!comment) missing.push(`${path}${key}`);
        if (isMap(pair.value)) walk(pair.value, `${path}${key}.`);
        else if (isSeq(pair.value)) {
          // Items of default lists (tolerations) are examples, documented by their parent's comment.
        }
      });
    };
    walk(doc.contents as YAMLMap, '');
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(150);
  });
});
