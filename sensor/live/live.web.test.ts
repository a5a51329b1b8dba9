import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveCalls, runClient, runNode } from '../testing/liveCalls.ts';
import { type RunningServer, startNginx, startNodeHttp, startNodeScript } from '../testing/servers.ts';

/**
 * HTTP/1.1, HTTP/2, gRPC and DNS between real peers, all children of this test, observed through the eBPF
 * capture and the live source: the calls each side made, with its pid and role. Needs root.
 */
const live = new LiveCalls();
const stops: (() => Promise<void>)[] = [];

/** @grpc/grpc-js service with raw Buffer messages (no .proto needed), as source text for child processes. */
const GRPC_SERVICE = `
  const grpc = require('@grpc/grpc-js');
  const raw = (b) => b;
  const m = (path, responseStream) => ({ path, requestStream: false, responseStream,
    requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw });
  const service = { Say: m('/test.Echo/Say', false), Many: m('/test.Echo/Many', true), Fail: m('/test.Echo/Fail', false) };`;

const GRPC_SERVER = `${GRPC_SERVICE}
  const server = new grpc.Server();
  server.addService(service, {
    Say: (call, cb) => cb(null, call.request),
    Many: (call) => { for (let i = 0; i < 3; i++) call.write(Buffer.from('part ' + i)); call.end(); },
    Fail: (_call, cb) => cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' }),
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    console.log('READY ' + port);
  });`;

const grpcClient = (port: number) => `${GRPC_SERVICE}
  const Client = grpc.makeGenericClientConstructor(service, 'Echo');
  const c = new Client('127.0.0.1:${port}', grpc.credentials.createInsecure());
  c.Say(Buffer.from('hi'), (err, r) => {
    if (err) throw err;
    const s = c.Many(Buffer.from('x'));
    s.on('data', () => {});
    s.on('end', () => c.Fail(Buffer.from('y'), (e) => { console.log('done ' + e.code); c.close(); }));
  });`;

/** A UDP DNS server: svc.test -> 127.0.0.7, anything else NXDOMAIN. Answers carry only the question. */
const DNS_SERVER = `
  const sock = require('node:dgram').createSocket('udp4');
  sock.on('message', (q, peer) => {
    let at = 12;
    const labels = [];
    while (q[at] !== 0) { labels.push(q.subarray(at + 1, at + 1 + q[at]).toString()); at += q[at] + 1; }
    const question = q.subarray(12, at + 5);
    const found = labels.join('.') === 'svc.test';
    const head = Buffer.from([q[0], q[1], 0x81, found ? 0x80 : 0x83, 0, 1, 0, found ? 1 : 0, 0, 0, 0, 0]);
    const answer = found ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 7]) : Buffer.alloc(0);
    sock.send(Buffer.concat([head, question, answer]), peer.port, peer.address);
  });
  sock.bind(0, '127.0.0.1', () => console.log('READY ' + sock.address().port));`;

beforeAll(async () => {
  await live.start();
}, 60_000);

afterAll(async () => {
  await Promise.all(stops.map((s) => s()));
  await live.stop();
});

async function server(start: Promise<RunningServer>): Promise<RunningServer> {
  const s = await start;
  stops.push(s.stop);
  return s;
}

async function nodeServer(source: string): Promise<{ port: number; pid: number }> {
  const s = await startNodeScript(source);
  stops.push(s.stop);
  return { port: Number(s.firstLine.split(' ')[1]), pid: s.pid };
}

/** Waits until both the client (its pid) and the server (its process tree) saw every key. */
async function expectBothSides(protocol: string, clientPid: number, serverPid: number, keys: string[]) {
  const sides = () => ({
    client: live.seen(protocol, (c) => c.pid === clientPid && c.role === 'client'),
    server: live.seen(protocol, (c) => c.role === 'server' && live.descends(c.pid, serverPid)),
  });
  const want = (role: string) => keys.map((k) => `${role} ${k}`);
  await live.waitFor(`${protocol} calls of pid ${clientPid} and its server`, () => {
    const { client, server } = sides();
    return want('client').every((k) => client.includes(k)) && want('server').every((k) => server.includes(k));
  });
  const { client, server } = sides();
  expect(client).toEqual(expect.arrayContaining(want('client')));
  expect(server).toEqual(expect.arrayContaining(want('server')));
}

describe('live: web protocols through the eBPF source', () => {
  it('HTTP/2 (nginx + nghttp with prior knowledge): two streams on one connection', async () => {
    const nginx = await server(startNginx('ok', 1, { http2: true }));
    const base = `http://127.0.0.1:${nginx.port}`;
    // nghttp rather than curl: curl 7.88 fails (exit 16) reusing a prior-knowledge connection for a 2nd URL.
    const client = await runClient('nghttp', ['-v', '-n', `${base}/hello`, `${base}/missing`]);
    expect(client.stdout).toContain(':status: 404');
    await expectBothSides('http2', client.pid, nginx.pid, ['GET /hello 200', 'GET /missing 404']);
  });

  it('gRPC (@grpc/grpc-js server and client processes): unary, server stream, error status', async () => {
    const srv = await nodeServer(GRPC_SERVER);
    const client = await runNode(grpcClient(srv.port));
    expect(client.stdout).toContain('done 5');
    await expectBothSides('grpc', client.pid, srv.pid, [
      'Say /test.Echo/Say 0',
      'Many /test.Echo/Many 0',
      'Fail /test.Echo/Fail 5',
    ]);
  });

  it('DNS over UDP (a Node server of the test, queried by a c-ares client): names, types, rcodes', async () => {
    const dns = await nodeServer(DNS_SERVER);
    // Node's resolver (c-ares). dig is not used: BIND 9.18's dig sends with sendmmsg, which the capture does
    // not hook, so only the server side of its queries would be seen.
    const client = await runNode(`
      const r = new (require('node:dns').promises.Resolver)({ tries: 1, timeout: 3000 });
      r.setServers(['127.0.0.1:${dns.port}']);
      (async () => {
        console.log('found', (await r.resolve4('svc.test')).join());
        await r.resolve6('missing.test').catch((e) => console.log('missing', e.code));
      })();`);
    expect(client.stdout).toContain('found 127.0.0.7');
    expect(client.stdout).toContain('missing ENOTFOUND');
    await expectBothSides('dns', client.pid, dns.pid, ['A svc.test NOERROR', 'AAAA missing.test NXDOMAIN']);
  });

  it('HTTP/1.1 keep-alive with bodies larger than the capture: every call, none mis-parsed', async () => {
    const node = await server(startNodeHttp(JSON.stringify({ data: 'x'.repeat(20_000) })));
    const filledBefore = live.source.stats.filledBytes;
    const urls = ['/a', '/b/1', '/c?q=2'].map((p) => `http://127.0.0.1:${node.port}${p}`);
    // One curl, one connection: the second and third requests follow 20 KB responses the kernel copied
    // only the first bytes of.
    const curl = await runClient('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-o',
      '/dev/null',
      '-o',
      '/dev/null',
      ...urls,
    ]);
    await expectBothSides('http', curl.pid, node.pid, ['GET /a 200', 'GET /b/1 200', 'GET /c?q=2 200']);
    expect(live.seen('http', (c) => c.pid === curl.pid)).toHaveLength(3);
    expect(live.source.stats.filledBytes).toBeGreaterThan(filledBefore);
  });
});
