import { IpFragmentReassembler } from './ipFragments.ts';

/**
 * Link layer -> IPv4/IPv6 -> TCP/UDP. Link types: Ethernet (1, with 802.1Q/802.1ad VLAN tags), BSD
 * loopback/null (0, host byte order) and OpenBSD loop (108), raw IP (101, 12, 14, 228, 229), Linux cooked
 * SLL (113) and SLL2 (276); PPPoE sessions inside Ethernet. Returns undefined for anything else (ARP, ICMP, truncated headers...).
 */
export interface TransportSegment {
  proto: 'tcp' | 'udp';
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** TCP only. */
  seq: number;
  ack: number;
  flags: number;
  payload: Uint8Array;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

export type DecodeOutcome =
  | TransportSegment
  | 'unsupported-link'
  | 'not-ip'
  | 'truncated'
  | 'fragment-pending';

export class PacketDecoder {
  private readonly fragments = new IpFragmentReassembler();

  decode(linkType: number, data: Uint8Array, tsNs: bigint): DecodeOutcome {
    const ip = ipOffset(linkType, data);
    if (typeof ip === 'string') return ip;
    return this.decodeIp(data, ip, tsNs);
  }

  private decodeIp(data: Uint8Array, at: number, tsNs: bigint): DecodeOutcome {
    if (at >= data.length) return 'truncated';
    const version = data[at]! >> 4;
    if (version === 4) return this.decodeIpv4(data, at, tsNs);
    if (version === 6) return this.decodeIpv6(data, at, tsNs);
    return 'not-ip';
  }

  private decodeIpv4(data: Uint8Array, at: number, tsNs: bigint): DecodeOutcome {
    if (data.length - at < 20) return 'truncated';
    const ihl = (data[at]! & 0x0f) * 4;
    const total = (data[at + 2]! << 8) | data[at + 3]!;
    if (ihl < 20 || total < ihl) return 'truncated';
    const end = Math.min(data.length, at + total);
    const proto = data[at + 9]!;
    const src = `${data[at + 12]}.${data[at + 13]}.${data[at + 14]}.${data[at + 15]}`;
    const dst = `${data[at + 16]}.${data[at + 17]}.${data[at + 18]}.${data[at + 19]}`;
    const fragField = (data[at + 6]! << 8) | data[at + 7]!;
    const moreFragments = (fragField & 0x2000) !== 0;
    const fragOffset = (fragField & 0x1fff) * 8;
    let payload = data.subarray(at + ihl, end);
    if (moreFragments || fragOffset > 0) {
      const id = (data[at + 4]! << 8) | data[at + 5]!;
      const whole = this.fragments.add(
        `${src}>${dst}/${proto}/${id}`,
        fragOffset,
        moreFragments,
        payload,
        tsNs,
      );
      if (whole === undefined) return 'fragment-pending';
      payload = whole;
    }
    return decodeTransport(proto, src, dst, payload);
  }

  private decodeIpv6(data: Uint8Array, at: number, tsNs: bigint): DecodeOutcome {
    if (data.length - at < 40) return 'truncated';
    const payloadLen = (data[at + 4]! << 8) | data[at + 5]!;
    let next = data[at + 6]!;
    const src = ipv6String(data, at + 8);
    const dst = ipv6String(data, at + 24);
    const end = payloadLen === 0 ? data.length : Math.min(data.length, at + 40 + payloadLen);
    let p = at + 40;
    // Walk extension headers: hop-by-hop (0), routing (43), destination options (60).
    for (let hops = 0; hops < 8 && (next === 0 || next === 43 || next === 60); hops++) {
      if (p + 2 > end) return 'truncated';
      const n = data[p]!;
      p += (data[p + 1]! + 1) * 8;
      next = n;
    }
    if (next === 44) {
      // Fragment header: next header, reserved, offset (13 bits) + M flag, identification.
      if (p + 8 > end) return 'truncated';
      const proto = data[p]!;
      const field = (data[p + 2]! << 8) | data[p + 3]!;
      const id = ((data[p + 4]! << 24) | (data[p + 5]! << 16) | (data[p + 6]! << 8) | data[p + 7]!) >>> 0;
      const key = `${src}>${dst}/${id}`;
      const whole = this.fragments.add(
        key,
        field & 0xfff8,
        (field & 1) === 1,
        data.subarray(p + 8, end),
        tsNs,
      );
      if (whole === undefined) return 'fragment-pending';
      return decodeTransport(proto, src, dst, whole);
    }
    return decodeTransport(next, src, dst, data.subarray(Math.min(p, end), end));
  }
}

function ipOffset(linkType: number, d: Uint8Array): number | 'unsupported-link' | 'not-ip' | 'truncated' {
  switch (linkType) {
    case 1: {
      let at = 12;
      for (let tags = 0; tags < 4; tags++) {
        if (d.length < at + 2) return 'truncated';
        const etherType = (d[at]! << 8) | d[at + 1]!;
        if (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
          at += 4;
          continue;
        }
        if (etherType === 0x8864) {
          // PPPoE session: 6-byte PPPoE header, then the 2-byte PPP protocol (0x21 IPv4, 0x57 IPv6).
          if (d.length < at + 10) return 'truncated';
          const ppp = (d[at + 8]! << 8) | d[at + 9]!;
          return ppp === 0x0021 || ppp === 0x0057 ? at + 10 : 'not-ip';
        }
        return etherType === 0x0800 || etherType === 0x86dd ? at + 2 : 'not-ip';
      }
      return 'not-ip';
    }
    case 0:
    case 108:
      return d.length >= 4 ? 4 : 'truncated';
    case 101:
    case 12:
    case 14:
    case 228:
    case 229:
      return 0;
    case 113: {
      if (d.length < 16) return 'truncated';
      const proto = (d[14]! << 8) | d[15]!;
      return proto === 0x0800 || proto === 0x86dd ? 16 : 'not-ip';
    }
    case 276: {
      if (d.length < 20) return 'truncated';
      const proto = (d[0]! << 8) | d[1]!;
      return proto === 0x0800 || proto === 0x86dd ? 20 : 'not-ip';
    }
    default:
      return 'unsupported-link';
  }
}

function ipv6String(d: Uint8Array, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((d[at + i]! << 8) | d[at + i + 1]!).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

function decodeTransport(proto: number, srcIp: string, dstIp: string, p: Uint8Array): DecodeOutcome {
  if (proto === 6) {
    if (p.length < 20) return 'truncated';
    const off = (p[12]! >> 4) * 4;
    if (off < 20 || off > p.length) return 'truncated';
    return {
      proto: 'tcp',
      srcIp,
      dstIp,
      srcPort: (p[0]! << 8) | p[1]!,
      dstPort: (p[2]! << 8) | p[3]!,
      seq: ((p[4]! << 24) | (p[5]! << 16) | (p[6]! << 8) | p[7]!) >>> 0,
      ack: ((p[8]! << 24) | (p[9]! << 16) | (p[10]! << 8) | p[11]!) >>> 0,
      flags: p[13]!,
      payload: p.subarray(off),
    };
  }
  if (proto === 17) {
    if (p.length < 8) return 'truncated';
    const len = (p[4]! << 8) | p[5]!;
    const end = len >= 8 ? Math.min(p.length, len) : p.length;
    return {
      proto: 'udp',
      srcIp,
      dstIp,
      srcPort: (p[0]! << 8) | p[1]!,
      dstPort: (p[2]! << 8) | p[3]!,
      seq: 0,
      ack: 0,
      flags: 0,
      payload: p.subarray(8, end),
    };
  }
  return 'not-ip';
}
