import type { DetectInput, DetectResult, MessageType, ParseResult } from '../contract.ts';
import {
  MAX_CONTROL_LINE,
  MAX_HEADER_NAME,
  MAX_HEADERS,
  MAX_PAYLOAD,
  MAX_TEXT,
  type NatsFrame,
  type NatsOp,
  type NatsState,
} from './types.ts';

/** The answer for bytes that are clearly not this protocol: shared, so saying no allocates nothing. */
const NO: DetectResult = Object.freeze({ score: 0 });

const CR = 0x0d;
const LF = 0x0a;
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder();

/** Operations each side may send. */
const CLIENT_OPS = new Set<NatsOp>(['CONNECT', 'PUB', 'HPUB', 'SUB', 'UNSUB', 'PING', 'PONG']);
const SERVER_OPS = new Set<NatsOp>(['INFO', 'MSG', 'HMSG', 'PING', 'PONG', '+OK', '-ERR']);
const ALL_OPS: NatsOp[] = [
  'INFO',
  'CONNECT',
  'PUB',
  'HPUB',
  'SUB',
  'UNSUB',
  'MSG',
  'HMSG',
  'PING',
  'PONG',
  '+OK',
  '-ERR',
];

/** The operation named at `p` (case-insensitive) followed by a space, tab or CR, without allocating. */
function opAt(b: Uint8Array, p: number): NatsOp | undefined {
  outer: for (const op of ALL_OPS) {
    if (b.length - p < op.length + 1) continue;
    for (let i = 0; i < op.length; i++) {
      const c = b[p + i]!;
      const want = op.charCodeAt(i);
      if (c !== want && (c | 0x20) !== (want | 0x20)) continue outer;
    }
    const next = b[p + op.length];
    if (next === 0x20 || next === 0x09 || next === CR) return op;
  }
  return undefined;
}

/** Cheap detection; allocates nothing. INFO/CONNECT with a JSON object open a NATS connection. */
export function detectNats(input: DetectInput): DetectResult {
  const d = input.data;
  if (input.transport !== 'tcp' || d.length < 6) return NO;
  const op = opAt(d, 0);
  if (op === undefined) return NO;
  const hinted = input.localPort === 4222 || input.remotePort === 4222;
  if ((op === 'INFO' || op === 'CONNECT') && d[op.length + 1] === 0x7b /* { */) {
    return { score: 1, messageType: op === 'INFO' ? 'response' : 'request' };
  }
  // Mid-connection: a PUB/SUB or MSG line is plausible, not certain.
  if (op === 'PUB' || op === 'HPUB' || op === 'SUB')
    return { score: hinted ? 0.7 : 0.4, messageType: 'request' };
  if (op === 'MSG' || op === 'HMSG') return { score: hinted ? 0.7 : 0.4, messageType: 'response' };
  return NO;
}

