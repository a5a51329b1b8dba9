import type { DetectInput, DetectResult, MessageType, ParseResult } from '../contract.ts';
import {
  BACKEND_TAGS,
  FRONTEND_TAGS,
  MAX_MESSAGE,
  MAX_TEXT,
  MSG,
  type PgFrame,
  type PgState,
} from './types.ts';

/** The answer for bytes that are clearly not this protocol: shared, so saying no allocates nothing. */
const NO: DetectResult = Object.freeze({ score: 0 });

const PROTOCOL_3_0 = 196608;
const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSSENC_REQUEST = 80877104;

const utf8 = new TextDecoder('utf-8', { fatal: false });

function u32(buf: Uint8Array, i: number): number {
  return ((buf[i]! << 24) | (buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!) >>> 0;
}

/** The NUL-terminated string at `start` (not past `end`) and the index after its NUL, or null. */
function cstring(buf: Uint8Array, start: number, end: number): { text: string; next: number } | null {
  const nul = buf.indexOf(0, start);
  if (nul < 0 || nul >= end) return null;
  return { text: utf8.decode(buf.subarray(start, Math.min(nul, start + MAX_TEXT))), next: nul + 1 };
}

/** Whether `buf[offset..]` starts with a plausible untyped startup-phase message. */
function untypedKind(buf: Uint8Array, offset: number): PgFrame['untyped'] | undefined {
  if (buf.length - offset < 8) return undefined;
  const len = u32(buf, offset);
  const code = u32(buf, offset + 4);
  if (len === 8 && code === SSL_REQUEST) return 'ssl-request';
  if (len === 8 && code === GSSENC_REQUEST) return 'gss-request';
  if (len === 16 && code === CANCEL_REQUEST) return 'cancel';
  if (code === PROTOCOL_3_0 && len >= 9 && len <= 10000) return 'startup';
  return undefined;
}

/** Cheap detection on the first bytes; allocates nothing. */
export function detectPostgres(input: DetectInput): DetectResult {
  const { data } = input;
  if (input.transport !== 'tcp' || data.length < 5) return NO;
  if (data[0] === 0 && data.length >= 8) {
    const kind = untypedKind(data, 0);
    if (kind === 'startup') return { score: 1, messageType: 'request' };
    if (kind !== undefined) return { score: 0.9, messageType: 'request' };
    return NO;
  }
  const tag = data[0]!;
  const len = u32(data, 1);
  if (len < 4 || len > MAX_MESSAGE) return NO;
  const hinted = input.localPort === 5432 || input.remotePort === 5432;
  // A whole Query message: 'Q', length, text ending in NUL exactly at the end of the length.
  if (tag === MSG.Query && len >= 5 && data.length >= len + 1) {
    return data[len] === 0 ? { score: hinted ? 0.9 : 0.7, messageType: 'request' } : NO;
  }
  if (tag === MSG.Parse && len >= 8 && data.length >= len + 1 && data.indexOf(0, 5) < len) {
    return { score: hinted ? 0.8 : 0.6, messageType: 'request' };
  }
  // AuthenticationOk/SASL/MD5... : 'R', length 8..., a known auth code.
  if (tag === MSG.Authentication && len >= 8 && data.length >= 9) {
    const code = u32(data, 5);
    if (code <= 12) return { score: hinted ? 0.9 : 0.7, messageType: 'response' };
  }
  if (tag === MSG.ReadyForQuery && len === 5 && data.length >= 6) {
    const s = data[5];
    if (s === 0x49 || s === 0x54 || s === 0x45) return { score: hinted ? 0.8 : 0.5, messageType: 'response' };
  }
  return NO;
}

export function parsePostgres(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
  state: PgState,
): ParseResult<PgFrame> {
  const avail = buf.length - offset;
  if (avail <= 0) return { state: 'needs-more-data', consumed: 0 };
  if (state.encrypted) return { state: 'eos', consumed: 0 };
  const first = buf[offset]!;
  if (type === 'response' && state.awaitingSslAnswer) {
    state.awaitingSslAnswer = false;
    if (first === 0x53 /* S */ || first === 0x47 /* G */) {
      state.encrypted = true;
      return { state: 'eos', consumed: 0 };
    }
    if (
      first === 0x4e /* N */ &&
      (avail === 1 || buf[offset + 1] === MSG.Authentication || buf[offset + 1] === MSG.ErrorResponse)
    ) {
      return one({ tag: 0, untyped: 'ssl-answer', text: 'N', tsNs, size: 1 });
    }
  }
  if (type === 'request' && first === 0) {
    if (avail < 8) return { state: 'needs-more-data', consumed: 0 };
    const kind = untypedKind(buf, offset);
    if (kind === undefined) return { state: 'invalid', consumed: 0 };
    const len = u32(buf, offset);
    if (avail < len) return { state: 'needs-more-data', consumed: 0 };
    const frame: PgFrame = { tag: 0, untyped: kind, tsNs, size: len };
    if (kind === 'startup') frame.params = startupParams(buf, offset + 8, offset + len);
    if (kind === 'ssl-request' || kind === 'gss-request') state.awaitingSslAnswer = true;
    return one(frame);
  }
  // A TLS record after an SSLRequest on the request side: encrypted from here on.
  if (type === 'request' && first === 0x16 && state.awaitingSslAnswer) {
    state.encrypted = true;
    return { state: 'eos', consumed: 0 };
  }
  if (!(type === 'request' ? FRONTEND_TAGS : BACKEND_TAGS).has(first))
    return { state: 'invalid', consumed: 0 };
  if (avail < 5) return { state: 'needs-more-data', consumed: 0 };
  const len = u32(buf, offset + 1);
  if (len < 4 || len > MAX_MESSAGE) return { state: 'invalid', consumed: 0 };
  const size = len + 1;
  if (avail < size) return { state: 'needs-more-data', consumed: 0 };
  const frame = decodeBody(type, first, buf, offset + 5, offset + size, tsNs, size);
  if (frame === null) return { state: 'invalid', consumed: 0 };
  return one(frame);
}

function one(frame: PgFrame): ParseResult<PgFrame> {
  return { state: 'success', consumed: frame.size, frames: [frame] };
}

function startupParams(buf: Uint8Array, start: number, end: number): Record<string, string> {
  const params: Record<string, string> = {};
  let i = start;
  for (let n = 0; n < 64 && i < end - 1; n++) {
    const key = cstring(buf, i, end);
    if (!key || key.text === '') break;
    const value = cstring(buf, key.next, end);
    if (!value) break;
    if (key.text === 'user' || key.text === 'database' || key.text === 'application_name') {
      params[key.text] = value.text;
    }
    i = value.next;
  }
  return params;
}

/** Copies the fields of one message body `buf[start..end)`; null if the body is malformed. */
function decodeBody(
  type: MessageType,
  tag: number,
  buf: Uint8Array,
  start: number,
  end: number,
  tsNs: bigint,
  size: number,
): PgFrame | null {
  const frame: PgFrame = { tag, tsNs, size };
  if (type === 'request') {
    switch (tag) {
      case MSG.Query: {
        const q = cstring(buf, start, end);
        if (!q) return null;
        frame.text = q.text;
        break;
      }
      case MSG.Parse: {
        const name = cstring(buf, start, end);
        const q = name && cstring(buf, name.next, end);
        if (!name || !q) return null;
        frame.name = name.text;
        frame.text = q.text;
        break;
      }
      case MSG.Bind: {
        const portal = cstring(buf, start, end);
        const stmt = portal && cstring(buf, portal.next, end);
        if (!portal || !stmt) return null;
        frame.portal = portal.text;
        frame.name = stmt.text;
        break;
      }
      case MSG.Execute: {
        const portal = cstring(buf, start, end);
        if (!portal) return null;
        frame.name = portal.text;
        break;
      }
      case MSG.Describe:
      case MSG.Close: {
        if (end - start < 2) return null;
        const target = cstring(buf, start + 1, end);
        if (!target) return null;
        frame.name = String.fromCharCode(buf[start]!) + target.text;
        break;
      }
    }
    return frame;
  }
  switch (tag) {
    case MSG.CommandComplete: {
      const t = cstring(buf, start, end);
      if (!t) return null;
      frame.text = t.text;
      break;
    }
    case MSG.ErrorResponse:
    case MSG.NoticeResponse: {
      // Fields: a type byte then a NUL-terminated value, ended by a 0 byte.
      let i = start;
      while (i < end && buf[i] !== 0) {
        const field = buf[i]!;
        const v = cstring(buf, i + 1, end);
        if (!v) return null;
        if (field === 0x43 /* C */) frame.code = v.text;
        else if (field === 0x4d /* M */) frame.text = v.text;
        else if (field === 0x56 /* V */ || (field === 0x53 /* S */ && frame.severity === undefined)) {
          frame.severity = v.text;
        }
        i = v.next;
      }
      break;
    }
    case MSG.ReadyForQuery: {
      if (end - start !== 1) return null;
      break;
    }
  }
  return frame;
}

/** Next offset where a plausible message header starts (type byte, sane length), or -1. */
export function findPostgresBoundary(type: MessageType, buf: Uint8Array, offset: number): number {
  const tags = type === 'request' ? FRONTEND_TAGS : BACKEND_TAGS;
  for (let i = Math.max(0, offset); i + 5 <= buf.length; i++) {
    if (!tags.has(buf[i]!)) continue;
    const len = u32(buf, i + 1);
    if (len < 4 || len > 1 << 20) continue;
    // Prefer boundaries we can confirm: the next header after this message is also plausible.
    const next = i + 1 + len;
    if (next + 5 <= buf.length && !tags.has(buf[next]!)) continue;
    return i;
  }
  return -1;
}
