import { beforeAll, describe, expect, it } from 'vitest';
import { byKind, type Rendered, renderScenarios, SCENARIOS } from './chartRender.ts';
import type { Manifest } from './k8sSchema.ts';
import { allContainers, podSpecs } from './podSpecs.ts';

// Referential integrity of each render: what one object names, another must provide. These are the mistakes a
// schema cannot see (a Service selecting no pod, a port name nobody declares, a Secret nobody creates).
let renders = new Map<string, Rendered>();
const render = (name: string): Rendered => renders.get(name)!;

beforeAll(async () => {
  renders = await renderScenarios();
});

/** Secrets the ci values say exist already (existingSecret), per scenario. */
const EXISTING_SECRETS: Record<string, string[]> = {
  default: [],
  minimal: ['understory-install-token'],
  cluster: ['understory-install-token', 'understory-clickhouse', 'understory-monitors-key'],
  external: ['clickhouse-credentials'],
};

const labelsOf = (w: Manifest) =>
  (w.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('references inside each render', () => {
  it.each(SCENARIOS)('%s: every Service selects pods that declare its target ports', (name) => {
    const { manifests } = render(name);
    const workloads = podSpecs(manifests);
    for (const svc of byKind(manifests, 'Service')) {
      const spec = svc.spec as { selector: Record<string, string>; ports: { targetPort: string | number }[] };
      const backends = workloads.filter(({ workload }) => matches(spec.selector, labelsOf(workload)));
      expect(backends.length, `Service/${svc.metadata.name} selects nothing`).toBeGreaterThan(0);
      for (const { workload, pod } of backends) {
        const ports = pod.containers.flatMap(
          (c) => (c as { ports?: { name?: string; containerPort: number }[] }).ports ?? [],
        );
        for (const { targetPort } of spec.ports) {
          const found = ports.some((p) => p.name === targetPort || p.containerPort === targetPort);
          expect(found, `Service/${svc.metadata.name} -> ${workload.metadata.name}:${targetPort}`).toBe(true);
        }
      }
    }
  });

  it.each(SCENARIOS)('%s: PodDisruptionBudgets and NetworkPolicies select existing pods', (name) => {
    const { manifests } = render(name);
    const workloads = podSpecs(manifests).map(({ workload }) => labelsOf(workload));
    for (const m of [...byKind(manifests, 'PodDisruptionBudget'), ...byKind(manifests, 'NetworkPolicy')]) {
      const spec = m.spec as {
        selector?: { matchLabels: Record<string, string> };
        podSelector?: typeof spec.selector;
      };
      const selector = (spec.selector ?? spec.podSelector)!.matchLabels;
      expect(
        workloads.some((l) => matches(selector, l)),
        `${m.kind}/${m.metadata.name}`,
      ).toBe(true);
    }
  });

  it.each(SCENARIOS)('%s: StatefulSets name a headless Service that exists', (name) => {
    const { manifests } = render(name);
    const services = new Map(byKind(manifests, 'Service').map((s) => [s.metadata.name, s]));
    for (const sts of byKind(manifests, 'StatefulSet')) {
      const svc = services.get((sts.spec as { serviceName: string }).serviceName);
      expect(svc, `StatefulSet/${sts.metadata.name}`).toBeDefined();
    }
  });

  it.each(SCENARIOS)('%s: mounted ConfigMaps, Secrets, service accounts and volumes exist', (name) => {
    const { manifests } = render(name);
    const names = (kind: string) => new Set(byKind(manifests, kind).map((m) => m.metadata.name));
    const configMaps = names('ConfigMap');
    const secrets = new Set([...names('Secret'), ...EXISTING_SECRETS[name]!]);
    const accounts = names('ServiceAccount');
    for (const { workload, pod } of podSpecs(manifests)) {
      const where = workload.metadata.name;
      if (pod.serviceAccountName) expect(accounts, where).toContain(pod.serviceAccountName);
      const volumes = (pod.volumes ?? []) as {
        name: string;
        configMap?: { name: string };
        secret?: { secretName: string };
      }[];
      for (const v of volumes) {
        if (v.configMap) expect(configMaps, `${where} volume ${v.name}`).toContain(v.configMap.name);
        if (v.secret) expect(secrets, `${where} volume ${v.name}`).toContain(v.secret.secretName);
      }
      const claims = (
        (workload.spec as { volumeClaimTemplates?: { metadata: { name: string } }[] }).volumeClaimTemplates ??
        []
      ).map((c) => c.metadata.name);
      const declared = new Set([...volumes.map((v) => v.name), ...claims]);
      for (const c of allContainers(pod)) {
        for (const m of c.volumeMounts ?? [])
          expect(declared, `${where}/${c.name} mounts ${m.name}`).toContain(m.name);
        const env = (c.env ?? []) as { valueFrom?: { secretKeyRef?: { name: string } } }[];
        for (const e of env) {
          const ref = e.valueFrom?.secretKeyRef?.name;
          if (ref) expect(secrets, `${where}/${c.name} env`).toContain(ref);
        }
      }
    }
  });

  it.each(SCENARIOS)('%s: the scrape annotations name a declared container port', (name) => {
    let annotated = 0;
    for (const { workload, pod } of podSpecs(render(name).manifests)) {
      const ann = (workload.spec as { template: { metadata: { annotations?: Record<string, string> } } })
        .template.metadata.annotations;
      if (ann?.['understory.dev/scrape'] !== 'true') continue;
      annotated++;
      const port = Number(ann['understory.dev/metrics-port']);
      const ports = pod.containers.flatMap((c) => (c as { ports?: { containerPort: number }[] }).ports ?? []);
      expect(
        ports.map((p) => p.containerPort),
        workload.metadata.name,
      ).toContain(port);
      // A sidecar's /metrics (vmalert in the monitors pod): a declared port too, and not the main one.
      const sidecar = ann['understory.dev/sidecar-metrics-port'];
      if (sidecar === undefined) continue;
      expect(
        ports.map((p) => p.containerPort),
        `${workload.metadata.name} sidecar`,
      ).toContain(Number(sidecar));
      expect(Number(sidecar)).not.toBe(port);
    }
    expect(annotated).toBeGreaterThanOrEqual(5);
  });
});
