/**
 * The edge as it runs locally, for end-to-end tests and benchmarks: `wrangler dev` (worker, local D1, the
 * ClusterTunnel Durable Object) on a free port with a fresh state directory and the migrations applied, plus a
 * signed-up owner, an organization, a cluster (its install token) and a read-scoped API token.
 * `runtime: 'miniflare'` runs the same bundled worker and wrangler.toml bindings on Miniflare directly (the same
 * workerd, without the ProxyWorker `wrangler dev` puts in front of it), to tell that proxy's cost from ours.
 * `stop()` kills the whole process group (workerd runs as a child) and removes the state.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../../cli/up/plan.ts';
import {
  type LocalWorker,
  startLocalWorker,
  type WorkerRuntime,
  wranglerBin,
  wranglerEnv,
} from './localWorker.ts';

const run = promisify(execFile);
const config = join(REPO_ROOT, 'wrangler.toml');

export interface EdgeStack {
  url: string;
  port: number;
  orgId: string;
  clusterId: string;
  installToken: string;
  readToken: string;
  /** `<url>/api/orgs/<org>/clusters/<cluster>/prometheus` */
  prometheusUrl: string;
  clusterStatus(): Promise<string>;
  stop(): Promise<void>;
}

export type EdgeRuntime = WorkerRuntime;

/** `vars` override wrangler.toml [vars] (`wrangler dev --var KEY:VALUE`), e.g. AUTH_CACHE_TTL_MS. */
export async function startEdgeStack(
  vars: Record<string, string> = {},
  runtime: EdgeRuntime = 'wrangler-dev',
): Promise<EdgeStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'understory-edge-stack-'));
  let worker: LocalWorker | undefined;
  const stop = async () => {
    await worker?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await run(
      wranglerBin,
      ['d1', 'migrations', 'apply', 'DB', '--local', '--config', config, '--persist-to', stateDir],
      { env: wranglerEnv(), cwd: REPO_ROOT },
    );
    worker = await startLocalWorker({ config, stateDir, runtime, vars, readyPath: '/api/health' });
    const { url, port } = worker;

    const api = async <T>(method: string, path: string, body: unknown, headers: Record<string, string>) => {
      const res = await fetch(url + path, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as T;
      if (!res.ok) throw new Error(`cannot ${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
      return { json, res };
    };
    const signup = await api<{ csrfToken: string }>(
      'POST',
      '/api/auth/signup',
      { email: 'stack@example.com', password: 'a long enough password', name: 'Stack' },
      {},
    );
    const cookie = /^[^;]+/.exec(signup.res.headers.get('set-cookie') ?? '')?.[0] ?? '';
    const as = { cookie, 'x-csrf-token': signup.json.csrfToken };
    const orgId = (await api<{ id: string }>('POST', '/api/orgs', { name: 'Stack', slug: 'stack' }, as)).json
      .id;
    const cluster = await api<{ id: string; installToken: string }>(
      'POST',
      `/api/orgs/${orgId}/clusters`,
      { name: 'local' },
      as,
    );
    const readToken = (
      await api<{ token: string }>(
        'POST',
        `/api/orgs/${orgId}/tokens`,
        { name: 'read', scopes: ['read'] },
        as,
      )
    ).json.token;
    const clusterId = cluster.json.id;
    return {
      url,
      port,
      orgId,
      clusterId,
      installToken: cluster.json.installToken,
      readToken,
      prometheusUrl: `${url}/api/orgs/${orgId}/clusters/${clusterId}/prometheus`,
      clusterStatus: async () =>
        (
          await api<{ status: string }>('GET', `/api/orgs/${orgId}/clusters/${clusterId}`, undefined, {
            authorization: `Bearer ${readToken}`,
          })
        ).json.status,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Waits until the edge shows the cluster connected (its portal said hello). */
export async function waitConnected(stack: EdgeStack, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await stack.clusterStatus()) !== 'connected') {
    if (Date.now() > deadline) throw new Error('cannot see the portal connected to the edge in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
