import type { MessageType, ParseResult } from '../contract.ts';
import { readU24, readU32, startsWithAscii } from '../tracker/bytes.ts';
import {
  CONTINUATION,
  DATA,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  type H2DirectionState,
  type H2Event,
  type H2State,
  HEADERS,
  MAX_FRAME_PAYLOAD,
  PREFACE,
  PUSH_PROMISE,
  RST_STREAM,
} from './types.ts';

const NEEDS_MORE: ParseResult<H2Event> = { state: 'needs-more-data', consumed: 0 };
const INVALID: ParseResult<H2Event> = { state: 'invalid', consumed: 0 };
/** A header block spread over CONTINUATION frames larger than this is dropped (memory bound). */
const MAX_HEADER_BLOCK = 256 * 1024;

/**
 * Parses one HTTP/2 frame. HEADERS/CONTINUATION/PUSH_PROMISE blocks are HPACK-decoded here, in stream
 * order, because the dynamic table depends on every block of the direction. DATA payloads are never
 * buffered: the frame is reported when its header arrives and the payload is skipped as it comes.
 */
export function parseH2(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
  state: H2State,
): ParseResult<H2Event> {
  const end = buf.length;
  const dir = type === 'request' ? state.request : state.response;
  if (dir.skipRemaining > 0) {
    // The rest of a DATA frame: its data bytes first, then its padding.
    const n = Math.min(dir.skipRemaining, end - offset);
    const dataN = Math.min(n, dir.skipDataLeft);
    dir.skipRemaining -= n;
    dir.skipDataLeft -= dataN;
    countGrpc(dir, dir.skipStream, buf, offset, offset + dataN);
    return { state: 'ignored', consumed: n };
  }
  if (!dir.prefaceSeen && type === 'request' && buf[offset] === 0x50) {
    const n = Math.min(end - offset, PREFACE.length);
    if (startsWithAscii(buf, offset, offset + n, PREFACE.slice(0, n))) {
      if (n < PREFACE.length) return NEEDS_MORE;
      dir.prefaceSeen = true;
      return { state: 'ignored', consumed: PREFACE.length };
    }
  }
  if (end - offset < 9) return NEEDS_MORE;
  const len = readU24(buf, offset);
  const ftype = buf[offset + 3]!;
  const flags = buf[offset + 4]!;
  const sid = readU32(buf, offset + 5) & 0x7fffffff;
  if (len > MAX_FRAME_PAYLOAD || ftype > 0x0f) return INVALID;
  const p = offset + 9;

  if (ftype === DATA) {
    if (sid === 0) return INVALID;
    let pad = 0;
    let dataStart = p;
    if (flags & FLAG_PADDED) {
      if (end - p < 1) return NEEDS_MORE;
      pad = buf[p]!;
      dataStart = p + 1;
      if (pad + 1 > len) return INVALID;
    }
    const dataLength = len - (dataStart - p) - pad;
    const avail = Math.min(end, p + len);
    const dataEnd = Math.min(avail, dataStart + dataLength);
    const before = dir.grpcMessagesSeen;
    countGrpc(dir, sid, buf, dataStart, dataEnd);
    dir.skipRemaining = p + len - avail;
    dir.skipStream = sid;
    dir.skipDataLeft = dataStart + dataLength - dataEnd;
    const event: H2Event = {
      tsNs,
      size: 9 + len,
      streamId: sid,
      kind: 'data',
      endStream: (flags & FLAG_END_STREAM) !== 0,
      dataLength,
      grpcMessages: dir.grpcMessagesSeen - before,
    };
    return { state: 'success', consumed: avail - offset, frames: [event] };
  }

  if (end - p < len) return NEEDS_MORE;
  const frameEnd = p + len;
  const consumed = frameEnd - offset;
  if (ftype === HEADERS || ftype === PUSH_PROMISE) {
    if (sid === 0) return INVALID;
    let s = p;
    let e = frameEnd;
    if (flags & FLAG_PADDED) {
      const pad = buf[s]!;
      s += 1;
      e -= pad;
    }
    if (ftype === HEADERS && flags & FLAG_PRIORITY) s += 5;
    if (ftype === PUSH_PROMISE) s += 4;
    if (s > e) return INVALID;
    if (flags & FLAG_END_HEADERS) {
      dir.pendingBlock = undefined;
      if (ftype === PUSH_PROMISE) {
        dir.hpack.decode(buf, s, e);
        return { state: 'ignored', consumed };
      }
      return headersEvent(dir, sid, (flags & FLAG_END_STREAM) !== 0, buf, s, e, tsNs, 9 + len, consumed);
    }
    dir.pendingBlock = buf.slice(s, e);
    dir.pendingStream = ftype === PUSH_PROMISE ? -1 : sid;
    dir.pendingEndStream = (flags & FLAG_END_STREAM) !== 0;
    dir.pendingTs = tsNs;
    return { state: 'ignored', consumed };
  }
  if (ftype === CONTINUATION) {
    const prev = dir.pendingBlock;
    if (prev === undefined) return { state: 'ignored', consumed }; // its HEADERS came before the capture
    if (prev.length + len > MAX_HEADER_BLOCK) {
      dir.pendingBlock = undefined;
      return { state: 'ignored', consumed };
    }
    const block = new Uint8Array(prev.length + len);
    block.set(prev);
    block.set(buf.subarray(p, frameEnd), prev.length);
    if ((flags & FLAG_END_HEADERS) === 0) {
      dir.pendingBlock = block;
      return { state: 'ignored', consumed };
    }
    dir.pendingBlock = undefined;
    if (dir.pendingStream < 0) {
      dir.hpack.decode(block, 0, block.length);
      return { state: 'ignored', consumed };
    }
    return headersEvent(
      dir,
      dir.pendingStream,
      dir.pendingEndStream,
      block,
      0,
      block.length,
      dir.pendingTs,
      block.length + 9,
      consumed,
    );
  }
  if (ftype === RST_STREAM) {
    if (len !== 4 || sid === 0) return INVALID;
    const event: H2Event = {
      tsNs,
      size: 13,
      streamId: sid,
      kind: 'rst',
      endStream: true,
      errorCode: readU32(buf, p),
    };
    return { state: 'success', consumed, frames: [event] };
  }
  // SETTINGS, PING, GOAWAY, WINDOW_UPDATE, PRIORITY and extension frames carry no API-call facts.
  return { state: 'ignored', consumed };
}

