import { describe, expect, it } from 'vitest';
import type { ApiCall } from '../contract.ts';
import { protocolSpecs } from '../registry.ts';
import { type ConnectionInfo, ConnectionTracker } from './connectionTracker.ts';

const enc = new TextEncoder();
const info = (port: number, role: ConnectionInfo['role'] = 'unknown'): ConnectionInfo => ({
  local: { ip: '10.0.0.1', port: 40000 },
  remote: { ip: '10.0.0.2', port },
  transport: 'tcp',
  role,
});
const GET = enc.encode('GET /x HTTP/1.1\r\nHost: h\r\n\r\n');
const OK = enc.encode('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');

function tracker(extra: Partial<ConstructorParameters<typeof ConnectionTracker>[0]> = {}) {
  const calls: ApiCall[] = [];
  const t = new ConnectionTracker({ specs: protocolSpecs, onCall: (c) => calls.push(c), ...extra });
  return { t, calls };
}

describe('connection tracker', () => {
  it('a connection handle feeds like its key and reports when the tracker forgot it', () => {
    const { t, calls } = tracker({ maxConnections: 1, idleTimeoutNs: 100n });
    const h = t.connection('a', info(8080, 'client'), 1n);
    expect(t.connection('a', info(8080, 'client'), 1n)).toBe(h);
    t.dataOn(h, 'egress', GET, 2n);
    t.dataOn(h, 'ingress', OK, 3n);
    expect(t.protocolOn(h)).toBe('http');
    expect(calls.map((c) => `${c.method} ${c.status} ${c.role}`)).toEqual(['GET 200 client']);
    t.onClose('a');
    expect(h.closed).toBe(true);
    const again = t.connection('a', info(8080, 'client'), 4n);
    expect(again).not.toBe(h);
    expect(again.closed).toBe(false);
    expect(t.protocolOn(again)).toBe('detecting');
    t.expire(1000n); // idle since 4: forgotten
    expect(again.closed).toBe(true);
    const b = t.connection('b', info(8081), 1001n);
    t.connection('c', info(8082), 1002n); // over maxConnections: b is evicted
    expect(b.closed).toBe(true);
    t.flush();
    expect(t.footprint().connections).toBe(0);
  });

  it('infers the role from the bytes and fills client, server and role into calls', () => {
    const { t, calls } = tracker();
    // The observed side received the request: it is the server.
    t.onData('a', info(40001), 'ingress', GET, 1n);
    t.onData('a', info(40001), 'egress', OK, 2n);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.role).toBe('server');
    expect(calls[0]!.server).toEqual({ ip: '10.0.0.1', port: 40000 });
    expect(calls[0]!.client).toEqual({ ip: '10.0.0.2', port: 40001 });
  });

  it('gives up on unknown protocols and stops buffering them', () => {
    const { t } = tracker({ detectAttempts: 3 });
    const noise = new Uint8Array(4096).fill(0xab);
    for (let i = 0; i < 10; i++) t.onData('x', info(5555), 'egress', noise, BigInt(i));
    expect(t.protocolOf('x')).toBe('unknown');
    expect(t.stats.connectionsUnknown).toBe(1);
    expect(t.footprint().bufferedBytes).toBe(0);
  });

  it('joins tiny first reads before judging them', () => {
    const { t, calls } = tracker();
    for (const b of GET) t.onData('s', info(80), 'egress', Uint8Array.of(b), 1n);
    t.onData('s', info(80), 'ingress', OK, 2n);
    expect(calls.map((c) => c.resource)).toEqual(['/x']);
  });

  it('decode-as forces a protocol by port', () => {
    const { t } = tracker({ decodeAs: new Map([[9999, 'http2']]) });
    t.onData('d', info(9999), 'egress', GET, 1n);
    expect(t.protocolOf('d')).toBe('http2');
  });

  it('bounds partial frames per direction and resynchronises after an overflow', () => {
    const { t, calls } = tracker({ maxBufferBytes: 1024 });
    t.onData('o', info(80, 'client'), 'egress', enc.encode('GET /big HTTP/1.1\r\nX: '), 1n);
    t.onData('o', info(80, 'client'), 'egress', new Uint8Array(2000).fill(97), 2n);
    expect(t.stats.bufferOverflows).toBe(1);
    expect(t.footprint().bufferedBytes).toBe(0);
    t.onData('o', info(80, 'client'), 'egress', GET, 3n);
    t.onData('o', info(80, 'client'), 'ingress', OK, 4n);
    expect(calls.map((c) => c.resource)).toEqual(['/x']);
  });

  it('evicts past maxConnections and expires idle connections', () => {
    const { t } = tracker({ maxConnections: 3, idleTimeoutNs: 100n });
    for (let i = 0; i < 5; i++) t.onData(`c${i}`, info(80), 'egress', GET, BigInt(i));
    expect(t.footprint().connections).toBe(3);
    expect(t.stats.connectionsEvicted).toBe(2);
    t.onData('c4', info(80), 'egress', GET, 150n);
    t.expire(200n);
    expect(t.footprint().connections).toBe(1);
    expect(t.stats.connectionsExpired).toBe(2);
    // The pending request of an expired connection never got its response: counted, not emitted.
    expect(t.stats.stitchErrors).toBeGreaterThan(0);
  });

  it('switches protocols after an HTTP Upgrade to h2c', () => {
    const { t, calls } = tracker();
    const i = info(80, 'client');
    t.onData(
      'u',
      i,
      'egress',
      enc.encode('GET / HTTP/1.1\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n'),
      1n,
    );
    t.onData('u', i, 'ingress', enc.encode('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n'), 2n);
    // The client's preface and a request on stream 3: HEADERS with :method GET, :path /, :scheme http.
    const preface = enc.encode('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    const settings = Uint8Array.of(0, 0, 0, 4, 0, 0, 0, 0, 0);
    const headers = Uint8Array.of(0, 0, 3, 1, 5, 0, 0, 0, 3, 0x82, 0x84, 0x86);
    t.onData('u', i, 'egress', Buffer.concat([preface, settings, headers]), 3n);
    t.onData('u', i, 'ingress', Uint8Array.of(0, 0, 1, 1, 5, 0, 0, 0, 3, 0x88), 4n);
    // Stream 1 answers the upgraded HTTP/1.1 request (RFC 9113 3.2): 204.
    t.onData('u', i, 'ingress', Uint8Array.of(0, 0, 1, 1, 5, 0, 0, 0, 1, 0x89), 5n);
    expect(calls.map((c) => `${c.protocol} ${c.method} ${c.resource} ${c.status}`)).toEqual([
      'http GET / 101',
      'http2 GET / 200',
      'http2 GET / 204',
    ]);
    expect(calls[2]!.startNs).toBe(1n);
  });

  it('stops re-detecting a connection whose protocol keeps ending', () => {
    const calls: ApiCall[] = [];
    const endless = {
      ...protocolSpecs[0]!,
      detect: () => ({ score: 1 }),
      parseFrame: () => ({ state: 'eos' as const, consumed: 0 }),
    };
    const t = new ConnectionTracker({ specs: [endless], onCall: (c) => calls.push(c) });
    t.onData('e', info(80), 'egress', GET, 1n);
    expect(t.protocolOf('e')).toBe('unknown');
  });
});
