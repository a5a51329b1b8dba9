/**
 * Builds capture files from scratch, for tests and benchmarks: IPv4/IPv6 TCP and UDP packets under the link
 * types the reader supports, written as classic pcap (micro or nano seconds) or pcapng.
 */
export interface SyntheticPacket {
  tsNs: bigint;
  data: Uint8Array;
}

export interface TcpSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  payload?: Uint8Array;
}

function ipBytes(ip: string): number[] {
  if (!ip.includes(':')) return ip.split('.').map(Number);
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const v = Number.parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

function transport(proto: 6 | 17, t: TcpSpec): number[] {
  const payload = [...(t.payload ?? [])];
  if (proto === 17) {
    const len = 8 + payload.length;
    return [
      t.sport >> 8,
      t.sport & 0xff,
      t.dport >> 8,
      t.dport & 0xff,
      len >> 8,
      len & 0xff,
      0,
      0,
      ...payload,
    ];
  }
  const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  return [
    t.sport >> 8,
    t.sport & 0xff,
    t.dport >> 8,
    t.dport & 0xff,
    ...u32(t.seq >>> 0),
    ...u32((t.ack ?? 0) >>> 0),
    0x50,
    t.flags,
    0xff,
    0xff,
    0,
    0,
    0,
    0,
    ...payload,
  ];
}

/** An IP packet (v4 or v6 from the address form) carrying TCP (6) or UDP (17). */
export function ipPacket(proto: 6 | 17, t: TcpSpec): number[] {
  const body = transport(proto, t);
  if (t.src.includes(':')) {
    return [
      0x60,
      0,
      0,
      0,
      body.length >> 8,
      body.length & 0xff,
      proto,
      64,
      ...ipBytes(t.src),
      ...ipBytes(t.dst),
      ...body,
    ];
  }
  const total = 20 + body.length;
  return [
    0x45,
    0,
    total >> 8,
    total & 0xff,
    0,
    0,
    0x40,
    0,
    64,
    proto,
    0,
    0,
    ...ipBytes(t.src),
    ...ipBytes(t.dst),
    ...body,
  ];
}

/** Wraps an IP packet in a link-layer header of `linkType` (1 Ethernet, 0 null, 101 raw, 113 SLL, 276 SLL2). */
export function linkFrame(linkType: number, ip: number[], vlan = false): Uint8Array {
  const v6 = ip[0]! >> 4 === 6;
  const etherType = v6 ? [0x86, 0xdd] : [0x08, 0x00];
  switch (linkType) {
    case 1:
      return Uint8Array.from([
        ...Array(12).fill(2),
        ...(vlan ? [0x81, 0x00, 0, 7] : []),
        ...etherType,
        ...ip,
      ]);
    case 0:
      return Uint8Array.from([v6 ? 30 : 2, 0, 0, 0, ...ip]);
    case 101:
      return Uint8Array.from(ip);
    case 113:
      return Uint8Array.from([0, 0, 0, 1, 0, 6, ...Array(8).fill(0), ...etherType, ...ip]);
    case 276:
      return Uint8Array.from([...etherType, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, ...Array(8).fill(0), ...ip]);
    default:
      throw new Error(`cannot build link type ${linkType}`);
  }
}

/** Classic pcap, little-endian, microsecond (or nanosecond) timestamps. */
export function writePcap(linkType: number, packets: readonly SyntheticPacket[], nanos = false): Uint8Array {
  const size = 24 + packets.reduce((n, p) => n + 16 + p.data.length, 0);
  const out = Buffer.alloc(size);
  out.writeUInt32LE(nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(262144, 16);
  out.writeUInt32LE(linkType, 20);
  let at = 24;
  for (const p of packets) {
    out.writeUInt32LE(Number(p.tsNs / 1_000_000_000n), at);
    const frac = p.tsNs % 1_000_000_000n;
    out.writeUInt32LE(Number(nanos ? frac : frac / 1000n), at + 4);
    out.writeUInt32LE(p.data.length, at + 8);
    out.writeUInt32LE(p.data.length, at + 12);
    out.set(p.data, at + 16);
    at += 16 + p.data.length;
  }
  return out;
}

/** pcapng with one interface (default microsecond resolution) and Enhanced Packet Blocks. */
export function writePcapng(linkType: number, packets: readonly SyntheticPacket[]): Uint8Array {
  const blocks: Buffer[] = [];
  const block = (type: number, body: Buffer) => {
    const len = 12 + body.length + ((4 - (body.length % 4)) % 4);
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    body.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    blocks.push(b);
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  block(0x0a0d0d0a, shb);
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(linkType, 0);
  idb.writeUInt32LE(262144, 4);
  block(1, idb);
  for (const p of packets) {
    const body = Buffer.alloc(20 + p.data.length);
    const us = p.tsNs / 1000n;
    body.writeUInt32LE(0, 0);
    body.writeUInt32LE(Number(us >> 32n), 4);
    body.writeUInt32LE(Number(us & 0xffffffffn), 8);
    body.writeUInt32LE(p.data.length, 12);
    body.writeUInt32LE(p.data.length, 16);
    body.set(p.data, 20);
    block(6, body);
  }
  return Buffer.concat(blocks);
}
