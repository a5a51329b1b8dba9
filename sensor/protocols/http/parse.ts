import type { MessageType, ParseResult } from '../contract.ts';
import {
  ByteSlab,
  equalsLowerAscii,
  findByte,
  latin1String,
  parseDecimal,
  startsWithAscii,
} from '../tracker/bytes.ts';
import { skipBody } from './body.ts';
import {
  BODY_PREFIX_LIMIT,
  BodyMode,
  HEAD_KEEP_LIMIT,
  type HttpFrame,
  type HttpState,
  MAX_HEAD_BYTES,
} from './types.ts';

const EMPTY = new Uint8Array(0);
/** Header blocks kept per message for lazy decoding (see ByteSlab); one per process, event-loop thread. */
const slab = new ByteSlab();
const SUCCESS: ParseResult<HttpFrame> = { state: 'success', consumed: 0, frames: [] };
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
  if (startOk === 0) {
    dir.headSearched = 0;
    return INVALID;
  }
  if (dir.headSearched > 0 && !hasHeadEnd(buf, offset + Math.max(0, dir.headSearched - 3))) {
    dir.headSearched = end - offset;
    if (end - offset < MAX_HEAD_BYTES) return NEEDS_MORE;
    dir.headSearched = 0;
    return INVALID;
  }
  dir.headSearched = 0;
  const h = scanHead(buf, offset, end);
  if (h === 'more') {
    if (end - offset >= MAX_HEAD_BYTES) return INVALID;
    dir.headSearched = end - offset;
    return NEEDS_MORE;
  }
  if (h === 'invalid' || startOk < 0) return INVALID;
  const lineEnd = h.lineEnd;
  const headEnd = h.headEnd;
  const frame: HttpFrame = {
    tsNs,
    size: 0,
    kind: type,
    method: '',
    target: '',
    status: 0,
    raw: EMPTY,
    rawStart: 0,
    headLength: 0,
    bodyStart: 0,
    rawEnd: 0,
    bodySize: 0,
    upgrade: false,
  };
  if (
    type === 'request'
      ? !parseRequestLine(buf, offset, lineEnd, frame)
      : !parseStatusLine(buf, offset, lineEnd, frame)
  ) {
    return INVALID;
  }
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
  let prefixEnd = bodyStart;
  if (mode !== BodyMode.None && !state.switched) {
    dir.body = mode;
    dir.chunkPhase = 0;
    if (mode === BodyMode.Length && end - bodyStart >= h.contentLength) {
      // The common case, the whole body is here: no skip state needed.
      consumedTo = bodyStart + h.contentLength;
      dir.body = BodyMode.None;
    } else {
      dir.remaining = mode === BodyMode.Length ? h.contentLength : 0;
      consumedTo = skipBody(buf, bodyStart, end, dir).offset;
    }
    if (mode !== BodyMode.Chunked) prefixEnd = Math.min(consumedTo, bodyStart + BODY_PREFIX_LIMIT);
    frame.bodySize = h.contentLength >= 0 ? h.contentLength : consumedTo - bodyStart;
  }
  // One copy per message, the header lines and the body prefix (contiguous in the stream), decoded only
  // when someone reads the call's headers or body.
  const headStart = lineEnd + 2;
  const headLength = headEnd - headStart + 2;
  const keepEnd = headLength <= HEAD_KEEP_LIMIT ? prefixEnd : headStart + HEAD_KEEP_LIMIT;
  frame.rawStart = slab.copy(buf, headStart, keepEnd);
  frame.raw = slab.current;
  frame.headLength = Math.min(headLength, HEAD_KEEP_LIMIT);
  frame.bodyStart =
    headLength <= HEAD_KEEP_LIMIT
      ? frame.rawStart + (bodyStart - headStart)
      : frame.rawStart + HEAD_KEEP_LIMIT;
  frame.rawEnd = frame.rawStart + (keepEnd - headStart);
  frame.size = bodyStart - offset + frame.bodySize;
  // One result object for every success (see the contract): the tracker takes the frame out at once.
  SUCCESS.consumed = consumedTo - offset;
  SUCCESS.frames![0] = frame;
  return SUCCESS;
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
  f.method = methodName(buf, start, sp1);
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

/** True when CRLFCRLF occurs at or after `from`. */
function hasHeadEnd(buf: Uint8Array, from: number): boolean {
  let at = from;
  for (;;) {
    const lf = findByte(buf, 10, at);
    if (lf < 0) return false;
    if (lf >= 3 && buf[lf - 1] === 13 && buf[lf - 2] === 10 && buf[lf - 3] === 13 && lf - 3 >= from)
      return true;
    at = lf + 1;
  }
}

interface HeadScan {
  /** Index of the CR ending the start line. */
  lineEnd: number;
  /** Index of the CRLFCRLF that ends the head. */
  headEnd: number;
  contentLength: number;
  chunked: boolean;
  upgrade: boolean;
}

/**
 * One pass over the head, line by line, with the engine's native byte search (`indexOf`): finds the start
 * line, the end of the head, and the headers that decide the body (Content-Length, Transfer-Encoding,
 * Upgrade). `buf` ends where the data ends.
 */
function scanHead(buf: Uint8Array, offset: number, end: number): HeadScan | 'more' | 'invalid' {
  const limit = Math.min(end, offset + MAX_HEAD_BYTES);
  let eol = findByte(buf, 10, offset);
  if (eol < 0 || eol >= limit) return 'more';
  if (buf[eol - 1] !== 13) return 'invalid';
  const h: HeadScan = { lineEnd: eol - 1, headEnd: -1, contentLength: -1, chunked: false, upgrade: false };
  let at = eol + 1;
  for (;;) {
    eol = findByte(buf, 10, at);
    if (eol < 0 || eol >= limit) return 'more';
    const lineEnd = eol - 1;
    if (buf[lineEnd] !== 13) return 'invalid';
    if (lineEnd === at) {
      h.headEnd = at - 2;
      return h;
    }
    const first = buf[at]!;
    if (first === 32 || first === 9) {
      at = eol + 1; // obsolete line folding continues the previous value
      continue;
    }
    const colon = findByte(buf, 58, at);
    if (colon <= at || colon > lineEnd) return 'invalid';
    const nameLen = colon - at;
    if (nameLen === 14 || nameLen === 17 || nameLen === 7) {
      let vs = colon + 1;
      while (vs < lineEnd && (buf[vs] === 32 || buf[vs] === 9)) vs++;
      let ve = lineEnd;
      while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
      if (nameLen === 14 && equalsLowerAscii(buf, at, nameLen, 'content-length')) {
        h.contentLength = parseDecimal(buf, vs, ve);
        if (h.contentLength < 0) return 'invalid';
      } else if (nameLen === 17 && equalsLowerAscii(buf, at, nameLen, 'transfer-encoding')) {
        h.chunked = ve - vs >= 7 && equalsLowerAscii(buf, ve - 7, 7, 'chunked');
      } else if (nameLen === 7 && equalsLowerAscii(buf, at, nameLen, 'upgrade')) {
        h.upgrade = true;
      }
    }
    at = eol + 1;
  }
}

const COMMON_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];

/** Returns a shared string for the common methods (no allocation per request). */
function methodName(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  for (const m of COMMON_METHODS) {
    if (m.length === len && buf[start] === m.charCodeAt(0) && startsWithAscii(buf, start, end, m)) return m;
  }
  return latin1String(buf, start, end);
}
