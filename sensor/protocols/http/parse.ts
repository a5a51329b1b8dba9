import type { MessageType, ParseResult } from '../contract.ts';
import { latin1String, parseDecimal, startsWithAscii } from '../tracker/bytes.ts';
import { skipBody } from './body.ts';
import { hasHeadEnd, scanHead } from './head.ts';
import {
  BODY_PREFIX_LIMIT,
  BodyMode,
  HEAD_KEEP_LIMIT,
  type HttpFrame,
  type HttpState,
  MAX_HEAD_BYTES,
} from './types.ts';

const SUCCESS: ParseResult<HttpFrame> = { state: 'success', consumed: 0, frames: [] };
/** A message cut short (see `parseHttp`) and the one after it. */
const SUCCESS_TWO: ParseResult<HttpFrame> = { state: 'success', consumed: 0, frames: [] };
/** A head was parsed but its frame is held until the body ends (see `HttpDirectionState.held`). */
const HELD: ParseResult<HttpFrame> = { state: 'success', consumed: 0 };
const NEEDS_MORE: ParseResult<HttpFrame> = { state: 'needs-more-data', consumed: 0 };
const INVALID: ParseResult<HttpFrame> = { state: 'invalid', consumed: 0 };
const IGNORED: ParseResult<HttpFrame> = { state: 'ignored', consumed: 0 };

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
  if (dir.body === BodyMode.None) return parseMessage(type, buf, offset, end, tsNs, state);
  const skip = skipBody(buf, offset, end, dir);
  const skipped = skip.offset - offset;
  const invalid = skip.invalid;
  const held = dir.held;
  if (held !== undefined) {
    held.bodySize += skipped;
    held.size += skipped;
    if (skip.done) dir.held = undefined;
  }
  if (skipped > 0) {
    // Broken framing: the held message goes out with the bytes counted so far, paired in time order.
    if (held !== undefined && invalid) state.released.push(held);
    if (held === undefined || !skip.done || invalid) return ignored(skipped);
    return succeed(skipped, held);
  }
  if (!invalid) return NEEDS_MORE;
  // A message start where framing broke (a chunked body whose end was lost, e.g. its last bytes were
  // filled by the eBPF source) is parsed at once. The cut message goes out first, with its bytes so far.
  if (!startsLikeMessage(type, buf, offset, end)) {
    if (held !== undefined) state.released.push(held);
    return INVALID;
  }
  const r = parseMessage(type, buf, offset, end, tsNs, state);
  if (held === undefined) return r;
  // Handed over with the next message rather than through `state.released`: the common case of a
  // truncated chunked answer then costs no merge at stitch time. Same queue order (the held frame is
  // older than anything parsed after it in this direction).
  if (r === SUCCESS) {
    SUCCESS_TWO.frames![0] = held;
    SUCCESS_TWO.frames![1] = r.frames![0]!;
    SUCCESS_TWO.consumed = r.consumed;
    return SUCCESS_TWO;
  }
  if (r === HELD) return succeed(r.consumed, held);
  state.released.push(held);
  return r;
}

/** A message head (and what is here of its body) at `offset`, with no body of an earlier one pending. */
function parseMessage(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  end: number,
  tsNs: bigint,
  state: HttpState,
): ParseResult<HttpFrame> {
  const dir = type === 'request' ? state.request : state.response;
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
    raw: '',
    headStart: 0,
    headLength: 0,
    bodyStart: 0,
    bodySize: 0,
    upgrade: false,
  };
  // Target bounds (request line) until `raw` exists to cut it from.
  let targetStart = 0;
  let targetEnd = 0;
  if (type === 'request') {
    if (!parseRequestLine(buf, offset, lineEnd, frame)) return INVALID;
    targetStart = requestLine.sp1 + 1 - offset;
    targetEnd = requestLine.sp2 - offset;
  } else if (!parseStatusLine(buf, offset, lineEnd, frame)) {
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
      return ignored(bodyStart - offset);
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
  let heldBack = false;
  if (mode !== BodyMode.None && !state.switched) {
    dir.body = mode;
    dir.chunkPhase = 0;
    if (mode === BodyMode.Length && end - bodyStart >= h.contentLength) {
      // The common case, the whole body is here: no skip state needed.
      consumedTo = bodyStart + h.contentLength;
      dir.body = BodyMode.None;
    } else {
      dir.remaining = mode === BodyMode.Length ? h.contentLength : 0;
      const skip = skipBody(buf, bodyStart, end, dir);
      consumedTo = skip.offset;
      // A chunked body that ended here (or broke) has its size; otherwise it is counted as it streams.
      heldBack = mode !== BodyMode.Length && !skip.done;
    }
    if (mode !== BodyMode.Chunked) prefixEnd = Math.min(consumedTo, bodyStart + BODY_PREFIX_LIMIT);
    frame.bodySize = mode === BodyMode.Length ? h.contentLength : consumedTo - bodyStart;
  }
  // One copy per message, the start line, the header lines and the body prefix (contiguous in the stream),
  // decoded only when someone reads the call's headers or body.
  const headStart = lineEnd + 2;
  const headLength = headEnd - headStart + 2;
  const keepEnd = headLength <= HEAD_KEEP_LIMIT ? prefixEnd : headStart + HEAD_KEEP_LIMIT;
  const raw = latin1String(buf, offset, keepEnd);
  frame.raw = raw;
  if (type === 'request') frame.target = raw.substring(targetStart, targetEnd);
  frame.headStart = headStart - offset;
  frame.headLength = Math.min(headLength, HEAD_KEEP_LIMIT);
  frame.bodyStart = headLength <= HEAD_KEEP_LIMIT ? bodyStart - offset : raw.length;
  frame.size = bodyStart - offset + frame.bodySize;
  if (heldBack) {
    // Chunked or until-close body still streaming: the frame goes out when its size is known.
    dir.held = frame;
    HELD.consumed = consumedTo - offset;
    return HELD;
  }
  return succeed(consumedTo - offset, frame);
}

/** The shared success result (see the contract: the tracker takes the frames out at once). */
function succeed(consumed: number, frame: HttpFrame): ParseResult<HttpFrame> {
  SUCCESS.frames![0] = frame;
  SUCCESS.consumed = consumed;
  return SUCCESS;
}

function ignored(consumed: number): ParseResult<HttpFrame> {
  IGNORED.consumed = consumed;
  return IGNORED;
}

/** A message start at `at`: the start line of a request or a response, as far as the bytes go. */
function startsLikeMessage(type: MessageType, buf: Uint8Array, at: number, end: number): boolean {
  return (type === 'request' ? requestLineStart(buf, at, end) : responseLineStart(buf, at, end)) !== 0;
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

/** Where the last request line's spaces were (read at once by `parseHttp`; event-loop thread only). */
const requestLine = { sp1: 0, sp2: 0 };

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
  requestLine.sp1 = sp1;
  requestLine.sp2 = sp2;
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

const COMMON_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'];

/** Returns a shared string for the common methods (no allocation per request). */
function methodName(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  for (let i = 0; i < COMMON_METHODS.length; i++) {
    const m = COMMON_METHODS[i]!;
    if (m.length === len && buf[start] === m.charCodeAt(0) && startsWithAscii(buf, start, end, m)) return m;
  }
  return latin1String(buf, start, end);
}
