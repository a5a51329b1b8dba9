import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/net.ts';
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

describe('understory up', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'understory-up-'));
  let ports: Record<'edge' | 'vm' | 'vmagent' | 'admin' | 'collector' | 'ingester' | 'watcher', number>;
  let up: ChildProcess;
  let table = '';

  beforeAll(async () => {
    ports = {
      edge: await freePort(),
      vm: await freePort(),
      vmagent: await freePort(),
      admin: await freePort(),
      collector: await freePort(),
      ingester: await freePort(),
      watcher: await freePort(),
    };
    const flags = Object.entries(ports).flatMap(([k, v]) => [`--${k}-port`, String(v)]);
    up = spawn(process.execPath, [BIN, 'up', '--data-dir', dataDir, ...flags], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    table = await waitForOutput(up, /ready: press Ctrl-C/, 150_000);
  }, 160_000);

  afterAll(() => {
    if (up.exitCode === null) up.kill('SIGKILL');
  });

  it('prints what runs where', () => {
    expect(table).toMatch(/victoria-metrics\s+\d+\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(table).toContain(`http://127.0.0.1:${ports.edge}`);
    expect(table).toContain(`http://127.0.0.1:${ports.admin}/healthz`);
  });

  it('every component answers its health check', async () => {
    const vm = await fetch(`http://127.0.0.1:${ports.vm}/health`);
    expect(vm.status).toBe(200);
    const vmagent = await fetch(`http://127.0.0.1:${ports.vmagent}/health`);
    expect(vmagent.status).toBe(200);
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
    expect(state.map((s) => s.name)).toEqual(['victoria-metrics', 'incloud', 'vmagent', 'edge']);
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
    for (const flag of ['edge', 'vmagent', 'admin', 'collector', 'ingester', 'watcher']) {
      others.push(`--${flag}-port`, String(await freePort()));
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
