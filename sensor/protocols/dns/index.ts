import type {
  ApiCall,
  DetectInput,
  DetectResult,
  MessageType,
  ParseResult,
  ProtocolSpec,
} from '../contract.ts';
import { readU16 } from '../tracker/bytes.ts';
import { decodeDns, qtypeName, rcodeName, readName } from './message.ts';
import type { DnsFrame, DnsState } from './types.ts';

/**
 * DNS over UDP (one message per datagram) and TCP (each message behind a 2-byte length, RFC 1035 4.2.2).
 * Spec: https://www.rfc-editor.org/rfc/rfc1035
 */
const DNS_PORTS = new Set([53, 5353, 5355]);

/** How much the bytes look like a DNS message starting at `at`; 0..0.7. */
function messageScore(d: Uint8Array, at: number, end: number): number {
  if (end - at < 12) return 0;
  const flags = readU16(d, at + 2);
  const opcode = (flags >> 11) & 0xf;
  const qd = readU16(d, at + 4);
  if (opcode > 6 || opcode === 3 || qd > 4) return 0;
  if (readU16(d, at + 6) > 256 || readU16(d, at + 8) > 256 || readU16(d, at + 10) > 256) return 0;
  if (qd === 0) return 0.3;
  const q = readName(d, at, end, at + 12);
  if (q === undefined || q.next + 4 > end) return 0.3;
  const qclass = readU16(d, q.next + 2) & 0x7fff; // mDNS uses the top bit for unicast-response
  if (qclass !== 1 && qclass !== 3 && qclass !== 4 && qclass !== 254 && qclass !== 255) return 0.3;
  return 0.7;
}

function detect(input: DetectInput): DetectResult {
  const d = input.data;
  let at = 0;
  if (input.transport === 'tcp') {
    if (d.length < 14 || readU16(d, 0) < 12) return { score: 0 };
    at = 2;
  }
  let score = messageScore(d, at, d.length);
  if (score === 0) return { score: 0 };
  if (DNS_PORTS.has(input.remotePort ?? -1) || DNS_PORTS.has(input.localPort ?? -1)) score += 0.25;
  const isResponse = (d[at + 2]! & 0x80) !== 0;
  return { score, messageType: isResponse ? 'response' : 'request' };
}

function parseFrame(
  _type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
  state: DnsState & { tcp: boolean },
): ParseResult<DnsFrame> {
  let start = offset;
  let end = buf.length;
  if (state.tcp) {
    if (end - offset < 2) return { state: 'needs-more-data', consumed: 0 };
    const len = readU16(buf, offset);
    if (len < 12) return { state: 'invalid', consumed: 0 };
    if (end - offset < 2 + len) return { state: 'needs-more-data', consumed: 0 };
    start = offset + 2;
    end = start + len;
  }
  const msg = decodeDns(buf, start, end);
  if (msg === undefined) return { state: 'invalid', consumed: 0 };
  const frame: DnsFrame = {
    tsNs,
    size: end - offset,
    id: msg.id,
    isResponse: msg.isResponse,
    opcode: msg.opcode,
    rcode: msg.rcode,
    qname: msg.qname,
    qtype: msg.qtype,
    answerCount: msg.ancount,
    answers: msg.answers,
    ...(msg.minTtl === undefined ? {} : { minTtl: msg.minTtl }),
  };
  return { state: 'success', consumed: end - offset, frames: [frame] };
}

function findFrameBoundary(
  _type: MessageType,
  buf: Uint8Array,
  offset: number,
  state: DnsState & { tcp: boolean },
): number {
  if (!state.tcp) return -1; // a datagram that does not parse is dropped whole
  for (let i = offset; i + 14 <= buf.length; i++) {
    const len = readU16(buf, i);
    if (len >= 12 && len <= 65535 && messageScore(buf, i + 2, Math.min(buf.length, i + 2 + len)) >= 0.7)
      return i;
  }
  return -1;
}

/** Pairs by message id (and question): DNS answers out of order, and one socket may carry many queries. */
function stitch(requests: DnsFrame[], responses: DnsFrame[]): { calls: ApiCall[]; errors: number } {
  // A message's QR bit, not the direction guess, says what it is.
  const queries = requests.filter((f) => !f.isResponse).concat(responses.filter((f) => !f.isResponse));
  const answers = responses.filter((f) => f.isResponse).concat(requests.filter((f) => f.isResponse));
  const calls: ApiCall[] = [];
  let errors = 0;
  const unanswered: DnsFrame[] = [];
  for (const q of queries) {
    const i = answers.findIndex(
      (a) =>
        a.id === q.id && (a.qname === '' || q.qname === '' || (a.qname === q.qname && a.qtype === q.qtype)),
    );
    if (i < 0) {
      unanswered.push(q);
      continue;
    }
    const a = answers.splice(i, 1)[0]!;
    calls.push(toCall(q, a));
  }
  // Answers whose query is older than every waiting query will never pair.
  const oldest = unanswered[0]?.tsNs;
  const keep: DnsFrame[] = [];
  for (const a of answers) {
    if (oldest === undefined || a.tsNs < oldest) errors++;
    else keep.push(a);
  }
  requests.length = 0;
  responses.length = 0;
  requests.push(...unanswered);
  responses.push(...keep);
  return { calls, errors };
}

function toCall(q: DnsFrame, a: DnsFrame): ApiCall {
  const qtype = q.qtype || a.qtype;
  return {
    protocol: 'dns',
    role: 'unknown',
    method: qtype === 0 ? '' : qtypeName(qtype),
    resource: q.qname || a.qname,
    status: rcodeName(a.rcode),
    error: a.rcode !== 0,
    startNs: q.tsNs,
    endNs: a.tsNs,
    reqBytes: q.size,
    respBytes: a.size,
    attributes: {
      'dns.id': q.id,
      'dns.opcode': q.opcode,
      'dns.rcode': a.rcode,
      'dns.answers': a.answers.join(','),
      ...(a.minTtl === undefined ? {} : { 'dns.answers.min_ttl': a.minTtl }),
    },
  };
}

export const spec: ProtocolSpec<DnsFrame, DnsState & { tcp: boolean }> = {
  protocol: 'dns',
  detect,
  newState: (meta) => ({ pending: 0, tcp: meta.transport === 'tcp' }),
  parseFrame,
  findFrameBoundary,
  stitch: (requests, responses) => stitch(requests, responses),
};