export function parseNats(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
  state: NatsState,
): ParseResult<NatsFrame> {
  if (buf.length - offset < 4) return { state: 'needs-more-data', consumed: 0 };
  const op = opAt(buf, offset);
  if (op === undefined) {
    // Could be the start of a word still arriving.
    return buf.length - offset < 8 && buf.indexOf(LF, offset) < 0
      ? { state: 'needs-more-data', consumed: 0 }
      : { state: 'invalid', consumed: 0 };
  }
  if (!(type === 'request' ? CLIENT_OPS : SERVER_OPS).has(op)) return { state: 'invalid', consumed: 0 };
  const limit = Math.min(
    buf.length,
    offset + MAX_CONTROL_LINE + (op === 'INFO' || op === 'CONNECT' ? 60_000 : 0),
  );
  let lf = -1;
  for (let i = offset; i < limit; i++) {
    if (buf[i] === LF) {
      lf = i;
      break;
    }
  }
  if (lf < 0)
    return limit === buf.length
      ? { state: 'needs-more-data', consumed: 0 }
      : { state: 'invalid', consumed: 0 };
  const lineEnd = buf[lf - 1] === CR ? lf - 1 : lf;
  const frame: NatsFrame = { tsNs, size: lf + 1 - offset, op };
  if (op === 'CONNECT' || op === 'INFO') {
    if (op === 'CONNECT') {
      const json = latin1.decode(buf.subarray(offset + 8, lineEnd));
      frame.verbose = /"verbose"\s*:\s*true/.test(json);
      state.verbose = frame.verbose;
    }
    return { state: 'success', consumed: frame.size, frames: [frame] };
  }
  if (op === 'PING' || op === 'PONG' || op === '+OK')
    return { state: 'success', consumed: frame.size, frames: [frame] };
  const args = latin1
    .decode(buf.subarray(offset + op.length, Math.min(lineEnd, offset + op.length + MAX_TEXT * 3)))
    .trim();
  if (op === '-ERR') {
    frame.text = args.replace(/^'|'$/g, '').slice(0, MAX_TEXT);
    return { state: 'success', consumed: frame.size, frames: [frame] };
  }
  const words = args.split(/[ \t]+/);
  if (op === 'SUB') {
    if (words.length < 2 || words.length > 3) return { state: 'invalid', consumed: 0 };
    frame.subject = words[0];
    frame.sid = words[words.length - 1];
    if (words.length === 3) frame.queue = words[1];
    return { state: 'success', consumed: frame.size, frames: [frame] };
  }
  if (op === 'UNSUB') {
    if (words.length < 1 || words.length > 2 || words[0] === '') return { state: 'invalid', consumed: 0 };
    frame.sid = words[0];
    return { state: 'success', consumed: frame.size, frames: [frame] };
  }
  // PUB subject [reply] size | HPUB subject [reply] hdr total | MSG subject sid [reply] size | HMSG subject sid [reply] hdr total
  const withHeaders = op === 'HPUB' || op === 'HMSG';
  const fixed = (op === 'MSG' || op === 'HMSG' ? 2 : 1) + (withHeaders ? 2 : 1);
  if (words.length !== fixed && words.length !== fixed + 1) return { state: 'invalid', consumed: 0 };
  const size = Number(words[words.length - 1]);
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAYLOAD) return { state: 'invalid', consumed: 0 };
  frame.subject = words[0];
  let i = 1;
  if (op === 'MSG' || op === 'HMSG') frame.sid = words[i++];
  if (words.length === fixed + 1) frame.replyTo = words[i];
  const total = lf + 1 + size + 2;
  if (buf.length < total) return { state: 'needs-more-data', consumed: 0 };
  if (buf[total - 2] !== CR || buf[total - 1] !== LF) return { state: 'invalid', consumed: 0 };
  frame.payloadSize = size;
  if (withHeaders) {
    const hdr = Number(words[words.length - 2]);
    if (!Number.isInteger(hdr) || hdr < 0 || hdr > size) return { state: 'invalid', consumed: 0 };
    frame.payloadSize = size - hdr;
    const headers = parseNatsHeaders(buf.subarray(lf + 1, lf + 1 + hdr));
    if (headers) frame.headers = headers;
  }
  frame.size = total - offset;
  return { state: 'success', consumed: frame.size, frames: [frame] };
}

/**
 * The header block of HPUB/HMSG: `NATS/1.0[ status]\r\n` then MIME-style `Name: value` lines, an empty line
 * last. Names keep their case (NATS headers are case-sensitive; readers look names up case-insensitively).
 * Bounded (MAX_HEADERS, MAX_HEADER_NAME, MAX_TEXT per value); a block cut short by the capture (zero-filled)
 * keeps the lines before the damage. A repeated name keeps its first value.
 */
export function parseNatsHeaders(block: Uint8Array): Record<string, string> | undefined {
  const text = utf8.decode(block);
  if (!text.startsWith('NATS/1.0')) return undefined;
  const out: Record<string, string> = {};
  let n = 0;
  const lines = text.split('\r\n');
  for (let i = 1; i < lines.length && n < MAX_HEADERS; i++) {
    const line = lines[i]!;
    if (line === '') break;
    const colon = line.indexOf(':');
    // A zero byte means the capture lost what follows: stop at the first damaged line.
    if (colon <= 0 || colon > MAX_HEADER_NAME || line.includes('\0')) break;
    const name = line.slice(0, colon).trim();
    if (name === '' || Object.hasOwn(out, name)) continue;
    out[name] = line
      .slice(colon + 1)
      .trim()
      .slice(0, MAX_TEXT);
    n++;
  }
  return n > 0 ? out : undefined;
}

/** Next offset where a known operation starts a line. */
export function findNatsBoundary(type: MessageType, buf: Uint8Array, offset: number): number {
  const ops = type === 'request' ? CLIENT_OPS : SERVER_OPS;
  for (let i = Math.max(0, offset); i < buf.length; i++) {
    if (i > 0 && buf[i - 1] !== LF) continue;
    const op = opAt(buf, i);
    if (op !== undefined && ops.has(op)) return i;
  }
  return -1;
}
