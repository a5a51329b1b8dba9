import type { DetectInput, DetectResult, MessageType, ParseResult } from '../contract.ts';
import { compressionActive, looksCompressed, parseCompressed } from './compressed.ts';
import {
  CLIENT_CONNECT_WITH_DB,
  CLIENT_PROTOCOL_41,
  CLIENT_SSL,
  COM,
  MAX_TEXT,
  type MyFrame,
  type MyState,
} from './types.ts';

/** The answer for bytes that are clearly not this protocol: shared, so saying no allocates nothing. */
const NO: DetectResult = Object.freeze({ score: 0 });

const utf8 = new TextDecoder('utf-8', { fatal: false });
const CLIENT_QUERY_ATTRIBUTES = 1 << 27;
const MAX_COMMAND = 0x1f;

const u16le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u24le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const u32le = (b: Uint8Array, i: number) => (u24le(b, i) | (b[i + 3]! << 24)) >>> 0;

function text(buf: Uint8Array, start: number, end: number): string {
  return utf8.decode(buf.subarray(start, Math.min(end, start + MAX_TEXT)));
}

function cstringEnd(buf: Uint8Array, start: number, end: number): number {
  const nul = buf.indexOf(0, start);
  return nul < 0 || nul >= end ? -1 : nul;
}

/** A server greeting: protocol version 10 and a printable version string starting with a digit. */
function isGreeting(buf: Uint8Array, p: number, end: number): boolean {
  if (end - p < 30 || buf[p] !== 0x0a) return false;
  const c = buf[p + 1]!;
  if (c < 0x30 || c > 0x39) return false;
  const nul = cstringEnd(buf, p + 1, Math.min(end, p + 80));
  if (nul < 0) return false;
  for (let i = p + 1; i < nul; i++) if (buf[i]! < 0x20 || buf[i]! > 0x7e) return false;
  return true;
}

/** Cheap detection on the first bytes; allocates nothing. */
export function detectMysql(input: DetectInput): DetectResult {
  const d = input.data;
  if (input.transport !== 'tcp' || d.length < 5) return NO;
  const len = u24le(d, 0);
  const seq = d[3]!;
  const end = 4 + len;
  if (len === 0 || d.length < end) return NO;
  const hinted = input.localPort === 3306 || input.remotePort === 3306;
  if (seq === 0 && isGreeting(d, 4, end)) return { score: 1, messageType: 'response' };
  if (seq === 0 && d.length === end) {
    const cmd = d[4]!;
    if ((cmd === COM.QUERY || cmd === COM.STMT_PREPARE) && len > 1) {
      for (let i = 5; i < Math.min(end, 21); i++) if (d[i]! < 0x09 || d[i] === 0x7f) return NO;
      return { score: hinted ? 0.8 : 0.5, messageType: 'request' };
    }
    if (cmd === COM.PING && len === 1) return { score: hinted ? 0.6 : 0, messageType: 'request' };
  }
  if (seq === 1 && len >= 32 && (u32le(d, 4) & CLIENT_PROTOCOL_41) !== 0 && d[17] === 0 && d[35] === 0) {
    return { score: hinted ? 0.9 : 0.7, messageType: 'request' };
  }
  // A capture that starts after a compressed-protocol handshake: the compressed sequence restarts at 0 with
  // each command, so 0 is the client's and anything else an answer (the framing check is strict enough to
  // name the protocol only with the port's support).
  if (looksCompressed(d, 0))
    return { score: hinted ? 0.6 : 0.3, messageType: seq === 0 ? 'request' : 'response' };
  return NO;
}

export function parseMysql(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
  state: MyState,
): ParseResult<MyFrame> {
  if (state.encrypted) return { state: 'eos', consumed: 0 };
  // Handshake not seen (the capture started later): the framing says whether packets are compressed.
  if (state.clientCapabilities === 0 && state.serverCapabilities === 0 && looksCompressed(buf, offset))
    state.compressedFraming = true;
  if (compressionActive(state)) return parseCompressed(type, buf, offset, tsNs, state, parsePacket);
  return parsePacket(type, buf, offset, tsNs, state);
}

