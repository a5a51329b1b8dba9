import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ApiCall } from '../protocols/contract.ts';
import { protocolSpecs } from '../protocols/registry.ts';
import { CaptureFormatError, readCapture } from './captureFile.ts';
import { TCP_ACK, TCP_FIN, TCP_SYN } from './packetDecoder.ts';
import { replayCapture } from './pcapSource.ts';
import { ipPacket, linkFrame, type SyntheticPacket, writePcap, writePcapng } from './syntheticCapture.ts';

const enc = new TextEncoder();
const summary = (calls: ApiCall[]) => calls.map((c) => `${c.protocol} ${c.method} ${c.resource} ${c.status}`);

interface Segment {
  fromClient: boolean;
  seq: number;
  flags: number;
  payload?: string;
}

/** A client/server HTTP conversation as TCP segments with relative sequence numbers (ISNs 1000 / 5000). */
function conversation(): Segment[] {
  const req1 = 'GET /first HTTP/1.1\r\nHost: a\r\n\r\n';
  const resp1 = 'HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n' + 'b'.repeat(30);
  const req2 = 'GET /second HTTP/1.1\r\nHost: a\r\n\r\n';
  const resp2 = 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n';
  const c = 1001;
  const s = 5001;
  return [
    { fromClient: true, seq: 1000, flags: TCP_SYN },
    { fromClient: false, seq: 5000, flags: TCP_SYN | TCP_ACK },
    { fromClient: true, seq: c, flags: TCP_ACK, payload: req1.slice(0, 10) },
    { fromClient: true, seq: c + 10, flags: TCP_ACK, payload: req1.slice(10) },
    { fromClient: false, seq: s, flags: TCP_ACK, payload: resp1.slice(0, 20) },
    { fromClient: false, seq: s + 20, flags: TCP_ACK, payload: resp1.slice(20, 50) },
    { fromClient: false, seq: s + 50, flags: TCP_ACK, payload: resp1.slice(50) },
    { fromClient: true, seq: c + req1.length, flags: TCP_ACK, payload: req2 },
    { fromClient: false, seq: s + resp1.length, flags: TCP_ACK, payload: resp2 },
    { fromClient: true, seq: c + req1.length + req2.length, flags: TCP_FIN | TCP_ACK },
    { fromClient: false, seq: s + resp1.length + resp2.length, flags: TCP_FIN | TCP_ACK },
  ];
}

function packets(segs: Segment[], linkType: number, v6 = false, vlan = false): SyntheticPacket[] {
  const client = v6 ? '2001:db8::1' : '10.0.0.1';
  const server = v6 ? '2001:db8::2' : '10.0.0.2';
  return segs.map((s, i) => ({
    tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n,
    data: linkFrame(
      linkType,
      ipPacket(6, {
        src: s.fromClient ? client : server,
        dst: s.fromClient ? server : client,
        sport: s.fromClient ? 40000 : 80,
        dport: s.fromClient ? 80 : 40000,
        seq: s.seq,
        flags: s.flags,
        payload: s.payload === undefined ? undefined : enc.encode(s.payload),
      }),
      vlan,
    ),
  }));
}

const replay = (bytes: Uint8Array) => replayCapture(bytes, protocolSpecs);
const BOTH = ['http GET /first 200', 'http GET /second 404'];

