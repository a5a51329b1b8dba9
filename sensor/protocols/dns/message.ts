import { readU16 } from '../tracker/bytes.ts';
import { MAX_ANSWERS_KEPT, MAX_NAME_LENGTH, MAX_POINTER_HOPS } from './types.ts';

/** Decoded header and first question of a DNS message (RFC 1035 section 4). */
export interface DnsMessage {
  id: number;
  isResponse: boolean;
  opcode: number;
  rcode: number;
  qdcount: number;
  ancount: number;
  qname: string;
  qtype: number;
  answers: string[];
  /** Smallest TTL (seconds) among the kept answers; undefined without answers. */
  minTtl?: number;
}

interface NameRead {
  name: string;
  /** Offset right after the name in the message (pointers do not move it). */
  next: number;
}

/**
 * Reads a possibly compressed name at `at` in `msg[start, end)`; undefined when malformed. Pointers are
 * relative to the message start.
 */
export function readName(buf: Uint8Array, start: number, end: number, at: number): NameRead | undefined {
  let name = '';
  let next = -1;
  let hops = 0;
  let pos = at;
  for (;;) {
    if (pos >= end) return undefined;
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { name, next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= end || ++hops > MAX_POINTER_HOPS) return undefined;
      if (next < 0) next = pos + 2;
      pos = start + (((len & 0x3f) << 8) | buf[pos + 1]!);
      continue;
    }
    if ((len & 0xc0) !== 0) return undefined; // extended label types are obsolete
    if (pos + 1 + len > end) return undefined;
    if (name.length > 0) name += '.';
    for (let i = pos + 1; i <= pos + len; i++) name += String.fromCharCode(buf[i]!);
    if (name.length > MAX_NAME_LENGTH) return undefined;
    pos += 1 + len;
  }
}

/** Decodes a message occupying `buf[start, end)`; undefined when the header is impossible. */
export function decodeDns(buf: Uint8Array, start: number, end: number): DnsMessage | undefined {
  if (end - start < 12) return undefined;
  const flags = readU16(buf, start + 2);
  const msg: DnsMessage = {
    id: readU16(buf, start),
    isResponse: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    qdcount: readU16(buf, start + 4),
    ancount: readU16(buf, start + 6),
    qname: '',
    qtype: 0,
    answers: [],
  };
  if (msg.opcode > 6) return undefined;
  let at = start + 12;
  if (msg.qdcount > 0) {
    const q = readName(buf, start, end, at);
    if (q === undefined || q.next + 4 > end) return msg; // junk question: still a DNS message
    msg.qname = q.name;
    msg.qtype = readU16(buf, q.next);
    at = q.next + 4;
    for (let i = 1; i < msg.qdcount && at < end; i++) {
      const more = readName(buf, start, end, at);
      if (more === undefined) return msg;
      at = more.next + 4;
    }
  }
  for (let i = 0; i < msg.ancount && msg.answers.length < MAX_ANSWERS_KEPT; i++) {
    const rr = readName(buf, start, end, at);
    if (rr === undefined || rr.next + 10 > end) break;
    const type = readU16(buf, rr.next);
    const rdlen = readU16(buf, rr.next + 8);
    const rdata = rr.next + 10;
    if (rdata + rdlen > end) break;
    msg.answers.push(renderRdata(buf, start, end, type, rdata, rdlen));
    // RFC 2181 section 8: a TTL with the top bit set is read as 0.
    const ttl = ((readU16(buf, rr.next + 4) << 16) | readU16(buf, rr.next + 6)) >>> 0;
    msg.minTtl = Math.min(msg.minTtl ?? ttl, ttl > 0x7fffffff ? 0 : ttl);
    at = rdata + rdlen;
  }
  return msg;
}

function renderRdata(
  buf: Uint8Array,
  start: number,
  end: number,
  type: number,
  at: number,
  len: number,
): string {
  if (type === 1 && len === 4) return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
  if (type === 28 && len === 16) {
    const parts: string[] = [];
    for (let i = 0; i < 16; i += 2) parts.push(readU16(buf, at + i).toString(16));
    // RFC 5952: the longest run of two or more zero groups becomes '::'.
    const text = `:${parts.join(':')}:`;
    const runs = text.match(/(:0)+:/g)?.filter((r) => r.length > 4) ?? [];
    const longest = runs.reduce((a, b) => (b.length > a.length ? b : a), '');
    const compressed = longest === '' ? text : text.replace(longest, '::');
    return compressed.replace(/^:(?!:)/, '').replace(/(?<!:):$/, '');
  }
  if (type === 5 || type === 2 || type === 12) return readName(buf, start, end, at)?.name ?? '';
  return `${qtypeName(type)}(${len} bytes)`;
}

const QTYPES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  13: 'HINFO',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  35: 'NAPTR',
  41: 'OPT',
  43: 'DS',
  46: 'RRSIG',
  47: 'NSEC',
  48: 'DNSKEY',
  64: 'SVCB',
  65: 'HTTPS',
  99: 'SPF',
  252: 'AXFR',
  255: 'ANY',
  257: 'CAA',
};

/** Mnemonic of a type, or RFC 3597's `TYPE<n>` for the others. */
export function qtypeName(type: number): string {
  return QTYPES[type] ?? `TYPE${type}`;
}

const RCODES = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];

export function rcodeName(rcode: number): string {
  return RCODES[rcode] ?? `RCODE${rcode}`;
}
