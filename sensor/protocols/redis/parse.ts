import type { DetectInput, DetectResult, MessageType, ParseResult } from '../contract.ts';
import { MAX_BULK, MAX_DEPTH, MAX_ELEMENTS, MAX_TEXT, type RedisFrame } from './types.ts';

/** The answer for bytes that are clearly not this protocol: shared, so saying no allocates nothing. */
const NO: DetectResult = Object.freeze({ score: 0 });

const CR = 0x0d;
const LF = 0x0a;
const NEED_MORE = -1;
const INVALID = -2;
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** RESP3 type bytes: the RESP2 ones plus null, double, boolean, blob error, verbatim, big number, map, set, attribute, push. */
const TYPES = new Set([...'+-:$*_,#!=(%~|>'].map((c) => c.charCodeAt(0)));
const AGGREGATE_ARRAY = new Set([...'*~>'].map((c) => c.charCodeAt(0)));
const MAP_LIKE = new Set([...'%|'].map((c) => c.charCodeAt(0)));
const BLOB = new Set([...'$!='].map((c) => c.charCodeAt(0)));

/** End of the line starting at `i` (index of its CR), NEED_MORE, or INVALID for a bare LF/oversized line. */
function lineEnd(buf: Uint8Array, i: number): number {
  const limit = Math.min(buf.length, i + 64 * 1024);
  for (let j = i; j < limit; j++) {
    const c = buf[j]!;
    if (c === CR) return j + 1 < buf.length ? (buf[j + 1] === LF ? j : INVALID) : NEED_MORE;
    if (c === LF) return INVALID;
  }
  return limit === buf.length ? NEED_MORE : INVALID;
}

