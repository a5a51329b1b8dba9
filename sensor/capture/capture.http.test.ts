import { spawn } from 'node:child_process';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureRecorder, onPort, type RecordedEvent } from '../testing/captureRecorder.ts';
import { freePort, type RunningServer, startNodeHttp, startNodeScript } from '../testing/servers.ts';
import { registerCaptureMetrics } from './metrics.ts';

// Real eBPF capture on this kernel, as root: Node HTTP server and clients in child processes, curl, UDP.
const BODY = JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}` })) });
const ports = new Set<number>();
const recorder = new CaptureRecorder(
  (ev) =>
    ev.kind === 'exec' || ev.kind === 'fork' || ev.kind === 'exit' || [...ports].some((p) => onPort(ev, p)),
);
let server: RunningServer;

beforeAll(async () => {
  await recorder.start();
  server = await startNodeHttp(BODY);
  ports.add(server.port);
});

afterAll(async () => {
  await server?.stop();
  await recorder.stop();
});

/** Runs a program to completion and returns its pid and stdout. */
function run(cmd: string, args: string[]): Promise<{ pid: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve({ pid: child.pid!, stdout }) : reject(new Error(`${cmd} exited ${code}`)),
    );
  });
}

const of = (pid: number, kind: string) => (e: RecordedEvent) => e.pid === pid && e.kind === kind;

describe('capture of plain HTTP', () => {
  it('sees a Node client and a Node server: bytes, tuples, directions and roles on both sides', async () => {
    const client = await run(process.execPath, [
      '-e',
      `const http = require('node:http');
       const agent = new http.Agent({ keepAlive: true });
       const req = http.request({ host: '127.0.0.1', port: ${server.port}, method: 'POST', path: '/api/items?x=1', agent,
         headers: { 'content-type': 'application/json' } }, (res) => {
         let b = ''; res.on('data', (d) => b += d); res.on('end', () => { console.log(res.statusCode, b.length); agent.destroy(); });
       });
       req.end('{"ping":1}');`,
    ]);
    expect(client.stdout.trim()).toBe(`200 ${BODY.length}`);
    await recorder.waitFor(
      'both closes',
      (evs) => evs.some(of(client.pid, 'close')) && evs.some(of(server.pid, 'close')),
    );

    const connect = recorder.events.find(of(client.pid, 'connect'))!;
    expect(connect.role).toBe('client');
    expect(connect.tuple!.remote).toEqual({ ip: '127.0.0.1', port: server.port });
    const clientPort = connect.tuple!.local.port;
    expect(clientPort).toBeGreaterThan(0);

    const accept = recorder.events.find(
      (e) => of(server.pid, 'accept')(e) && e.tuple!.remote.port === clientPort,
    )!;
    expect(accept, recorder.describe()).toBeDefined();
    expect(accept.role).toBe('server');
    expect(accept.tuple!.local).toEqual({ ip: '127.0.0.1', port: server.port });
    expect(accept.tuple!.remote.ip).toBe('127.0.0.1');

    const conn = (pid: number, dir: string) => (e: RecordedEvent) =>
      e.pid === pid &&
      e.direction === dir &&
      (e.tuple!.local.port === clientPort || e.tuple!.remote.port === clientPort);
    const request = recorder.bytes(conn(client.pid, 'egress'));
    expect(request).toMatch(/^POST \/api\/items\?x=1 HTTP\/1\.1\r\n/);
    expect(request).toContain('{"ping":1}');
    expect(recorder.bytes(conn(server.pid, 'ingress'))).toBe(request);
    const response = recorder.bytes(conn(server.pid, 'egress'));
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(response).toContain(BODY.slice(0, 200));
    expect(recorder.bytes(conn(client.pid, 'ingress'))).toBe(response);

    for (const e of recorder.events.filter((x) => x.kind === 'data' && conn(client.pid, x.direction!)(x))) {
      expect(e.role).toBe('client');
      expect(e.tuple).toEqual(connect.tuple ? { ...connect.tuple } : undefined);
      expect(e.fd).toBe(connect.fd);
    }
    for (const e of recorder.events.filter((x) => x.kind === 'data' && conn(server.pid, x.direction!)(x))) {
      expect(e.role).toBe('server');
      expect(e.tuple!.remote.port).toBe(clientPort);
    }
    // close keeps the tuple from connect/accept, even though the socket may report port 0 by then
    const close = recorder.events.find(of(client.pid, 'close'))!;
    expect(close.tuple).toEqual(connect.tuple);
    expect(close.fd).toBe(connect.fd);
  });

  it('sees curl (sendto/recvfrom) and the server answering it', async () => {
    const curl = await run('curl', [
      '-s',
      '-H',
      'x-test: curl-1',
      `http://127.0.0.1:${server.port}/from-curl`,
    ]);
    expect(curl.stdout).toBe(BODY);
    await recorder.waitFor('curl response', (evs) =>
      evs.some((e) => e.pid === curl.pid && e.direction === 'ingress' && e.data!.includes('200 OK')),
    );
    const sent = recorder.bytes((e) => e.pid === curl.pid && e.direction === 'egress');
    expect(sent).toMatch(/^GET \/from-curl HTTP\/1\.1\r\n/);
    expect(sent).toContain('x-test: curl-1');
    const egress = recorder.events.find((e) => e.pid === curl.pid && e.direction === 'egress')!;
    expect(egress.role).toBe('client');
    expect(egress.tuple!.remote.port).toBe(server.port);
    expect(egress.tuple!.transport).toBe('tcp');
    const serverSaw = recorder.bytes(
      (e) =>
        e.pid === server.pid &&
        e.direction === 'ingress' &&
        e.tuple!.remote.port === egress.tuple!.local.port,
    );
    expect(serverSaw).toBe(sent);
  });

  it('sees IPv6: curl to a Node server on ::1, same tuple from both ends', async () => {
    const v6 = await startNodeScript(
      `const s = require('node:http').createServer((q, r) => r.end('v6-ok'));
       s.listen(0, '::1', () => console.log('READY ' + s.address().port));`,
    );
    const port = Number(v6.firstLine.split(' ')[1]);
    ports.add(port);
    try {
      const curl = await run('curl', ['-s', '-g', `http://[::1]:${port}/over-ipv6`]);
      expect(curl.stdout).toBe('v6-ok');
      await recorder.waitFor('the IPv6 response at curl', (evs) =>
        evs.some((e) => e.pid === curl.pid && e.direction === 'ingress'),
      );
      const out = recorder.events.find((e) => e.pid === curl.pid && e.direction === 'egress')!;
      expect(out.data!.toString()).toMatch(/^GET \/over-ipv6 HTTP\/1\.1\r\n/);
      expect(out.tuple).toMatchObject({ family: 6, transport: 'tcp', remote: { ip: '::1', port } });
      expect(out.tuple!.local.ip).toBe('::1');
      const seen = recorder.events.find((e) => e.pid === v6.pid && e.direction === 'ingress')!;
      expect(seen.tuple).toEqual({ ...out.tuple!, local: out.tuple!.remote, remote: out.tuple!.local });
      expect(seen.role).toBe('server');
    } finally {
      await v6.stop();
    }
  });

  it('sees UDP datagrams with the peer taken from the call (unconnected sockets)', async () => {
    const port = await freePort();
    ports.add(port);
    const echo = await startNodeScript(
      `const s = require('node:dgram').createSocket('udp4');
       s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
       s.bind(${port}, '127.0.0.1', () => console.log('READY'));`,
    );
    try {
      const client = await run(process.execPath, [
        '-e',
        `const s = require('node:dgram').createSocket('udp4');
         s.on('message', (m) => { console.log(m.toString()); s.close(); });
         s.send('hello-udp', ${port}, '127.0.0.1');`,
      ]);
      expect(client.stdout.trim()).toBe('echo:hello-udp');
      await recorder.waitFor('udp echo at the client', (evs) =>
        evs.some((e) => e.pid === client.pid && e.direction === 'ingress'),
      );
      const out = recorder.events.find((e) => e.pid === client.pid && e.direction === 'egress')!;
      expect(out.data!.toString()).toBe('hello-udp');
      expect(out.tuple!.transport).toBe('udp');
      expect(out.tuple!.remote).toEqual({ ip: '127.0.0.1', port });
      const got = recorder.events.find((e) => e.pid === echo.pid && e.direction === 'ingress')!;
      expect(got.data!.toString()).toBe('hello-udp');
      expect(got.tuple!.remote.port).toBe(out.tuple!.local.port);
      const back = recorder.events.find((e) => e.pid === client.pid && e.direction === 'ingress')!;
      expect(back.data!.toString()).toBe('echo:hello-udp');
      expect(back.tuple!.remote).toEqual({ ip: '127.0.0.1', port });
    } finally {
      await echo.stop();
    }
  });

  it('sees connections on big fds (past the per-process fd table, in the hash), with their close', async () => {
    // 100 open files first, so the socket's fd is beyond the kernel's 64-slot fd table.
    const client = await run(process.execPath, [
      '-e',
      `const fs = require('node:fs'); const http = require('node:http');
       for (let i = 0; i < 100; i++) fs.openSync('/dev/null', 'r');
       http.get({ host: '127.0.0.1', port: ${server.port}, path: '/big-fd' }, (res) => {
         let n = 0; res.on('data', (d) => n += d.length); res.on('end', () => console.log(res.statusCode, n));
       });`,
    ]);
    expect(client.stdout.trim()).toBe(`200 ${BODY.length}`);
    await recorder.waitFor('the big-fd client close', (evs) => evs.some(of(client.pid, 'close')));
    const sent = recorder.events.find((e) => e.pid === client.pid && e.data?.includes('/big-fd'))!;
    expect(sent.fd).toBeGreaterThanOrEqual(100);
    expect(sent.role).toBe('client');
    expect(sent.tuple!.remote).toEqual({ ip: '127.0.0.1', port: server.port });
    expect(recorder.bytes((e) => e.pid === client.pid && e.direction === 'ingress')).toContain(BODY);
    const close = recorder.events.find(of(client.pid, 'close'))!;
    expect(close.fd).toBe(sent.fd);
    expect(close.tuple).toEqual(sent.tuple);
  });

  it('never captures the sensor process itself, even when it includes its own children', async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/from-the-sensor-process`);
    expect(await res.text()).toBe(BODY);
    await recorder.waitFor('the server side of that request', (evs) =>
      evs.some((e) => e.pid === server.pid && e.data?.includes('/from-the-sensor-process')),
    );
    expect(recorder.events.filter((e) => e.pid === process.pid && e.kind !== 'fork')).toEqual([]);
  });

  it('reports fork, exec and exit of processes, and their metadata', async () => {
    const child = await run('sh', ['-c', 'sleep 0.05; echo done']);
    await recorder.waitFor('exit of sh', (evs) => evs.some(of(child.pid, 'exit')));
    const fork = recorder.events.find((e) => e.kind === 'fork' && e.childPid === child.pid);
    expect(fork?.pid).toBe(process.pid);
    expect(recorder.events.find(of(child.pid, 'exec'))?.comm).toBe('sh');
    expect(recorder.capture.processes.get(process.pid)?.exe).toBe(process.execPath);
    const stats = recorder.capture.stats();
    expect(stats.events).toBeGreaterThan(0);
    const registry = new Registry();
    registerCaptureMetrics(registry, () => recorder.capture.stats());
    const text = await registry.metrics();
    const events = Number(/^understory_sensor_capture_events_total (\d+)$/m.exec(text)?.[1]);
    expect(events).toBeGreaterThanOrEqual(stats.events);
    expect(text).toMatch(/^understory_sensor_capture_drops_total 0$/m);
    expect(text).toMatch(/^understory_sensor_capture_tls_binaries [1-9]/m);
    expect(stats.pollErrors).toBe(0);
    expect(stats.consumerErrors).toBe(0);
  });
});
