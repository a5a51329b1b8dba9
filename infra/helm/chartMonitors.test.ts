import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetSecretKeys } from '../../incloud/monitors/targetSecrets.ts';
import {
  byKind,
  find,
  parseManifests,
  type Rendered,
  renderChart,
  renderScenarios,
  SCENARIOS,
  scenarioFile,
} from './chartRender.ts';
import type { Manifest } from './k8sSchema.ts';
import { type Container, flag, type PodSpec, podSpecs } from './podSpecs.ts';

// The monitors pod (alerting.*): the evaluator and vmalert wired to each other over loopback and to the stores
// of each mode, the target secrets key shared with the portal, and nothing of it when alerting is off.
let renders = new Map<string, Rendered>();
const render = (name: string): Rendered => renders.get(name)!;
const dir = mkdtempSync(join(tmpdir(), 'understory-chart-monitors-'));

beforeAll(async () => {
  renders = await renderScenarios();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pod(manifests: Manifest[], name: string): { workload: Manifest; pod: PodSpec } {
  const found = podSpecs(manifests).find((p) => p.workload.metadata.name === name);
  if (!found) throw new Error(`cannot find ${name}`);
  return found;
}
const containerOf = (p: PodSpec, name: string): Container => p.containers.find((c) => c.name === name)!;
const KEY_FILE = '/var/run/secrets/understory/monitors/key';

describe('the monitors pod', () => {
  it.each(SCENARIOS)('%s: one evaluator, replaced (never two at once), wired to its vmalert', (name) => {
    const { workload, pod: p } = pod(render(name).manifests, 'understory-monitors');
    const spec = workload.spec as { replicas: number; strategy: { type: string } };
    expect(spec.replicas).toBe(1);
    expect(spec.strategy.type).toBe('Recreate');
    expect(p.containers.map((c) => c.name)).toEqual(['evaluator', 'vmalert']);
    const evaluator = containerOf(p, 'evaluator');
    const vmalert = containerOf(p, 'vmalert');
    expect(evaluator.args?.[0]).toBe('monitors');
    // Loopback both ways: vmalert's API for the evaluator, the evaluator's receiver (loopback only) for vmalert.
    // vmalert also listens on the pod IP, on its declared port, for vmagent (/metrics) and its probes.
    const vmalertPort = flag(vmalert, '-httpListenAddr')!.replace(/^:/, '');
    expect(flag(vmalert, '-httpListenAddr')).toBe(`:${vmalertPort}`);
    expect(flag(evaluator, '--vmalert-url')).toBe(`http://127.0.0.1:${vmalertPort}`);
    expect(flag(vmalert, '-notifier.url')).toBe(
      `http://${flag(evaluator, '--alerts-host')}:${flag(evaluator, '--alerts-port')}`,
    );
    expect(flag(evaluator, '--alerts-host')).toBe('127.0.0.1');
    const declared = vmalert as Container & {
      ports?: { name: string; containerPort: number }[];
      readinessProbe?: { httpGet: { path: string; port: string } };
    };
    expect(declared.ports).toEqual([
      { name: 'vmalert', containerPort: Number(vmalertPort), protocol: 'TCP' },
    ]);
    expect(declared.readinessProbe?.httpGet).toEqual({ path: '/health', port: 'vmalert' });
    // The evaluator writes the file vmalert's glob reads, on one emptyDir (read-only for vmalert).
    expect(flag(evaluator, '--rules-file')).toBe('/rules/rules.json');
    expect(flag(vmalert, '-rule')).toBe('/rules/*.json');
    const rulesVolume = (p.volumes ?? []).find((v) => v.name === 'rules') as { emptyDir?: object };
    expect(rulesVolume.emptyDir).toBeDefined();
    expect(evaluator.volumeMounts).toContainEqual({ name: 'rules', mountPath: '/rules' });
    expect(vmalert.volumeMounts).toEqual([{ name: 'rules', mountPath: '/rules', readOnly: true }]);
    // vmalert and the evaluator's PromQL check read the same VictoriaMetrics.
    expect(flag(evaluator, '--vm-url')).toBe(flag(vmalert, '-datasource.url'));
    expect(p.automountServiceAccountToken).toBe(false);
    expect(workload.spec).toMatchObject({
      template: {
        metadata: {
          annotations: {
            'understory.dev/metrics-port': flag(evaluator, '--admin-port'),
            // vmalert's /metrics (rule evaluation errors): vmagent's understory-sidecars job.
            'understory.dev/sidecar-metrics-port': vmalertPort,
          },
        },
      },
    });
  });

  it('runs the vmalert of the VictoriaMetrics release the chart deploys', () => {
    const tag = (name: string, workload: string, c: string) =>
      containerOf(pod(render(name).manifests, workload).pod, c).image.split(':')[1];
    const vmalert = tag('default', 'understory-monitors', 'vmalert');
    expect(vmalert).toMatch(/^v1\.\d+\.\d+$/);
    expect(tag('default', 'understory-victoria-metrics', 'victoria-metrics')).toBe(vmalert);
    expect(tag('default', 'understory-vmagent', 'vmagent')).toBe(vmalert);
    expect(tag('cluster', 'understory-vmselect', 'vmselect')).toBe(`${vmalert}-cluster`);
  });

  it('reads and writes the stores of each mode (vmselect reads, vminsert alert state)', () => {
    const vmalert = (name: string) =>
      containerOf(pod(render(name).manifests, 'understory-monitors').pod, 'vmalert');
    const evaluator = (name: string) =>
      containerOf(pod(render(name).manifests, 'understory-monitors').pod, 'evaluator');
    expect(flag(vmalert('default'), '-datasource.url')).toBe('http://understory-victoria-metrics:8428');
    expect(flag(vmalert('default'), '-remoteWrite.url')).toBe('http://understory-victoria-metrics:8428');
    expect(flag(vmalert('default'), '-remoteRead.url')).toBe('http://understory-victoria-metrics:8428');
    expect(flag(evaluator('default'), '--clickhouse')).toBe('http://understory-clickhouse:8123');

    expect(flag(vmalert('cluster'), '-datasource.url')).toBe(
      'http://understory-vmselect:8481/select/0/prometheus',
    );
    expect(flag(vmalert('cluster'), '-remoteRead.url')).toBe(
      'http://understory-vmselect:8481/select/0/prometheus',
    );
    expect(flag(vmalert('cluster'), '-remoteWrite.url')).toBe(
      'http://understory-vminsert:8480/insert/0/prometheus',
    );
    expect(flag(vmalert('cluster'), '-evaluationInterval')).toBe('1m');
    expect(flag(evaluator('cluster'), '--clickhouse')).toBe('http://understory-clickhouse:8123/understory');

    expect(flag(vmalert('external'), '-datasource.url')).toBe(
      'http://vmselect.observability.svc:8481/select/0/prometheus',
    );
    expect(flag(vmalert('external'), '-remoteWrite.url')).toBe(
      'http://vminsert.observability.svc:8480/insert/0/prometheus',
    );
    expect(flag(evaluator('external'), '--clickhouse')).toBe(
      'https://clickhouse.observability.svc:8443/understory_prod',
    );
    expect(flag(evaluator('external'), '--clickhouse-user')).toBe('understory_writer');

    // minimal: alert state not persisted (alerting.vmalert.persistState=false).
    expect(flag(vmalert('minimal'), '-remoteWrite.url')).toBeUndefined();
    expect(flag(vmalert('minimal'), '-remoteRead.url')).toBeUndefined();
  });

  it.each(['default', 'cluster'])(
    '%s: the stores admit the monitors pod, which admits only vmagent',
    (name) => {
      const policies = byKind(render(name).manifests, 'NetworkPolicy');
      const admitted = (component: string, port: number) => {
        const p = policies.find((x) => x.metadata.name === `understory-${component}`)!;
        const rules = (
          p.spec as {
            ingress: {
              from: { podSelector: { matchExpressions: { values: string[] }[] } }[];
              ports: { port: number }[];
            }[];
          }
        ).ingress;
        return rules
          .filter((r) => r.ports.some((x) => x.port === port))
          .flatMap((r) => r.from.flatMap((f) => f.podSelector.matchExpressions[1]!.values));
      };
      expect(admitted('clickhouse', 8123)).toContain('monitors');
      if (name === 'default') expect(admitted('victoria-metrics', 8428)).toContain('monitors');
      else {
        expect(admitted('vmselect', 8481)).toContain('monitors');
        expect(admitted('vminsert', 8480)).toContain('monitors');
      }
      expect(admitted('monitors', 9473)).toEqual(['vmagent']);
      expect(admitted('monitors', 8880)).toEqual(['vmagent']);
      expect(admitted('monitors', 9093)).toEqual([]);
    },
  );
});

describe('the target secrets key', () => {
  it.each(SCENARIOS)(
    '%s: the portal and the evaluator mount the same Secret at the path their flag names',
    (name) => {
      const { manifests } = render(name);
      const secretName = name === 'cluster' ? 'understory-monitors-key' : 'understory-monitors-secrets-key';
      for (const [workload, c] of [
        ['understory-portal', 'portal'],
        ['understory-monitors', 'evaluator'],
      ] as const) {
        const { pod: p } = pod(manifests, workload);
        expect(flag(containerOf(p, c), '--secrets-key-file'), workload).toBe(KEY_FILE);
        expect(containerOf(p, c).volumeMounts, workload).toContainEqual({
          name: 'monitors-secrets-key',
          mountPath: '/var/run/secrets/understory/monitors',
          readOnly: true,
        });
        expect(p.volumes, workload).toContainEqual({
          name: 'monitors-secrets-key',
          secret: { secretName, items: [{ key: 'key', path: 'key' }] },
        });
      }
      const generated = byKind(manifests, 'Secret').filter(
        (s) => s.metadata.name === 'understory-monitors-secrets-key',
      );
      expect(generated).toHaveLength(name === 'cluster' ? 0 : 1);
    },
  );

  it('is generated as a key file `understory monitors` accepts, different on each install, kept on uninstall', async () => {
    const keyOf = async () => {
      const r = await renderChart({ valuesFiles: [scenarioFile('default')] });
      const secret = find(parseManifests(r.stdout), 'Secret', 'understory-monitors-secrets-key');
      expect(secret.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
      return Buffer.from((secret.data as Record<string, string>).key!, 'base64').toString();
    };
    const [a, b] = [await keyOf(), await keyOf()];
    expect(a).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(a).not.toBe(b);
    const file = join(dir, 'key');
    writeFileSync(file, a);
    const keys = TargetSecretKeys.fromFile(file);
    expect(keys.open('t', keys.seal('t', { url: 'https://x/y', headers: {} })).url).toBe('https://x/y');
  });
});

describe('alerting.enabled=false', () => {
  it('deploys no evaluator, vmalert, key or policy, and the portal gets no key', async () => {
    const r = await renderChart({ valuesFiles: [scenarioFile('default')], set: ['alerting.enabled=false'] });
    expect(r.code, r.stderr).toBe(0);
    const manifests = parseManifests(r.stdout);
    expect(manifests.filter((m) => /monitors/.test(m.metadata.name))).toEqual([]);
    const portal = containerOf(pod(manifests, 'understory-portal').pod, 'portal');
    expect(flag(portal, '--secrets-key-file')).toBeUndefined();
    expect(JSON.stringify(byKind(manifests, 'NetworkPolicy'))).not.toContain('monitors');
  });
});
