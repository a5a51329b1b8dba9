/**
 * End to end with the real pieces: `wrangler dev` (the edge worker, local D1 and the ClusterTunnel Durable
 * Object), a private VictoriaMetrics with a few series, the real Portal dialing the edge with the cluster's
 * install token, and promtool as the Prometheus client. promtool against the edge's per-cluster Prometheus URL
 * (basic auth, API token as password) must print exactly what it prints against VictoriaMetrics directly.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, WRANGLER_OFFLINE_ENV } from '../../cli/up/plan.ts';
import { freePort, waitForHttp } from '../testing/ports.ts';
import { VictoriaMetricsProcess } from '../testing/victoriaMetrics.ts';
import { Portal } from './portal.ts';

const run = promisify(execFile);
const wranglerBin = join(REPO_ROOT, 'node_modules', '.bin', 'wrangler');
const config = join(REPO_ROOT, 'wrangler.toml');
const env = { ...process.env, ...WRANGLER_OFFLINE_ENV, CI: 'true' };

let stateDir: string;
let wrangler: ChildProcess | undefined;
let edge: string;
const vm = new VictoriaMetricsProcess();
let portal: Portal | undefined;
let orgId: string;
let clusterId: string;
let readToken: string;
const nowS = Math.floor(Date.now() / 1000);

async function api<T>(method: string, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(edge + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return { json, res };
}

/** A few series over the last ten minutes, one sample a minute. */
async function loadSeries(): Promise<void> {
  const lines: string[] = [];
  for (const [job, instance, base] of [
    ['api', 'a:1', 10],
    ['api', 'a:2', 20],
    ['db', 'd:1', 5],
  ] as const) {
    const timestamps = Array.from({ length: 11 }, (_, i) => (nowS - 600 + i * 60) * 1000);
    const values = timestamps.map((_, i) => base + i * 3);
    lines.push(
      JSON.stringify({ metric: { __name__: 'requests_total', job, instance }, values, timestamps }),
      JSON.stringify({ metric: { __name__: 'up', job, instance }, values: values.map(() => 1), timestamps }),
    );
  }
  const res = await fetch(`${vm.url}/api/v1/import`, { method: 'POST', body: lines.join('\n') });
  expect(res.status).toBe(204);
  await vm.flush();
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'understory-edge-e2e-'));
  const [port, inspector] = [await freePort(), await freePort()];
  edge = `http://127.0.0.1:${port}`;
  await Promise.all([
    run(
      wranglerBin,
      ['d1', 'migrations', 'apply', 'DB', '--local', '--config', config, '--persist-to', stateDir],
      {
        env,
        cwd: REPO_ROOT,
      },
    ),
    vm.start().then(loadSeries),
  ]);
  wrangler = spawn(
    wranglerBin,
    [
      'dev',
      '--config',
      config,
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspector),
      '--persist-to',
      stateDir,
      '--show-interactive-dev-session=false',
    ],
    { env, cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  await waitForHttp(`${edge}/api/health`, 45_000, () => wrangler?.exitCode === null);

  const signup = await api<{ csrfToken: string }>(
    'POST',
    '/api/auth/signup',
    { email: 'e2e@example.com', password: 'a long enough password', name: 'E2E' },
    {},
  );
  const cookie = /^[^;]+/.exec(signup.res.headers.get('set-cookie') ?? '')![0];
  const as = { cookie, 'x-csrf-token': signup.json.csrfToken };
  orgId = (await api<{ id: string }>('POST', '/api/orgs', { name: 'E2E', slug: 'e2e' }, as)).json.id;
  const cluster = await api<{ id: string; installToken: string }>(
    'POST',
    `/api/orgs/${orgId}/clusters`,
    { name: 'local' },
    as,
  );
  clusterId = cluster.json.id;
  readToken = (
    await api<{ token: string }>(
      'POST',
      `/api/orgs/${orgId}/tokens`,
      { name: 'promtool', scopes: ['read'] },
      as,
    )
  ).json.token;

  portal = new Portal({
    edgeUrl: edge,
    installToken: cluster.json.installToken,
    victoriaMetricsUrl: vm.url,
    replicaId: 'e2e',
  });
  await portal.start();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const c = await api<{ status: string }>('GET', `/api/orgs/${orgId}/clusters/${clusterId}`, undefined, {
      authorization: `Bearer ${readToken}`,
    });
    if (c.json.status === 'connected') break;
    if (Date.now() > deadline)
      throw new Error(`portal did not connect: ${JSON.stringify(await portal.health())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 120_000);

afterAll(async () => {
  await portal?.shutdown();
  if (wrangler?.pid !== undefined && wrangler.exitCode === null) {
    const exited = new Promise((r) => wrangler!.once('exit', r));
    process.kill(-wrangler.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (wrangler.exitCode === null) process.kill(-wrangler.pid, 'SIGKILL');
  }
  await vm.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 30_000);

async function promtool(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run('promtool', args, { timeout: 20_000 });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('promtool through the edge and the tunnel', () => {
  const at = new Date((nowS - 60) * 1000).toISOString();
  const viaEdge = () =>
    `http://promtool:${readToken}@127.0.0.1:${new URL(edge).port}/api/orgs/${orgId}/clusters/${clusterId}/prometheus`;

  it.each([
    ['instant', ['query', 'instant', '-o', 'json', '--time', at], 'sum by (job) (rate(requests_total[5m]))'],
    ['instant vector', ['query', 'instant', '-o', 'json', '--time', at], 'up{job="api"}'],
    [
      'range',
      ['query', 'range', '-o', 'json', '--start', String(nowS - 600), '--end', String(nowS), '--step', '60s'],
      'requests_total{instance="a:1"}',
    ],
    ['labels', ['query', 'labels'], 'job'],
  ])('%s answers equal VictoriaMetrics', async (_label, args, expr) => {
    const [cmd, sub, ...rest] = args as [string, string, ...string[]];
    const direct = await promtool([cmd, sub, ...rest, vm.url, expr]);
    const tunneled = await promtool([cmd, sub, ...rest, viaEdge(), expr]);
    expect(direct.code, direct.out).toBe(0);
    expect(direct.out).toMatch(expr === 'job' ? /api\ndb/ : /"job":"api"/);
    expect(tunneled).toEqual(direct);
  });

  it('series answers equal VictoriaMetrics', async () => {
    const args = [
      'query',
      'series',
      '--match',
      'requests_total',
      '--start',
      String(nowS - 600),
      '--end',
      String(nowS),
    ];
    const direct = await promtool([...args, vm.url]);
    expect(direct.out).toContain('a:2');
    expect(await promtool([...args, viaEdge()])).toEqual(direct);
  });

  it('refuses a wrong token and a foreign cluster id', async () => {
    const wrong = viaEdge().replace(readToken, 'ust_pat_nothing');
    expect((await promtool(['query', 'instant', wrong, 'up'])).code).not.toBe(0);
    const res = await fetch(
      `${edge}/api/orgs/${orgId}/clusters/clu_nothing/prometheus/api/v1/query?query=up`,
      {
        headers: { authorization: `Bearer ${readToken}` },
      },
    );
    expect(res.status).toBe(404);
  });

  it('answers 501 for kinds this portal does not serve (no ClickHouse configured)', async () => {
    const res = await fetch(`${edge}/api/orgs/${orgId}/clusters/${clusterId}/logs?start=1&end=2`, {
      headers: { authorization: `Bearer ${readToken}` },
    });
    expect(res.status).toBe(501);
    expect(await res.json()).toMatchObject({ error: { code: 'not_implemented' } });
  });
});
