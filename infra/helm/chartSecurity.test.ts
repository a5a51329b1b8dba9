import { beforeAll, describe, expect, it } from 'vitest';
import { byKind, type Rendered, renderScenarios, SCENARIOS } from './chartRender.ts';
import type { Manifest } from './k8sSchema.ts';
import { allContainers, podSpecs } from './podSpecs.ts';

// Least privilege, as rendered: RBAC, the sensor's capabilities, every container's security context, and the
// NetworkPolicies in front of the data stores.
let renders = new Map<string, Rendered>();
const render = (name: string): Rendered => renders.get(name)!;

beforeAll(async () => {
  renders = await renderScenarios();
});

describe('k8s-watcher RBAC', () => {
  const EXPECTED = [
    '/events get,list,watch',
    '/namespaces get,list,watch',
    '/nodes get,list,watch',
    '/pods get,list,watch',
    '/services get,list,watch',
    'apps/daemonsets get,list,watch',
    'apps/deployments get,list,watch',
    'apps/replicasets get,list,watch',
    'apps/statefulsets get,list,watch',
    'batch/cronjobs get,list,watch',
    'batch/jobs get,list,watch',
    'discovery.k8s.io/endpointslices get,list,watch',
    'events.k8s.io/events get,list,watch',
  ];
  interface Rule {
    apiGroups: string[];
    resources: string[];
    verbs: string[];
    resourceNames?: string[];
    nonResourceURLs?: string[];
  }
  const flatten = (rules: Rule[]) =>
    rules
      .flatMap((r) => {
        expect(r.resourceNames ?? r.nonResourceURLs).toBeUndefined();
        return r.apiGroups.flatMap((g) =>
          r.resources.map((res) => `${g}/${res} ${[...r.verbs].sort().join(',')}`),
        );
      })
      .sort();

  it.each(SCENARIOS)(
    '%s: the only cluster-wide grant is read-only on exactly the watched resources',
    (name) => {
      const { manifests } = render(name);
      const roles = byKind(manifests, 'ClusterRole');
      expect(roles.map((r) => r.metadata.name)).toEqual(['understory-k8s-watcher']);
      expect(flatten(roles[0]!.rules as Rule[])).toEqual(EXPECTED);
      const bindings = byKind(manifests, 'ClusterRoleBinding');
      expect(bindings).toHaveLength(1);
      expect(bindings[0]).toMatchObject({
        roleRef: { kind: 'ClusterRole', name: 'understory-k8s-watcher' },
        subjects: [{ kind: 'ServiceAccount', name: 'understory-k8s-watcher', namespace: 'understory' }],
      });
    },
  );

  it.each(SCENARIOS)('%s: vmagent may only discover pods in its own namespace', (name) => {
    const roles = byKind(render(name).manifests, 'Role');
    const vmagentOn = name !== 'minimal';
    expect(roles).toHaveLength(vmagentOn ? 1 : 0);
    if (vmagentOn) expect(flatten(roles[0]!.rules as Rule[])).toEqual(['/pods get,list,watch']);
  });
});

describe('alligator (sensor DaemonSet)', () => {
  const CAPS = ['BPF', 'DAC_READ_SEARCH', 'PERFMON', 'SYS_ADMIN', 'SYS_PTRACE', 'SYS_RESOURCE'];
  const sensorPod = (name: string) => {
    const ds = byKind(render(name).manifests, 'DaemonSet');
    expect(ds.map((d) => d.metadata.name)).toEqual(['understory-sensor']);
    return podSpecs(ds)[0]!.pod;
  };

  it.each(SCENARIOS)(
    '%s: nothing in the chart is privileged; the sensor holds exactly the eBPF capabilities',
    (name) => {
      for (const { workload, pod } of podSpecs(render(name).manifests)) {
        for (const c of allContainers(pod)) {
          expect(c.securityContext?.privileged, `${workload.metadata.name}/${c.name}`).not.toBe(true);
        }
      }
      const pod = sensorPod(name);
      expect(pod.containers).toHaveLength(1);
      const sc = pod.containers[0]!.securityContext!;
      expect(sc.capabilities?.drop).toEqual(['ALL']);
      expect([...(sc.capabilities?.add ?? [])].sort()).toEqual(CAPS);
      expect(sc.allowPrivilegeEscalation).toBe(false);
      expect(sc.readOnlyRootFilesystem).toBe(true);
    },
  );

  it.each(SCENARIOS)('%s: host PID, read-only host mounts, every node tolerated', (name) => {
    const pod = sensorPod(name);
    expect(pod.hostPID).toBe(true);
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.automountServiceAccountToken).toBe(false);
    const hostPaths = new Map(
      (pod.volumes ?? []).flatMap((v) => (v.hostPath ? [[v.name, v.hostPath.path]] : [])),
    );
    const mounted = pod.containers[0]!.volumeMounts!.filter((m) => hostPaths.has(m.name));
    // The one writable host directory: the sensor's own state (log offsets), created for it.
    for (const m of mounted) expect(m.readOnly, m.mountPath).toBe(m.name === 'state' ? undefined : true);
    expect(hostPaths.get('state')).toBe('/var/lib/understory-sensor');
    expect(mounted.map((m) => hostPaths.get(m.name)).sort()).toEqual([
      '/proc',
      '/sys/fs/cgroup',
      '/sys/kernel/btf',
      '/sys/kernel/tracing',
      '/var/lib/understory-sensor',
      '/var/log/pods',
    ]);
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
  });
});

