import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CHART_DIR,
  lintChart,
  maskGenerated,
  type Rendered,
  renderChart,
  renderScenarios,
  SCENARIOS,
  scenarioFile,
  scenarios,
} from './chartRender.ts';
import { runHelm } from './helmBinary.ts';
import { type Manifest, validateManifest } from './k8sSchema.ts';

// Golden renders: compared byte for byte (generated secrets masked); UPDATE_GOLDENS=1 rewrites them.
const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDENS === '1';

let renders = new Map<string, Rendered>();
const render = (name: string): Rendered => renders.get(name)!;

beforeAll(async () => {
  renders = await renderScenarios();
});

describe('helm lint and template', () => {
  it('has exactly the expected ci scenarios', () => {
    expect(scenarios()).toEqual(SCENARIOS);
  });

  it.each(['', ...SCENARIOS])('lints cleanly with values %s', async (name) => {
    const r = await lintChart(name ? [scenarioFile(name)] : []);
    expect(r.stderr + r.stdout).toContain('0 chart(s) failed');
    expect(r.code).toBe(0);
  });

  it('refuses the bare defaults with a message naming what the install command provides', async () => {
    const r = await renderChart();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('cannot render the chart: clusterName must be set');
  });

  it('packages without the repository-only files', async () => {
    const out = mkdtempSync(join(tmpdir(), 'understory-chart-'));
    try {
      const r = await runHelm(['package', CHART_DIR, '--destination', out]);
      expect(r.code).toBe(0);
      const files = execFileSync('tar', ['tzf', join(out, 'understory-0.1.0.tgz')], {
        encoding: 'utf8',
      }).split('\n');
      expect(files).toContain('understory/values.schema.json');
      expect(files).toContain('understory/templates/sensor-daemonset.yaml');
      expect(files).not.toContain('understory/biome.json');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it.each([
    ['1.28.0', true],
    ['1.35.0', true],
    ['1.27.9', false],
  ])('respects the chart kubeVersion (>= 1.28) at Kubernetes %s', async (version, ok) => {
    const r = await runHelm([
      'template',
      'understory',
      CHART_DIR,
      '--kube-version',
      version,
      '--values',
      scenarioFile('cluster'),
    ]);
    if (ok) expect(r.stderr).toBe('');
    else expect(r.stderr).toContain('is incompatible with Kubernetes');
    expect(r.code === 0).toBe(ok);
  });

  it('installs offline (helm install --dry-run=client), hooks and notes included', async () => {
    const r = await runHelm([
      'install',
      'understory',
      CHART_DIR,
      '--namespace',
      'understory',
      '--dry-run=client',
      '--values',
      scenarioFile('default'),
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('helm.sh/hook: post-install,post-upgrade');
    expect(r.stdout).toContain(
      'kubectl label namespace understory pod-security.kubernetes.io/enforce=privileged',
    );
    expect(r.stdout).toContain('understory-otel-collector.understory:4317');
  });

  it.each(SCENARIOS)('%s: every manifest passes the Kubernetes schemas and strict fields', async (name) => {
    const { manifests } = render(name);
    expect(manifests.length).toBeGreaterThan(10);
    const errors = (await Promise.all(manifests.map(validateManifest))).flat();
    expect(errors).toEqual([]);
  });

  it.each(SCENARIOS)('%s: matches its golden render', (name) => {
    const got = maskGenerated(render(name).text);
    const file = join(TESTDATA, `${name}.yaml`);
    if (UPDATE || !existsSync(file)) {
      if (!UPDATE) throw new Error(`no golden ${file}: run with UPDATE_GOLDENS=1`);
      mkdirSync(TESTDATA, { recursive: true });
      writeFileSync(file, got);
    }
    expect(got).toBe(readFileSync(file, 'utf8'));
  });

  it('keeps no golden without a scenario', () => {
    const goldens = readdirSync(TESTDATA).filter((f) => f.endsWith('.yaml'));
    expect(goldens.sort()).toEqual(SCENARIOS.map((s) => `${s}.yaml`));
  });
});

describe('the validator itself', () => {
  const base = (container: Record<string, unknown>): Manifest => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', ...container }] } },
    },
  });

  it('accepts a valid object', async () => {
    expect(await validateManifest(base({ image: 'i:1' }))).toEqual([]);
  });
  it('reports a misspelt field', async () => {
    expect(await validateManifest(base({ imagee: 'i:1' }))).toEqual([
      'Deployment/x: /spec/template/spec/containers/0/imagee: unknown field (not in V1Container)',
    ]);
  });
  it('reports a wrong type and a missing required field', async () => {
    const errs = await validateManifest(base({ ports: [{ containerPort: 'http' }] }));
    expect(errs.join('\n')).toContain(
      '/spec/template/spec/containers/0/ports/0/containerPort must be integer',
    );
    const noSelector = base({});
    delete (noSelector.spec as Record<string, unknown>).selector;
    expect((await validateManifest(noSelector)).join('\n')).toContain(
      '/spec must have required property selector',
    );
  });
  it('reports a kind it has no schema for', async () => {
    const errs = await validateManifest({ apiVersion: 'v1', kind: 'Nonsense', metadata: { name: 'n' } });
    expect(errs).toEqual(['Nonsense/n: no schema for v1 Nonsense']);
  });
});
