import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureRecorder, onPort, type RecordedEvent } from '../testing/captureRecorder.ts';
import {
  type RunningServer,
  selfSignedCert,
  startNodeHttp,
  startOpensslServer,
  tempDir,
} from '../testing/servers.ts';

// TLS plaintext through the OpenSSL uprobes (libssl.so.3 for curl and openssl, /usr/bin/node for Node),
// tied to the socket it travelled on: same fd and tuple as the connect/accept of that connection.
const ports = new Set<number>();
const recorder = new CaptureRecorder((ev) => [...ports].some((p) => onPort(ev, p)));
const dir = tempDir('tls');
let sServer: RunningServer;
let nodeServer: RunningServer;
const BODY = JSON.stringify({ secret: 'plaintext-visible-to-the-sensor', n: 42 });
const S_RESPONSE = `HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY}`;

beforeAll(async () => {
  await recorder.start();
  const cert = await selfSignedCert(dir);
  [sServer, nodeServer] = await Promise.all([
    startOpensslServer(cert, S_RESPONSE),
    startNodeHttp(BODY, cert),
  ]);
  ports.add(sServer.port);
  ports.add(nodeServer.port);
}, 60_000);

afterAll(async () => {
  await Promise.all([sServer?.stop(), nodeServer?.stop()]);
  await recorder.stop();
  rmSync(dir, { recursive: true, force: true });
});

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

/** Plaintext of one direction of the TLS connection between `clientPid` and the server on `port`. */
async function tlsConversation(clientPid: number, serverPid: number, port: number, marker: string) {
  const connect = () =>
    recorder.events.find((e) => e.pid === clientPid && e.kind === 'connect' && e.tuple!.remote.port === port);
  await recorder.waitFor(`connect by ${clientPid}`, () => connect() !== undefined);
  const c = connect()!;
  const clientPort = c.tuple!.local.port;
  const tlsOf = (pid: number, dir: string) => (e: RecordedEvent) =>
    e.kind === 'data' &&
    e.tls === true &&
    e.pid === pid &&
    e.direction === dir &&
    (e.tuple!.local.port === clientPort || e.tuple!.remote.port === clientPort);
  await recorder.waitFor(`TLS plaintext ${JSON.stringify(marker)} at the client`, () =>
    recorder.bytes(tlsOf(clientPid, 'ingress')).includes(marker),
  );
  await recorder.waitFor(
    'server-side plaintext',
    () => recorder.bytes(tlsOf(serverPid, 'egress')).length > 0,
  );
  const accept = recorder.events.find(
    (e) => e.pid === serverPid && e.kind === 'accept' && e.tuple!.remote.port === clientPort,
  );
  return {
    connect: c,
    accept,
    clientSent: recorder.bytes(tlsOf(clientPid, 'egress')),
    clientGot: recorder.bytes(tlsOf(clientPid, 'ingress')),
    serverGot: recorder.bytes(tlsOf(serverPid, 'ingress')),
    serverSent: recorder.bytes(tlsOf(serverPid, 'egress')),
    clientEvents: recorder.events.filter(
      (e) => tlsOf(clientPid, 'egress')(e) || tlsOf(clientPid, 'ingress')(e),
    ),
    serverEvents: recorder.events.filter(
      (e) => tlsOf(serverPid, 'egress')(e) || tlsOf(serverPid, 'ingress')(e),
    ),
  };
}

describe('capture of TLS plaintext', () => {
  it('attached uprobes to the system libssl and to node', () => {
    const attached = recorder.capture.tlsBinaries().filter((b) => b.probes > 0);
    expect(attached.map((b) => b.path)).toEqual(expect.arrayContaining([process.execPath]));
    expect(attached.some((b) => /libssl\.so/.test(b.path))).toBe(true);
  });

  it('curl against openssl s_server: both sides in plaintext, on the right sockets', async () => {
    const curl = await run('curl', [
      '-sk',
      '-H',
      'x-tls-test: 1',
      `https://127.0.0.1:${sServer.port}/tls-path`,
    ]);
    expect(curl.stdout).toBe(BODY);
    const t = await tlsConversation(curl.pid, sServer.pid, sServer.port, BODY);
    expect(t.clientSent).toMatch(/^GET \/tls-path HTTP\/1\.1\r\n/);
    expect(t.clientSent).toContain('x-tls-test: 1');
    expect(t.serverGot).toBe(t.clientSent);
    expect(t.serverSent).toBe(S_RESPONSE);
    expect(t.clientGot).toBe(S_RESPONSE);
    for (const e of t.clientEvents) {
      expect(e.fd).toBe(t.connect.fd);
      expect(e.tuple).toEqual(t.connect.tuple);
      expect(e.role).toBe('client');
    }
    expect(t.accept).toBeDefined();
    for (const e of t.serverEvents) {
      expect(e.fd).toBe(t.accept!.fd);
      expect(e.tuple).toEqual(t.accept!.tuple);
    }
  });

  it('curl against a Node https server: Node writes the ciphertext after SSL_write returns', async () => {
    const curl = await run('curl', ['-sk', '--http1.1', `https://127.0.0.1:${nodeServer.port}/node-tls`]);
    expect(curl.stdout).toBe(BODY);
    const t = await tlsConversation(curl.pid, nodeServer.pid, nodeServer.port, BODY);
    expect(t.clientSent).toMatch(/^GET \/node-tls HTTP\/1\.1\r\n/);
    expect(t.serverGot).toBe(t.clientSent);
    expect(t.serverSent).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(t.serverSent).toContain(BODY);
    expect(t.accept).toBeDefined();
    for (const e of t.serverEvents) {
      expect(e.fd).toBe(t.accept!.fd);
      expect(e.tuple).toEqual(t.accept!.tuple);
      expect(e.role).toBe('server');
    }
  });

  it('a Node https client against the Node https server: plaintext on both Node sides', async () => {
    const client = await run(process.execPath, [
      '-e',
      `require('node:https').get({ host: '127.0.0.1', port: ${nodeServer.port}, path: '/from-node-client',
         rejectUnauthorized: false }, (res) => { let b = ''; res.on('data', (d) => b += d); res.on('end', () => console.log(b)); });`,
    ]);
    expect(client.stdout.trim()).toBe(BODY);
    const t = await tlsConversation(client.pid, nodeServer.pid, nodeServer.port, BODY);
    expect(t.clientSent).toMatch(/^GET \/from-node-client HTTP\/1\.1\r\n/);
    expect(t.serverGot).toBe(t.clientSent);
    expect(t.clientGot).toBe(t.serverSent);
    for (const e of t.clientEvents) {
      expect(e.fd).toBe(t.connect.fd);
      expect(e.tuple).toEqual(t.connect.tuple);
    }
  });
});