describe('security contexts', () => {
  it.each(SCENARIOS)('%s: every other container is non-root, read-only, without capabilities', (name) => {
    const checked: string[] = [];
    for (const { workload, pod } of podSpecs(render(name).manifests)) {
      if (workload.kind === 'DaemonSet') continue;
      for (const c of allContainers(pod)) {
        const where = `${workload.metadata.name}/${c.name}`;
        const sc = c.securityContext ?? {};
        expect(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, where).toBe(true);
        expect(sc.runAsUser ?? pod.securityContext?.runAsUser, where).toBeGreaterThan(0);
        expect(sc.allowPrivilegeEscalation, where).toBe(false);
        expect(sc.readOnlyRootFilesystem, where).toBe(true);
        expect(sc.capabilities, where).toEqual({ drop: ['ALL'] });
        checked.push(where);
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(5);
  });

  it.each(SCENARIOS)('%s: every container has a memory limit and a pinned image tag', (name) => {
    for (const { workload, pod } of podSpecs(render(name).manifests)) {
      for (const c of allContainers(pod)) {
        const where = `${workload.metadata.name}/${c.name}`;
        expect(c.resources?.limits?.memory, where).toMatch(/^[0-9]+[MG]i$/);
        expect(c.image, where).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+$/);
        expect(c.image, where).not.toMatch(/:latest$/);
      }
    }
  });

  it.each(SCENARIOS)('%s: only the k8s-watcher and vmagent get a Kubernetes API token', (name) => {
    const withToken = podSpecs(render(name).manifests)
      .filter(({ pod }) => pod.automountServiceAccountToken !== false)
      .map(({ workload }) => workload.metadata.name)
      .sort();
    expect(withToken).toEqual(
      name === 'minimal' ? ['understory-k8s-watcher'] : ['understory-k8s-watcher', 'understory-vmagent'],
    );
  });
});

describe('NetworkPolicies in front of the data stores', () => {
  interface Peer {
    podSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  }
  interface IngressRule {
    from: Peer[];
    ports: { port: number }[];
  }
  const component = (m: Manifest) => m.metadata.labels?.['app.kubernetes.io/component'];
  const EXPECTED: Record<string, string[]> = {
    default: ['clickhouse', 'monitors', 'victoria-metrics'],
    cluster: ['clickhouse', 'clickhouse-keeper', 'monitors', 'vminsert', 'vmselect', 'vmstorage'],
    // The monitors pod has one too (only vmagent, on its admin port): it is not a store but holds secrets.
    external: ['monitors'],
    minimal: [],
  };

  it.each(SCENARIOS)('%s: each store admits only components of this release that exist', (name) => {
    const { manifests } = render(name);
    const policies = byKind(manifests, 'NetworkPolicy');
    expect(policies.map(component).sort()).toEqual(EXPECTED[name]);
    const workloads = new Set(podSpecs(manifests).map(({ workload }) => component(workload)));
    for (const p of policies) {
      const spec = p.spec as { policyTypes: string[]; ingress: IngressRule[] };
      expect(spec.policyTypes).toEqual(['Ingress']);
      expect(spec.ingress.length).toBeGreaterThan(0);
      for (const rule of spec.ingress) {
        expect(rule.ports.length).toBeGreaterThan(0);
        for (const peer of rule.from) {
          const [instance, comp] = peer.podSelector.matchExpressions;
          expect(instance).toEqual({
            key: 'app.kubernetes.io/instance',
            operator: 'In',
            values: ['understory'],
          });
          expect(comp?.key).toBe('app.kubernetes.io/component');
          // A typo in a component name would silently block the real client.
          for (const v of comp!.values) expect(workloads, `${p.metadata.name} admits ${v}`).toContain(v);
        }
      }
    }
  });

  it('admits the writers and the reader of ClickHouse, and no one else, on the client ports', () => {
    const ch = byKind(render('default').manifests, 'NetworkPolicy').find(
      (p) => component(p) === 'clickhouse',
    )!;
    const rules = (ch.spec as { ingress: IngressRule[] }).ingress;
    const clients = rules.find((r) => r.ports.some((p) => p.port === 8123))!;
    expect(clients.from[0]!.podSelector.matchExpressions[1]!.values.sort()).toEqual([
      'k8s-watcher',
      'migrate',
      'monitors',
      'otel-collector',
      'portal',
    ]);
  });
});