/** Parses a signed decimal in buf[i..end); NaN when it is not one. */
function int(buf: Uint8Array, i: number, end: number): number {
  let neg = false;
  if (buf[i] === 0x2d) {
    neg = true;
    i++;
  }
  if (i >= end || end - i > 15) return Number.NaN;
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

interface Cursor {
  /** Set by `value` for strings at the top level or the first elements of the top-level aggregate. */
  strings: (string | undefined)[];
  ints: (number | undefined)[];
  collect: number;
}

/**
 * Skips one RESP value at `i`; returns the index after it, NEED_MORE or INVALID. Copies the first
 * `cur.collect` direct children (strings, integers) of the top value into `cur`.
 */
function value(buf: Uint8Array, i: number, depth: number, cur: Cursor | undefined, slot: number): number {
  if (i >= buf.length) return NEED_MORE;
  if (depth > MAX_DEPTH) return INVALID;
  const t = buf[i]!;
  if (!TYPES.has(t)) return INVALID;
  const e = lineEnd(buf, i + 1);
  if (e < 0) return e;
  const next = e + 2;
  if (BLOB.has(t)) {
    const n = int(buf, i + 1, e);
    if (n === -1 && t === 0x24) return next; // RESP2 null bulk string
    if (!(n >= 0 && n <= MAX_BULK)) return INVALID;
    if (buf.length < next + n + 2) return NEED_MORE;
    // Two zeros: the terminator of a value whose tail the capture did not copy and filled with zeros
    // (sensor/live/liveSource.ts fills cut requests); the length already said where the value ends.
    const a = buf[next + n];
    const b = buf[next + n + 1];
    if (!((a === CR && b === LF) || (a === 0 && b === 0))) return INVALID;
    if (cur && slot >= 0 && slot < cur.collect) cur.strings[slot] = text(buf, next, next + n);
    return next + n + 2;
  }
  if (AGGREGATE_ARRAY.has(t) || MAP_LIKE.has(t)) {
    let n = int(buf, i + 1, e);
    if (n === -1 && t === 0x2a) return next; // RESP2 null array
    if (!(n >= 0 && n <= MAX_ELEMENTS)) return INVALID;
    if (MAP_LIKE.has(t)) n *= 2;
    let j = next;
    for (let k = 0; k < n; k++) {
      j = value(buf, j, depth + 1, depth === 0 ? cur : undefined, depth === 0 ? k : -1);
      if (j < 0) return j;
    }
    // An attribute (`|`) is metadata that precedes the real reply.
    if (t === 0x7c) return value(buf, j, depth, cur, slot);
    return j;
  }
  if (cur && slot >= 0 && slot < cur.collect) {
    if (t === 0x3a) cur.ints[slot] = int(buf, i + 1, e);
    else cur.strings[slot] = text(buf, i + 1, e);
  }
  return next;
}

function text(buf: Uint8Array, start: number, end: number): string {
  return utf8.decode(buf.subarray(start, Math.min(end, start + MAX_TEXT)));
}

/** Cheap detection; allocates nothing. A command array `*N\r\n$M\r\n` is certain enough. */
export function detectRedis(input: DetectInput): DetectResult {
  const d = input.data;
  if (input.transport !== 'tcp' || d.length < 4) return NO;
  const hinted = input.localPort === 6379 || input.remotePort === 6379;
  if (d[0] === 0x2a) {
    const e = lineEnd(d, 1);
    if (e < 0) return NO;
    const n = int(d, 1, e);
    if (!(n >= 1 && n <= MAX_ELEMENTS) || d[e + 2] !== 0x24) return NO;
    const e2 = lineEnd(d, e + 3);
    if (e2 < 0 || !(int(d, e + 3, e2) >= 1)) return NO;
    return { score: 0.95, messageType: 'request' };
  }
  // Inline commands (`PING\r\n`, as typed in telnet or sent by redis-benchmark) are plausible text only.
  const word = inlineCommandLength(d);
  if (word > 0) return { score: hinted ? 0.8 : 0.3, messageType: 'request' };
  // Replies alone are ambiguous (NATS also says +OK and -ERR): only with the port hint.
  if (hinted && (d[0] === 0x2b || d[0] === 0x2d || d[0] === 0x3a || d[0] === 0x24) && lineEnd(d, 1) > 0) {
    return { score: 0.5, messageType: 'response' };
  }
  return NO;
}

// Only words no other text protocol starts a connection with (HTTP has GET, NATS has INFO).
const INLINE_COMMANDS = ['PING', 'AUTH', 'ECHO', 'SELECT', 'HELLO', 'QUIT'];

/** Length of a known inline command word followed by a space or CRLF at the start of `d`, else 0. */
function inlineCommandLength(d: Uint8Array): number {
  outer: for (const w of INLINE_COMMANDS) {
    if (d.length < w.length + 2) continue;
    for (let i = 0; i < w.length; i++) if ((d[i]! & 0xdf) !== w.charCodeAt(i)) continue outer;
    const c = d[w.length];
    if (c === 0x20 || (c === CR && d[w.length + 1] === LF)) return w.length;
  }
  return 0;
}

export function parseRedis(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
): ParseResult<RedisFrame> {
  if (offset >= buf.length) return { state: 'needs-more-data', consumed: 0 };
  const t = buf[offset]!;
  if (type === 'request' && !TYPES.has(t)) return inline(buf, offset, tsNs);
  const cur: Cursor = { strings: [], ints: [], collect: 3 };
  const end = value(buf, offset, 0, cur, 0);
  if (end === NEED_MORE) return { state: 'needs-more-data', consumed: 0 };
  if (end === INVALID) return { state: 'invalid', consumed: 0 };
  const size = end - offset;
  const frame: RedisFrame = { tsNs, size, type: t };
  if (type === 'request') {
    if (t !== 0x2a) return { state: 'invalid', consumed: 0 };
    frame.command = (cur.strings[0] ?? '').toUpperCase();
    frame.arg1 = cur.strings[1];
    const e = lineEnd(buf, offset + 1);
    frame.argc = int(buf, offset + 1, e);
  } else if (AGGREGATE_ARRAY.has(t)) {
    frame.text = cur.strings[0];
    frame.second = cur.strings[1];
    frame.third = cur.ints[2];
    const e = lineEnd(buf, offset + 1);
    frame.length = int(buf, offset + 1, e);
  } else {
    frame.text = cur.strings[0];
  }
  return { state: 'success', consumed: size, frames: [frame] };
}

/** An inline command: words separated by spaces, ending with CRLF (or LF). */
function inline(buf: Uint8Array, offset: number, tsNs: bigint): ParseResult<RedisFrame> {
  const limit = Math.min(buf.length, offset + 64 * 1024);
  let nl = -1;
  for (let j = offset; j < limit; j++) {
    const c = buf[j]!;
    if (c === LF) {
      nl = j;
      break;
    }
    // Inline commands are printable text.
    if ((c < 0x20 && c !== CR && c !== 0x09) || c === 0x7f) return { state: 'invalid', consumed: 0 };
  }
  if (nl < 0)
    return limit === buf.length
      ? { state: 'needs-more-data', consumed: 0 }
      : { state: 'invalid', consumed: 0 };
  const line = latin1.decode(buf.subarray(offset, Math.min(nl, offset + MAX_TEXT))).trim();
  const words = line.split(/\s+/).filter(Boolean);
  const size = nl + 1 - offset;
  if (words.length === 0) return { state: 'ignored', consumed: size };
  return {
    state: 'success',
    consumed: size,
    frames: [
      { tsNs, size, type: 0x69, command: words[0]!.toUpperCase(), arg1: words[1], argc: words.length },
    ],
  };
}

/** Next offset that starts a plausible value: a type byte at the start of a line. */
export function findRedisBoundary(type: MessageType, buf: Uint8Array, offset: number): number {
  for (let i = Math.max(0, offset); i < buf.length; i++) {
    if (i > 0 && buf[i - 1] !== LF) continue;
    const t = buf[i]!;
    if (type === 'request' ? t === 0x2a : TYPES.has(t)) return i;
  }
  return -1;
}
