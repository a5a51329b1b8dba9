import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { type HelmResult, helmBinary, runHelm } from './helmBinary.ts';
import type { Manifest } from './k8sSchema.ts';

/** Renders infra/helm/understory with helm and parses the result; shared by the chart's tests. */
export const CHART_DIR = fileURLToPath(new URL('./understory/', import.meta.url));
export const CI_DIR = join(CHART_DIR, 'ci');

/** The scenarios under ci/: `<name>-values.yaml`. */
export function scenarios(): string[] {
  return readdirSync(CI_DIR)
    .filter((f) => f.endsWith('-values.yaml'))
    .map((f) => f.slice(0, -'-values.yaml'.length))
    .sort();
}

export function scenarioFile(name: string): string {
  return join(CI_DIR, `${name}-values.yaml`);
}

export interface RenderOptions {
  valuesFiles?: string[];
  /** `--set key=value` pairs, as the edge's install command passes them. */
  set?: string[];
  release?: string;
  namespace?: string;
  extraArgs?: string[];
}

export function renderChart(opts: RenderOptions = {}): Promise<HelmResult> {
  const args = [
    'template',
    opts.release ?? 'understory',
    CHART_DIR,
    '--namespace',
    opts.namespace ?? 'understory',
  ];
  for (const f of opts.valuesFiles ?? []) args.push('--values', f);
  for (const s of opts.set ?? []) args.push('--set', s);
  args.push(...(opts.extraArgs ?? []));
  return runHelm(args);
}

export function lintChart(valuesFiles: string[] = []): Promise<HelmResult> {
  const args = ['lint', '--strict', CHART_DIR];
  for (const f of valuesFiles) args.push('--values', f);
  return runHelm(args);
}

/** Every non-empty YAML document of a render, parsed; a YAML syntax error throws with its position. */
export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`cannot parse rendered YAML: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as Manifest | null;
    if (value !== null) out.push(value);
  }
  return out;
}

/**
 * Replaces the values of Secrets annotated `understory.dev/generated: "true"` (random by design) with
 * `<generated>`, so golden renders stay stable while every other byte is compared.
 */
export function maskGenerated(text: string): string {
  return text
    .split(/^---$/m)
    .map((doc) => {
      if (!/understory\.dev\/generated: "true"/.test(doc)) return doc;
      return doc.replace(/^(data:\n)((?: {2}[\w.-]+: .*\n?)+)/m, (_all, head: string, body: string) => {
        return head + body.replace(/^( {2}[\w.-]+: ).*$/gm, '$1<generated>');
      });
    })
    .join('---');
}

export function byKind(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter((m) => m.kind === kind);
}

export function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`cannot find ${kind}/${name} in the render`);
  return m;
}

export interface Rendered {
  text: string;
  manifests: Manifest[];
}

/** sha256 over every file of the chart (paths and bytes): renders are reused only for identical charts. */
function chartDigest(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else h.update(path).update(readFileSync(path));
    }
  };
  walk(CHART_DIR);
  return h.digest('hex');
}

/**
 * Renders every ci scenario (for a test file's beforeAll); a scenario that fails to render throws. Several
 * test files need the same renders: the text is cached under node_modules/.cache, keyed by the chart's digest
 * (random secrets differ between renders, which no test compares across files).
 */
export async function renderScenarios(): Promise<Map<string, Rendered>> {
  const cacheDir = join(dirname(helmBinary()), 'renders', chartDigest());
  mkdirSync(cacheDir, { recursive: true });
  const out = new Map<string, Rendered>();
  for (const name of scenarios()) {
    const cached = join(cacheDir, `${name}.yaml`);
    let text: string;
    if (existsSync(cached)) text = readFileSync(cached, 'utf8');
    else {
      const r = await renderChart({ valuesFiles: [scenarioFile(name)] });
      if (r.code !== 0) throw new Error(`cannot render scenario ${name}: ${r.stderr}`);
      text = r.stdout;
      const tmp = `${cached}.${process.pid}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, cached);
    }
    out.set(name, { text, manifests: parseManifests(text) });
  }
  return out;
}

/** The ci scenarios the tests expect; a new ci file must be added here (and get a golden). */
export const SCENARIOS = ['cluster', 'default', 'external', 'minimal'];