function headersEvent(
  dir: H2DirectionState,
  sid: number,
  endStream: boolean,
  buf: Uint8Array,
  s: number,
  e: number,
  tsNs: bigint,
  size: number,
  consumed: number,
): ParseResult<H2Event> {
  const decoded = dir.hpack.decode(buf, s, e);
  const event: H2Event = {
    tsNs,
    size,
    streamId: sid,
    kind: 'headers',
    endStream,
    headers: decoded?.headers ?? [],
    // A block we could not decode at all counts as one unknown field.
    unknownHeaders: decoded === undefined ? 1 : decoded.unknown,
  };
  return { state: 'success', consumed, frames: [event] };
}

/**
 * Counts gRPC message starts in DATA bytes `[s, e)` of stream `sid` (each message: 1-byte flag + 4-byte
 * big-endian length, then the message). Tracks the message in progress across frames per stream.
 */
function countGrpc(dir: H2DirectionState, sid: number, buf: Uint8Array, s: number, e: number): void {
  let remaining = dir.grpcRemaining.get(sid) ?? 0;
  let at = s;
  while (at < e) {
    if (remaining > 0) {
      const n = Math.min(remaining, e - at);
      remaining -= n;
      at += n;
      continue;
    }
    // A message prefix split across frames is rare; treat the prefix bytes we have as the start.
    if (e - at < 5) {
      dir.grpcMessagesSeen++;
      remaining = 0;
      break;
    }
    dir.grpcMessagesSeen++;
    remaining = readU32(buf, at + 1);
    at += 5;
  }
  if (dir.grpcRemaining.size < 4096 || dir.grpcRemaining.has(sid)) dir.grpcRemaining.set(sid, remaining);
}