describe('capture reader and TCP reassembly', () => {
  const layouts: [string, number, boolean, boolean][] = [
    ['Ethernet IPv4', 1, false, false],
    ['Ethernet + 802.1Q IPv6', 1, true, true],
    ['BSD loopback IPv4', 0, false, false],
    ['raw IPv6', 101, true, false],
    ['Linux cooked SLL IPv4', 113, false, false],
    ['Linux cooked SLL2 IPv6', 276, true, false],
  ];
  for (const [name, link, v6, vlan] of layouts) {
    it(`decodes ${name} in pcap, nanosecond pcap, pcapng and gzip`, () => {
      const pk = packets(conversation(), link, v6, vlan);
      for (const file of [
        writePcap(link, pk),
        writePcap(link, pk, true),
        writePcapng(link, pk),
        gzipSync(writePcap(link, pk)),
      ]) {
        const r = replay(file);
        expect(summary(r.calls)).toEqual(BOTH);
        expect(r.calls[0]!.role).toBe('client');
        expect(r.calls[0]!.client?.port).toBe(40000);
        expect(r.calls[0]!.startNs).toBe(1_700_000_000_000_000_000n + 2_000_000n);
      }
    });
  }

  it('reorders out-of-order segments and drops retransmissions and overlaps', () => {
    const segs = conversation();
    const shuffled = [
      segs[0]!,
      segs[1]!,
      segs[3]!,
      segs[2]!,
      segs[2]!,
      segs[6]!,
      segs[4]!,
      segs[5]!,
      segs[4]!,
    ];
    shuffled.push(
      { ...segs[5]!, seq: segs[5]!.seq + 5, payload: segs[5]!.payload!.slice(5) },
      ...segs.slice(7),
    );
    const r = replay(writePcap(1, packets(shuffled, 1)));
    expect(summary(r.calls)).toEqual(BOTH);
    expect(r.source.retransmittedBytes).toBeGreaterThan(0);
  });

  it('skips a gap the peer acknowledged and resynchronises on the next message', () => {
    const segs = conversation().filter((_, i) => i !== 5); // part of the first response body never captured
    const r = replay(writePcap(1, packets(segs, 1)));
    expect(summary(r.calls)).toContain('http GET /second 404');
    expect(r.source.tcpGaps).toBe(1);
  });

  it('follows a capture that starts mid-connection (no handshake)', () => {
    const r = replay(writePcap(1, packets(conversation().slice(7), 1)));
    expect(summary(r.calls)).toEqual(['http GET /second 404']);
    expect(r.calls[0]!.role).toBe('client');
  });

  it('decodes DNS over UDP on IPv6', () => {
    const query = Buffer.from('abcd01000001000000000000076578616d706c6503636f6d0000010001', 'hex');
    const reply = Buffer.from('abcd81800001000000000000076578616d706c6503636f6d0000010001', 'hex');
    const udp = (
      src: string,
      dst: string,
      sport: number,
      dport: number,
      payload: Uint8Array,
      ts: bigint,
    ) => ({
      tsNs: ts,
      data: linkFrame(1, ipPacket(17, { src, dst, sport, dport, seq: 0, flags: 0, payload })),
    });
    const r = replay(
      writePcapng(1, [
        udp('fd00::1', 'fd00::53', 5555, 53, query, 1n),
        udp('fd00::53', 'fd00::1', 53, 5555, reply, 2n),
      ]),
    );
    expect(summary(r.calls)).toEqual(['dns A example.com NOERROR']);
    expect(r.calls[0]!.server).toEqual({ ip: 'fd00::53', port: 53 });
  });

  it('rejects files that are not captures with a clear error', () => {
    expect(() => [...readCapture(enc.encode('hello world, not a capture'))]).toThrow(
      /not a pcap or pcapng file/,
    );
    expect(() => [...readCapture(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]))]).toThrow(CaptureFormatError);
    expect(() => [...readCapture(Uint8Array.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0]))]).toThrow(
      /truncated file header/,
    );
    const ng = Buffer.from(writePcapng(1, packets(conversation(), 1)));
    ng.writeUInt32LE(13, 28 + 4); // the IDB's length is no longer a multiple of 4
    expect(() => [...readCapture(ng)]).toThrow(/bad block length/);
  });

  it('reads a real capture the same after editcap rewrites it as pcapng and nanosecond pcap', () => {
    const src = resolve(
      import.meta.dirname,
      '../../../shared/testdata/pcaps/http/zeek__http__pipelined-requests.pcap',
    );
    const dir = mkdtempSync(join(tmpdir(), 'pcap-'));
    const ng = join(dir, 'a.pcapng');
    const ns = join(dir, 'a.pcap');
    execFileSync('editcap', ['-F', 'pcapng', src, ng]);
    execFileSync('editcap', ['-F', 'nsecpcap', src, ns]);
    const want = summary(replay(readFileSync(src)).calls);
    expect(want).toHaveLength(5);
    expect(summary(replay(readFileSync(ng)).calls)).toEqual(want);
    expect(summary(replay(readFileSync(ns)).calls)).toEqual(want);
  });
});
