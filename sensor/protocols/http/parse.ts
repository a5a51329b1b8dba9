import type { MessageType, ParseResult } from '../contract.ts';
import {
  equalsLowerAscii,
  indexOfCrlf,
  indexOfCrlfCrlf,
  latin1String,
  parseDecimal,
  startsWithAscii,
  utf8String,
} from '../tracker/bytes.ts';
import { skipBody } from './body.ts';
import {
  BODY_PREFIX_LIMIT,
  BodyMode,
  HEADER_LIMIT,
  HEADER_VALUE_LIMIT,
  type HttpFrame,
  type HttpState,
  MAX_HEAD_BYTES,
} from './types.ts';

const NEEDS_MORE: ParseResult<HttpFrame> = { state: 'needs-more-data', consumed: 0 };
const INVALID: ParseResult<HttpFrame> = { state: 'invalid', consumed: 0 };

/**
 * Parses one HTTP/1.x message head at `offset` and skips as much of its body as is present; the rest of
 * the body is skipped on later calls through the direction state (bodies are never buffered whole).
 */
export function parseHttp(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
  state: HttpState,
): ParseResult<HttpFrame> {
  const end = buf.length;
  // After 101 Switching Protocols or a CONNECT tunnel the bytes belong to another protocol.
  if (state.switched) return { state: 'eos', consumed: 0 };
  const dir = type === 'request' ? state.request : state.response;
  if (dir.body !== BodyMode.None) {
    const skip = skipBody(buf, offset, end, dir);
    if (skip.offset > offset) return { state: 'ignored', consumed: skip.offset - offset };
    return skip.invalid ? INVALID : NEEDS_MORE;
  }
  const startOk =
    type === 'request' ? requestLineStart(buf, offset, end) : responseLineStart(buf, offset, end);
  if (startOk === 0) return INVALID;
  const headEnd = indexOfCrlfCrlf(buf, offset, Math.min(end, offset + MAX_HEAD_BYTES));
  if (headEnd < 0) return end - offset >= MAX_HEAD_BYTES ? INVALID : NEEDS_MORE;
  if (startOk < 0) return INVALID;
  const lineEnd = indexOfCrlf(buf, offset, headEnd + 2);
  const frame: HttpFrame = {
    tsNs,
    size: 0,
    kind: type,
    method: '',
    target: '',
    status: 0,
    headers: Object.create(null) as Record<string, string>,
    bodySize: 0,
    bodyPrefix: '',
    upgrade: false,
  };
  if (
    type === 'request'
      ? !parseRequestLine(buf, offset, lineEnd, frame)
      : !parseStatusLine(buf, offset, lineEnd, frame)
  ) {
    return INVALID;
  }
  const h = parseHeaders(buf, lineEnd + 2, headEnd + 2, frame);
  if (h === undefined) return INVALID;
  const bodyStart = headEnd + 4;

  let mode: BodyMode = BodyMode.None;
  if (type === 'request') {
    if (h.chunked) mode = BodyMode.Chunked;
    else if (h.contentLength > 0) mode = BodyMode.Length;
    frame.upgrade = h.upgrade || frame.method === 'CONNECT';
    if (state.pendingMethods.length < 1024) state.pendingMethods.push(frame.method);
  } else {
    const status = frame.status;
    if (status >= 100 && status < 200 && status !== 101) {
      // Informational (100 Continue, 103 Early Hints): the final response is still to come.
      return { state: 'ignored', consumed: bodyStart - offset };
    }
    const method = state.pendingMethods.shift();
    if (status === 101 || (method === 'CONNECT' && status >= 200 && status < 300)) state.switched = true;
    else if (method === 'HEAD' || status === 204 || status === 304) mode = BodyMode.None;
    else if (h.chunked) mode = BodyMode.Chunked;
    else if (h.contentLength >= 0) mode = h.contentLength > 0 ? BodyMode.Length : BodyMode.None;
    else mode = BodyMode.UntilClose;
  }

  let consumedTo = bodyStart;
  if (mode !== BodyMode.None && !state.switched) {
    dir.body = mode;
    dir.remaining = mode === BodyMode.Length ? h.contentLength : 0;
    dir.chunkPhase = 0;
    const bodyLimit =
      mode === BodyMode.Length ? Math.min(BODY_PREFIX_LIMIT, h.contentLength) : BODY_PREFIX_LIMIT;
    const prefixEnd = Math.min(end, bodyStart + bodyLimit);
    const skip = skipBody(buf, bodyStart, end, dir);
    consumedTo = skip.offset;
    if (mode !== BodyMode.Chunked && prefixEnd > bodyStart)
      frame.bodyPrefix = utf8String(buf, bodyStart, prefixEnd);
    frame.bodySize = h.contentLength >= 0 ? h.contentLength : consumedTo - bodyStart;
  }
  frame.size = bodyStart - offset + frame.bodySize;
  return { state: 'success', consumed: consumedTo - offset, frames: [frame] };
}

