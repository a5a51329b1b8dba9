import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiCall } from '../contract.ts';
import { ConnectionTracker } from '../tracker/connectionTracker.ts';
import { spec } from './index.ts';
import { decodeDns } from './message.ts';

/**
 * A tiny authoritative server written for the test answers real queries from Node's resolver (c-ares, UDP)
 * and from dig (TCP); every datagram and TCP read is fed to the tracker as the sensor would see it.
 */
function answer(query: Uint8Array): Uint8Array {
  const q = decodeDns(query, 0, query.length)!;
  const nx = q.qname.startsWith('nx');
  const withA = q.qtype === 1 && !nx;
  const out = Buffer.alloc(query.length + (withA ? 16 : 0));
  Buffer.from(query).copy(out);
  out[2] = 0x84 | (query[2]! & 0x01); // QR, AA, keep RD
  out[3] = 0x80 | (nx ? 3 : 0); // RA, rcode
  out.writeUInt16BE(withA ? 1 : 0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10); // drop the client's OPT record count; we answer without EDNS
  if (withA) Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]).copy(out, query.length);
  return out;
}

/** Queries may carry an OPT record after the question; answer only the header + question part. */
function questionOnly(msg: Buffer): Buffer {
  let at = 12;
  while (msg[at] !== 0) at += msg[at]! + 1;
  const q = Buffer.from(msg.subarray(0, at + 5));
  q.writeUInt16BE(0, 10);
  return q;
}

describe('DNS over UDP and TCP with real clients', () => {
  const calls: ApiCall[] = [];
  const tracker = new ConnectionTracker({ specs: [spec], onCall: (c) => calls.push(c) });
  let udp: UdpSocket;
  let tcp: Server;
  let port = 0;

  beforeAll(async () => {
    // One port number for both transports. The TCP side is bound first and the UDP side then takes its
    // number: a TCP port picked by UDP could meanwhile be taken by another suite's outgoing connection
    // (seen in CI as EADDRINUSE). A rare UDP clash is retried with a fresh pair.
    for (let attempt = 1; ; attempt++) {
      tcp = createServer(onTcp);
      tcp.listen(0, '127.0.0.1');
      await once(tcp, 'listening');
      port = (tcp.address() as { port: number }).port;
      udp = createSocket('udp4');
      udp.bind(port, '127.0.0.1');
      // `once` rejects when 'error' comes first (EADDRINUSE).
      const bound = await once(udp, 'listening').then(
        () => true,
        () => false,
      );
      if (bound) break;
      udp.close();
      tcp.close();
      if (attempt === 5) throw new Error('cannot bind one port number for both UDP and TCP in 5 attempts');
    }
    udp.on('message', (msg, rinfo) => {
      const info = {
        local: { ip: rinfo.address, port: rinfo.port },
        remote: { ip: '127.0.0.1', port },
        transport: 'udp' as const,
        role: 'unknown' as const,
      };
      const key = `udp ${rinfo.port}`;
      tracker.onData(key, info, 'egress', msg, process.hrtime.bigint());
      const reply = answer(questionOnly(msg));
      tracker.onData(key, info, 'ingress', reply, process.hrtime.bigint());
      udp.send(reply, rinfo.port, rinfo.address);
    });
  });

  function onTcp(sock: Socket): void {
    const info = {
      local: { ip: '127.0.0.1', port: sock.remotePort ?? 0 },
      remote: { ip: '127.0.0.1', port },
      transport: 'tcp' as const,
      role: 'client' as const,
    };
    const key = `tcp ${sock.remotePort}`;
    let pending = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      tracker.onData(key, info, 'egress', d, process.hrtime.bigint());
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const len = pending.readUInt16BE(0);
        const reply = answer(questionOnly(pending.subarray(2, 2 + len)));
        pending = pending.subarray(2 + len);
        const framed = Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 0xff]), reply]);
        tracker.onData(key, info, 'ingress', framed, process.hrtime.bigint());
        sock.write(framed);
      }
    });
    sock.on('close', () => tracker.onClose(key));
    sock.on('error', () => {});
  }

  afterAll(() => {
    udp.close();
    tcp.close();
  });

  it('pairs queries and answers by id, with qtype, qname and rcode', async () => {
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);
    expect(await resolver.resolve4('api.example.test')).toEqual(['10.1.2.3']);
    await expect(resolver.resolve4('nx.example.test')).rejects.toThrow();
    await expect(resolver.resolve6('v6.example.test')).rejects.toThrow();
    const { stdout } = await promisify(execFile)('dig', [
      '+tcp',
      '+tries=1',
      '+time=2',
      '-p',
      String(port),
      '@127.0.0.1',
      'tcp.example.test',
      'A',
    ]);
    expect(stdout).toContain('10.1.2.3');
    await new Promise((r) => setTimeout(r, 50));
    tracker.flush();
    const seen = calls.map((c) => `${c.method} ${c.resource} ${c.status}`).sort();
    expect(seen).toEqual([
      'A api.example.test NOERROR',
      'A nx.example.test NXDOMAIN',
      'A tcp.example.test NOERROR',
      'AAAA v6.example.test NOERROR',
    ]);
    const api = calls.find((c) => c.resource === 'api.example.test')!;
    expect(api.role).toBe('client');
    expect(api.attributes?.['dns.answers']).toBe('10.1.2.3');
    expect(api.attributes?.['dns.answers.min_ttl']).toBe(60);
    expect(calls.find((c) => c.resource === 'nx.example.test')!.error).toBe(true);
  });
});

describe('DNS parser edge cases', () => {
  it('renders AAAA answers in RFC 5952 form', () => {
    const answer = (addr: number[]) =>
      Uint8Array.from([
        0,
        1,
        0x81,
        0x80,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        28,
        0,
        1,
        0,
        0,
        0,
        60,
        0,
        16,
        ...addr,
      ]);
    const render = (addr: number[]) => decodeDns(answer(addr), 0, answer(addr).length)?.answers[0];
    expect(render([0x20, 1, 4, 0x70, 0x1f, 0x0b, 0x10, 0x24, 0, 0, 0, 0, 0, 0, 0, 2])).toBe(
      '2001:470:1f0b:1024::2',
    );
    expect(render([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])).toBe('::1');
    expect(render([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).toBe('fe80::');
    expect(render([0x20, 1, 0xd, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6])).toBe('2001:db8:1:2:3:4:5:6');
  });

  it('survives compression pointer loops and truncated names', () => {
    const loop = Uint8Array.from([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(decodeDns(loop, 0, loop.length)?.qname).toBe('');
    const truncated = Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 97, 98]);
    expect(decodeDns(truncated, 0, truncated.length)?.qname).toBe('');
    expect(decodeDns(loop, 0, 11)).toBeUndefined();
  });
});
