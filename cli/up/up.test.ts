import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portIsFree } from '../../lib/net.ts';
import { bootstrapLocalEdge, LOCAL_EMAIL } from './localBootstrap.ts';
import { REPO_ROOT } from './plan.ts';

const BIN = join(REPO_ROOT, 'bin', 'understory.mjs');

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const t = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}\n${out}\n${err}`)),
      timeoutMs,
    );
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(t);
        resolve(out);
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited with ${code} before ${pattern}\n${out}\n${err}`));
    });
  });
}

/** The edge API as the UI uses it: a session cookie and its CSRF token. */
class EdgeClient {
  private cookie = '';
  private csrf = '';
  constructor(private readonly url: string) {}

  async signIn(email: string, password: string): Promise<void> {
    const res = await fetch(`${this.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(res.status).toBe(200);
    this.cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    this.csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.url + path, {
      method,
      headers: { cookie: this.cookie, 'x-csrf-token': this.csrf, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }
}

/**
 * A user's service on this machine: an HTTP server and a client calling it, in one process (the sensor
 * follows it with --sensor-pid so the test does not capture the rest of a busy machine). Waits for "go".
 */
const WORKLOAD = `
  const http = require('node:http');
  const server = http.createServer((req, res) => {
    res.writeHead(req.url.startsWith('/up-sensor-fail') ? 500 : 200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path) => new Promise((resolve, reject) =>
    http.get({ port: server.address().port, host: '127.0.0.1', path, agent }, (r) => { r.resume(); r.on('end', resolve); })
      .on('error', reject));
  server.listen(0, '127.0.0.1', () => {
    console.log('READY');
    process.stdin.once('data', async () => {
      for (let i = 0; i < 30; i++) await get('/up-sensor/' + (5000 + i));
      for (let i = 0; i < 2; i++) await get('/up-sensor-fail');
      console.log('DONE');
    });
  });`;

describe('understory up', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'understory-up-'));
  let ports: Record<
    'edge' | 'vm' | 'vmagent' | 'admin' | 'collector' | 'ingester' | 'watcher' | 'sensor-admin',
    number
  >;
  let up: ChildProcess;
  let workload: ChildProcess;
  let table = '';

  beforeAll(async () => {
    const taken = new Set<number>();
    ports = {
      edge: await quietPort(taken),
      vm: await quietPort(taken),
      vmagent: await quietPort(taken),
      // up puts vmalert and the alert receiver on admin port + 1 and + 2.
      admin: await quietPort(taken, 3),
      collector: await quietPort(taken),
      ingester: await quietPort(taken),
      watcher: await quietPort(taken),
      'sensor-admin': await quietPort(taken),
    };
    workload = spawn(process.execPath, ['-e', WORKLOAD], { stdio: ['pipe', 'pipe', 'pipe'] });
    await waitForOutput(workload, /READY/, 30_000);
    const flags = Object.entries(ports).flatMap(([k, v]) => [`--${k}-port`, String(v)]);
    // No --sensor flag: running as root, up starts the sensor by itself, as for a new user.
    up = spawn(
      process.execPath,
      [BIN, 'up', '--data-dir', dataDir, ...flags, '--sensor-pid', String(workload.pid)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    table = await waitForOutput(up, /ready: press Ctrl-C/, 200_000);
  }, 210_000);

  afterAll(() => {
    if (up.exitCode === null) up.kill('SIGKILL');
    workload?.kill();
  });

  it('prints what runs where', () => {
    expect(table).toMatch(/^edge\s+\d+\s+http:\/\/127\.0\.0\.1:\d+/m);
    expect(table).toMatch(/victoria-metrics\s+\d+\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(table).toContain(`http://127.0.0.1:${ports.edge}`);
    expect(table).toContain(`http://127.0.0.1:${ports.admin}/healthz`);
    expect(table).toMatch(/^sensor\s+\d+\s+http:\/\/127\.0\.0\.1:\d+\/metrics/m);
    expect(table).toContain(`sensor: capturing processes ${workload.pid}`);
    expect(table).not.toMatch(/not built/);
  });

  it('every component answers its health check', async () => {
    const vm = await fetch(`http://127.0.0.1:${ports.vm}/health`);
    expect(vm.status).toBe(200);
    const vmagent = await fetch(`http://127.0.0.1:${ports.vmagent}/health`);
    expect(vmagent.status).toBe(200);
    // vmagent scrapes every component, vmalert included (its rule evaluation errors are metrics).
    const targets = await (await fetch(`http://127.0.0.1:${ports.vmagent}/api/v1/targets`)).json();
    const jobs = (
      targets as { data: { activeTargets: { labels: { job: string } }[] } }
    ).data.activeTargets.map((t) => t.labels.job);
    expect(jobs).toEqual(
      expect.arrayContaining(['incloud', 'victoria-metrics', 'vmagent', 'vmalert', 'sensor']),
    );
    const edge = await fetch(`http://127.0.0.1:${ports.edge}/api/health`);
    expect(await edge.json()).toEqual({ ok: true, d1: true, durableObjects: true });
    const incloud = await fetch(`http://127.0.0.1:${ports.admin}/healthz`);
    const body = (await incloud.json()) as { ok: boolean; components: Record<string, { ok: boolean }> };
    expect(body.ok).toBe(true);
    expect(body.components.clickhouse?.ok).toBe(true);
    expect(Object.values(body.components).every((c) => c.ok)).toBe(true);
    // The in-cluster process serves the OTLP collector and the remote-write receiver on the ports given.
    const otlp = await fetch(`http://127.0.0.1:${ports.collector}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"resourceLogs":[]}',
    });
    expect(otlp.status).toBe(200);
    const rw = await fetch(`http://127.0.0.1:${ports.ingester}/api/v1/write`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      body: 'not snappy',
    });
    expect(rw.status).toBe(400);
    // The k8s-watcher in plain-host mode lists this machine's processes as workloads.
    const workloads = await fetch(`http://127.0.0.1:${ports.watcher}/v1/workloads`);
    expect(workloads.status).toBe(200);
    expect((await workloads.text()).length).toBeGreaterThan(2);
  });

  it('bootstraps the local edge: the printed account sees cluster "local" connected and its data at once', async () => {
    const m = /sign in as (\S+) \/ (\S+)/.exec(table);
    expect(m?.[1]).toBe(LOCAL_EMAIL);
    const edge = new EdgeClient(`http://127.0.0.1:${ports.edge}`);
    await edge.signIn(m![1]!, m![2]!);
    const { orgs } = await edge.json<{ orgs: { id: string; slug: string }[] }>('GET', '/api/orgs');
    const org = orgs.find((o) => o.slug === 'local')!;
    const { clusters } = await edge.json<{ clusters: { id: string; name: string; status: string }[] }>(
      'GET',
      `/api/orgs/${org.id}/clusters`,
    );
    expect(clusters.map((c) => [c.name, c.status])).toEqual([['local', 'connected']]);
    const base = `/api/orgs/${org.id}/clusters/${clusters[0]!.id}`;
    expect(table).toContain(`http://127.0.0.1:${ports.edge}${base}/prometheus`);
    // PromQL through edge -> Durable Object -> portal (inside the in-cluster process) -> VictoriaMetrics.
    const prom = await edge.json<{ status: string; data: { result: { value: [number, string] }[] } }>(
      'GET',
      `${base}/prometheus/api/v1/query?query=vector(7)`,
    );
    expect(prom.data.result[0]?.value[1]).toBe('7');
    // A log line sent to the local collector is found through the edge (the portal shares the embedded chdb).
    const marker = `up-test-${Date.now()}`;
    const now = Date.now();
    const otlp = await fetch(`http://127.0.0.1:${ports.collector}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'up-test' } }] },
            scopeLogs: [
              { logRecords: [{ timeUnixNano: `${now}000000`, body: { stringValue: `hello ${marker}` } }] },
            ],
          },
        ],
      }),
    });
    expect(otlp.status).toBe(200);
    await expect
      .poll(
        async () =>
          (
            await edge.json<{ rows: { body: string }[] }>(
              'GET',
              `${base}/logs?start=${now - 60_000}&end=${now + 60_000}&query=${marker}`,
            )
          ).rows.map((r) => r.body),
        { timeout: 20_000, interval: 500 },
      )
      .toEqual([`hello ${marker}`]);
  });

  it("the sensor turns the machine's own HTTP calls into RED series in VictoriaMetrics and spans in ClickHouse", async () => {
    const health = await fetch(`http://127.0.0.1:${ports['sensor-admin']}/healthz`);
    expect(health.status, await health.clone().text()).toBe(200);
    const start = Date.now();
    workload.stdin!.write('go\n');
    await waitForOutput(workload, /DONE/, 60_000);
    // Up's own VictoriaMetrics, fed by sensor -> remote write -> up's ingester (report intervals: ~15 s each).
    const vmQuery = async (expr: string) => {
      const res = await fetch(`http://127.0.0.1:${ports.vm}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      return body.data.result.map((r) => Number(r.value[1]));
    };
    await expect
      .poll(() => vmQuery('sum(http_server_request_duration_seconds_count{resource="/up-sensor/{id}"})'), {
        timeout: 120_000,
        interval: 1000,
      })
      .toEqual([30]);
    await expect
      .poll(
        () =>
          vmQuery('sum(http_server_request_duration_seconds_count{resource="/up-sensor-fail",error="true"})'),
        { timeout: 60_000, interval: 1000 },
      )
      .toEqual([2]);
    // Spans in up's ClickHouse (chdb inside the in-cluster process), read through the edge as the UI does.
    const account = JSON.parse(readFileSync(join(dataDir, 'edge', 'local-account.json'), 'utf8')) as {
      email: string;
      password: string;
      orgId: string;
      clusterId: string;
    };
    const edge = new EdgeClient(`http://127.0.0.1:${ports.edge}`);
    await edge.signIn(account.email, account.password);
    const base = `/api/orgs/${account.orgId}/clusters/${account.clusterId}`;
    await expect
      .poll(
        async () => {
          const q = `start=${start - 60_000}&end=${Date.now() + 60_000}&resource=${encodeURIComponent('GET /up-sensor-fail')}`;
          const { spans } = await edge.json<{ spans: { name: string; kind: string; status: string }[] }>(
            'GET',
            `${base}/traces?${q}`,
          );
          return [...new Set(spans.map((s) => `${s.kind} ${s.status}`))].sort();
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toContain('SPAN_KIND_SERVER STATUS_CODE_ERROR');
  }, 240_000);

  it('bootstrapping again is idempotent: same account, organization, cluster and token', async () => {
    const files = {
      accountFile: join(dataDir, 'edge', 'local-account.json'),
      tokenFile: join(dataDir, 'portal', 'install-token'),
    };
    const before = [readFileSync(files.accountFile, 'utf8'), readFileSync(files.tokenFile, 'utf8')];
    expect(statSync(files.tokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(files.accountFile).mode & 0o777).toBe(0o600);
    await bootstrapLocalEdge({ edgeUrl: `http://127.0.0.1:${ports.edge}`, ...files });
    expect([readFileSync(files.accountFile, 'utf8'), readFileSync(files.tokenFile, 'utf8')]).toEqual(before);
  });

  it('runs the local command the UI shows for a new cluster: only the in-cluster side, connected to that edge', async () => {
    const account = JSON.parse(readFileSync(join(dataDir, 'edge', 'local-account.json'), 'utf8')) as {
      email: string;
      password: string;
      orgId: string;
    };
    const edge = new EdgeClient(`http://127.0.0.1:${ports.edge}`);
    await edge.signIn(account.email, account.password);
    const made = await edge.json<{ id: string; commands: { local: string } }>(
      'POST',
      `/api/orgs/${account.orgId}/clusters`,
      { name: 'second' },
    );
    const words = made.commands.local.split(' ');
    expect(words.slice(0, 2)).toEqual(['understory', 'up']);
    const remoteDir = mkdtempSync(join(tmpdir(), 'understory-up-remote-'));
    const flags: string[] = [];
    const taken = new Set(Object.values(ports));
    for (const name of ['vm', 'vmagent', 'admin', 'collector', 'ingester', 'watcher'])
      flags.push(`--${name}-port`, String(await quietPort(taken, name === 'admin' ? 3 : 1)));
    // --no-sensor: one sensor on this machine is enough (the first `up` runs one).
    flags.push('--no-sensor');
    const remote = spawn(process.execPath, [BIN, ...words.slice(1), '--data-dir', remoteDir, ...flags], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const out = await waitForOutput(remote, /ready: press Ctrl-C/, 120_000);
      expect(out).not.toMatch(/^edge\s/m);
      expect(out).toContain(`portal: connected to http://127.0.0.1:${ports.edge}`);
      const second = await edge.json<{ status: string }>(
        'GET',
        `/api/orgs/${account.orgId}/clusters/${made.id}`,
      );
      expect(second.status).toBe('connected');
      // The token was taken off the command line into a 0600 file for the child processes.
      expect(statSync(join(remoteDir, 'portal', 'install-token')).mode & 0o777).toBe(0o600);
    } finally {
      remote.kill('SIGINT');
      await new Promise((r) => (remote.exitCode === null ? remote.once('exit', r) : r(null)));
    }
  }, 150_000);

  it('refuses a second `up` on the same data directory', async () => {
    const second = spawn(process.execPath, [BIN, 'up', '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    second.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((r) => second.once('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/another `understory up` \(pid \d+\) uses/);
  });

  it('Ctrl-C stops everything and leaves no process behind', async () => {
    const state = JSON.parse(readFileSync(join(dataDir, 'up.json'), 'utf8')) as {
      name: string;
      pid: number;
    }[];
    expect(state.map((s) => s.name)).toEqual([
      'edge',
      'victoria-metrics',
      'incloud',
      'vmagent',
      'vmalert',
      'sensor',
    ]);
    for (const s of state) expect(groupAlive(s.pid)).toBe(true);
    up.kill('SIGINT');
    const code = await new Promise<number | null>((r) => up.once('exit', r));
    expect(code).toBe(0);
    // Each child led its own process group: the whole group (wrangler's workerd too) must be gone.
    for (const s of state) expect(groupAlive(s.pid), `${s.name} group ${s.pid}`).toBe(false);
  }, 30_000);
});

describe('understory up refuses a busy port', () => {
  it('names the port and the flag', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const port = (busy.address() as { port: number }).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'understory-up-'));
    // Every other port free too, so the default ports being used by something else cannot decide the answer.
    const others: string[] = [];
    const taken = new Set([port]);
    for (const flag of ['edge', 'vmagent', 'admin', 'collector', 'ingester', 'watcher']) {
      others.push(`--${flag}-port`, String(await quietPort(taken, flag === 'admin' ? 3 : 1)));
    }
    const child = spawn(
      process.execPath,
      [BIN, 'up', '--data-dir', dataDir, ...others, '--vm-port', `${port}`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    busy.close();
    expect(code).toBe(1);
    expect(err).toContain(`port ${port} (VictoriaMetrics) is in use`);
  });
});

/**
 * A free port (and the `span - 1` after it) outside the kernel's ephemeral range (32768-60999 by default):
 * the other suites' port-0 listeners and outgoing connections take theirs from that range, so a port picked
 * here is not taken between this check and up binding it (CI lost runs to that race with port-0 picks).
 */
async function quietPort(taken: Set<number>, span = 1): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (let k = 0; k < span && ok; k++) ok = !taken.has(p + k) && (await portIsFree(p + k));
    if (!ok) continue;
    for (let k = 0; k < span; k++) taken.add(p + k);
    return p;
  }
  throw new Error('cannot find free ports for up below the ephemeral range');
}