/** 1 = plausible start of a request line, -1 = too short to tell, 0 = not a request. */
function requestLineStart(buf: Uint8Array, at: number, end: number): number {
  let i = at;
  const limit = Math.min(end, at + 20);
  for (; i < limit; i++) {
    const c = buf[i]!;
    if (c === 32) return i > at ? 1 : 0;
    if (c < 65 || c > 90) return c === 45 || c === 95 ? 1 : 0; // methods are upper-case tokens
  }
  return i === end && end - at < 20 ? -1 : 0;
}

function responseLineStart(buf: Uint8Array, at: number, end: number): number {
  const n = Math.min(end - at, 7);
  const lit = 'HTTP/1.';
  for (let i = 0; i < n; i++) if (buf[at + i] !== lit.charCodeAt(i)) return 0;
  return n === 7 ? 1 : -1;
}

function parseRequestLine(buf: Uint8Array, start: number, end: number, f: HttpFrame): boolean {
  let sp1 = -1;
  for (let i = start; i < end; i++) {
    if (buf[i] === 32) {
      sp1 = i;
      break;
    }
  }
  if (sp1 <= start) return false;
  let sp2 = -1;
  for (let i = end - 1; i > sp1; i--) {
    if (buf[i] === 32) {
      sp2 = i;
      break;
    }
  }
  if (sp2 <= sp1 + 1 || !startsWithAscii(buf, sp2 + 1, end, 'HTTP/1.')) return false;
  f.method = latin1String(buf, start, sp1);
  f.target = latin1String(buf, sp1 + 1, sp2);
  return true;
}

function parseStatusLine(buf: Uint8Array, start: number, end: number, f: HttpFrame): boolean {
  // "HTTP/1.x SP DDD [SP reason]"
  if (end - start < 12 || buf[start + 8] !== 32) return false;
  const code = parseDecimal(buf, start + 9, start + 12);
  if (code < 100 || code > 999) return false;
  f.status = code;
  return true;
}

interface HeaderFacts {
  contentLength: number;
  chunked: boolean;
  upgrade: boolean;
}

/** Reads header lines in `[start, end)` (end = after the last header's CRLF). */
function parseHeaders(buf: Uint8Array, start: number, end: number, f: HttpFrame): HeaderFacts | undefined {
  const facts: HeaderFacts = { contentLength: -1, chunked: false, upgrade: false };
  let kept = 0;
  let at = start;
  while (at < end) {
    const eol = indexOfCrlf(buf, at, end);
    if (eol < 0) return undefined;
    let colon = -1;
    for (let i = at; i < eol; i++) {
      if (buf[i] === 58) {
        colon = i;
        break;
      }
    }
    if (colon <= at) {
      // Obsolete line folding continues the previous value; anything else is not a header.
      if (buf[at] === 32 || buf[at] === 9) {
        at = eol + 2;
        continue;
      }
      return undefined;
    }
    let vs = colon + 1;
    while (vs < eol && (buf[vs] === 32 || buf[vs] === 9)) vs++;
    let ve = eol;
    while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
    const nameLen = colon - at;
    if (equalsLowerAscii(buf, at, nameLen, 'content-length')) {
      facts.contentLength = parseDecimal(buf, vs, ve);
      if (facts.contentLength < 0) return undefined;
    } else if (equalsLowerAscii(buf, at, nameLen, 'transfer-encoding')) {
      facts.chunked = ve - vs >= 7 && equalsLowerAscii(buf, ve - 7, 7, 'chunked');
    } else if (equalsLowerAscii(buf, at, nameLen, 'upgrade')) {
      facts.upgrade = true;
    }
    if (kept < HEADER_LIMIT) {
      const name = latin1String(buf, at, colon).toLowerCase();
      f.headers[name] = latin1String(buf, vs, Math.min(ve, vs + HEADER_VALUE_LIMIT));
      kept++;
    }
    at = eol + 2;
  }
  return facts;
}