/** One ordinary packet (3-byte length, sequence id, payload). */
function parsePacket(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
  state: MyState,
): ParseResult<MyFrame> {
  const avail = buf.length - offset;
  if (avail < 4) return { state: 'needs-more-data', consumed: 0 };
  const len = u24le(buf, offset);
  const size = 4 + len;
  if (avail < size) return { state: 'needs-more-data', consumed: 0 };
  const seq = buf[offset + 3]!;
  const p = offset + 4;
  const end = offset + size;
  const frame: MyFrame = {
    tsNs,
    size,
    seq,
    payloadLen: len,
    head: buf.slice(p, Math.min(end, p + 16)),
  };
  if (len === 0xffffff) frame.continued = true;
  if (type === 'request') {
    if (seq === 0) {
      if (len === 0) return { state: 'invalid', consumed: 0 };
      const cmd = buf[p]!;
      if (cmd > MAX_COMMAND) return { state: 'invalid', consumed: 0 };
      frame.command = cmd;
      if (cmd === COM.QUERY || cmd === COM.STMT_PREPARE || cmd === COM.INIT_DB) {
        let start = p + 1;
        // With query attributes negotiated, COM_QUERY starts with a parameter count and a set count.
        const attrs = state.clientCapabilities & state.serverCapabilities & CLIENT_QUERY_ATTRIBUTES;
        if (cmd === COM.QUERY && attrs !== 0 && buf[start] === 0 && buf[start + 1] === 1) start += 2;
        // Statement text holds no NUL byte; one means the capture filled a cut tail with zeros.
        const nul = buf.indexOf(0, start);
        frame.text = text(buf, start, nul >= 0 && nul < end ? nul : end);
      }
    } else if (seq === 1 && len >= 32 && (u32le(buf, p) & CLIENT_PROTOCOL_41) !== 0) {
      const caps = u32le(buf, p);
      state.clientCapabilities = caps;
      const ssl = len === 32 && (caps & CLIENT_SSL) !== 0;
      frame.login = { capabilities: caps, user: '', ssl };
      if (!ssl) {
        const userEnd = cstringEnd(buf, p + 32, end);
        if (userEnd > 0) frame.login.user = text(buf, p + 32, userEnd);
        if ((caps & CLIENT_CONNECT_WITH_DB) !== 0 && userEnd > 0)
          frame.login.database = loginDatabase(buf, userEnd + 1, end, caps);
      } else {
        state.encrypted = true;
      }
    }
    return { state: 'success', consumed: size, frames: [frame] };
  }
  const first = buf[p];
  if (seq === 0 && isGreeting(buf, p, end)) {
    const verEnd = cstringEnd(buf, p + 1, end);
    const c = verEnd + 1 + 4 + 8 + 1;
    let caps = c + 2 <= end ? u16le(buf, c) : 0;
    if (c + 7 <= end) caps |= u16le(buf, c + 5) << 16;
    state.serverCapabilities = caps >>> 0;
    state.inLogin = true;
    frame.greeting = { capabilities: caps >>> 0, version: text(buf, p + 1, verEnd) };
  } else if (first === 0xff && len >= 3) {
    frame.errorCode = u16le(buf, p + 1);
    if (len >= 9 && buf[p + 3] === 0x23 /* # */) {
      frame.sqlState = text(buf, p + 4, p + 9);
      frame.text = text(buf, p + 9, end);
    } else {
      frame.text = text(buf, p + 3, end);
    }
  }
  return { state: 'success', consumed: size, frames: [frame] };
}

/** The database name after the auth response of a HandshakeResponse41. */
function loginDatabase(buf: Uint8Array, i: number, end: number, caps: number): string | undefined {
  const CLIENT_PLUGIN_AUTH_LENENC = 1 << 21;
  const CLIENT_SECURE_CONNECTION = 1 << 15;
  if (i >= end) return undefined;
  let authLen: number;
  if ((caps & CLIENT_PLUGIN_AUTH_LENENC) !== 0 || (caps & CLIENT_SECURE_CONNECTION) !== 0) {
    authLen = buf[i]!;
    if (authLen >= 0xfb) return undefined;
    i += 1 + authLen;
  } else {
    const nul = cstringEnd(buf, i, end);
    if (nul < 0) return undefined;
    i = nul + 1;
  }
  const dbEnd = cstringEnd(buf, i, end);
  return dbEnd > i ? text(buf, i, dbEnd) : undefined;
}

/**
 * Next plausible packet start. Requests: sequence 0 and a known command whose packet ends exactly at the
 * end of the data or at another plausible header. Responses: a sequence id of 1 (the first answer).
 */
export function findMysqlBoundary(type: MessageType, buf: Uint8Array, offset: number): number {
  for (let i = Math.max(0, offset); i + 5 <= buf.length; i++) {
    const len = u24le(buf, i);
    if (len === 0 || len > 1 << 20) continue;
    const seq = buf[i + 3]!;
    const next = i + 4 + len;
    if (next > buf.length) continue;
    if (type === 'request') {
      if (seq !== 0 || buf[i + 4]! > MAX_COMMAND) continue;
    } else if (seq !== 1) {
      continue;
    }
    if (
      next === buf.length ||
      (next + 4 <= buf.length && buf[next + 3] === (type === 'request' ? 0 : seq + 1))
    )
      return i;
  }
  return -1;
}
