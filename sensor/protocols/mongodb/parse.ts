import { onDemand } from 'bson';
import type { DetectInput, DetectResult, MessageType, ParseResult } from '../contract.ts';
import { skipLater, skipRest } from '../prefixSkip.ts';
import { decompressMessage } from './compressed.ts';
import { KNOWN_OPCODES, MAX_MESSAGE, MAX_TEXT, type MongoFrame, type MongoState, OP } from './types.ts';

/** The answer for bytes that are clearly not this protocol: shared, so saying no allocates nothing. */
const NO: DetectResult = Object.freeze({ score: 0 });

const u32le = (b: Uint8Array, i: number) =>
  (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
const i32le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
const utf8 = new TextDecoder('utf-8', { fatal: false });
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

const BSON_DOUBLE = 1;
const BSON_STRING = 2;
const BSON_BOOL = 8;
const BSON_INT32 = 16;
const BSON_INT64 = 18;

function plausibleHeader(b: Uint8Array, p: number): boolean {
  if (b.length - p < 16) return false;
  const len = u32le(b, p);
  return len >= 16 && len <= MAX_MESSAGE && KNOWN_OPCODES.has(u32le(b, p + 12)) && i32le(b, p + 4) >= 0;
}

/** Cheap detection on a message header; allocates nothing. */
export function detectMongo(input: DetectInput): DetectResult {
  const d = input.data;
  if (input.transport !== 'tcp' || !plausibleHeader(d, 0)) return NO;
  const op = u32le(d, 12);
  const responseTo = i32le(d, 8);
  const hinted = input.localPort === 27017 || input.remotePort === 27017;
  const exact = u32le(d, 0) === d.length;
  let score = (exact ? 0.6 : 0.4) + (hinted ? 0.3 : 0);
  // An OP_MSG/OP_QUERY request answers nothing (responseTo 0); an OP_REPLY always answers something.
  const request = op !== OP.REPLY && responseTo === 0;
  if (op === OP.REPLY && responseTo === 0) score = 0;
  return score > 0 ? { score, messageType: request ? 'request' : 'response' } : NO;
}

/** A message is parsed once this much of it (or all of it) has arrived; the rest is skipped as it streams. */
export const PREFIX_BYTES = 1024;

/**
 * One message. What is read from it (header, command name, collection, `$db`; `ok`, `code`, `errmsg` of a
 * reply) lies in its first bytes, so a message larger than what has arrived is parsed from PREFIX_BYTES or
 * more and the rest skipped (`state.skip`): a 16 MB reply costs its prefix, and a reply the capture
 * truncated (zero-filled by the live source) still answers its request. Such a frame is `truncated`; its
 * document is walked only as far as its elements fit. Compressed messages need all their bytes.
 */
export function parseMongo(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
  state: MongoState = { skipRequest: 0, skipResponse: 0 },
): ParseResult<MongoFrame> {
  const avail = buf.length - offset;
  const skipped = skipRest(type, avail, state);
  if (skipped) return skipped;
  if (avail < 16) return { state: 'needs-more-data', consumed: 0 };
  if (!plausibleHeader(buf, offset)) return { state: 'invalid', consumed: 0 };
  const len = u32le(buf, offset);
  const frame: MongoFrame = {
    tsNs,
    size: len,
    requestId: i32le(buf, offset + 4),
    responseTo: i32le(buf, offset + 8),
    opCode: u32le(buf, offset + 12),
  };
  if (avail < len && (avail < PREFIX_BYTES || frame.opCode === OP.COMPRESSED))
    return { state: 'needs-more-data', consumed: 0 };
  if (frame.opCode === OP.COMPRESSED) return parseCompressed(type, buf, offset, len, frame);
  const body = offset + 16;
  const end = offset + Math.min(len, avail);
  if (avail < len) {
    frame.truncated = true;
    skipLater(type, state, len - avail);
  }
  try {
    if (frame.opCode === OP.MSG) {
      const flags = u32le(buf, body);
      frame.moreToCome = (flags & 2) !== 0;
      // Sections: find the kind-0 body (there is exactly one); kind-1 sequences are skipped.
      let p = body + 4;
      const stop = (flags & 1) !== 0 ? end - 4 : end;
      while (p < stop) {
        const kind = buf[p]!;
        if (kind === 0) {
          readDocument(buf.subarray(0, end), p + 1, frame, type);
          break;
        }
        if (kind !== 1) break;
        p += 1 + u32le(buf, p + 1);
      }
    } else if (frame.opCode === OP.QUERY) {
      const nul = buf.indexOf(0, body + 4);
      if (nul < 0 || nul >= end) return { state: 'invalid', consumed: 0 };
      frame.collection = text(buf, body + 4, nul);
      readDocument(buf.subarray(0, end), nul + 1 + 8, frame, type);
    } else if (frame.opCode === OP.REPLY) {
      const returned = i32le(buf, body + 16);
      if (returned > 0 && body + 20 < end) readDocument(buf.subarray(0, end), body + 20, frame, 'response');
    }
  } catch {
    // A malformed document: keep the frame (header and size are valid), without its fields.
  }
  return { state: 'success', consumed: end - offset, frames: [frame] };
}

/** OP_COMPRESSED: the original message, decompressed, parsed as if it had been sent as is. */
function parseCompressed(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  len: number,
  frame: MongoFrame,
): ParseResult<MongoFrame> {
  const d = decompressMessage(buf, offset, len);
  frame.compressor = d.compressor;
  if (!d.ok) {
    frame.compressError = d.reason;
    return { state: 'success', consumed: len, frames: [frame] };
  }
  const inner = parseMongo(type, d.message, 0, frame.tsNs);
  const original = inner.state === 'success' ? inner.frames?.[0] : undefined;
  if (original === undefined) {
    frame.compressError = 'the decompressed message is not a valid message';
    return { state: 'success', consumed: len, frames: [frame] };
  }
  original.size = len; // the bytes on the wire
  original.compressor = d.compressor;
  return { state: 'success', consumed: len, frames: [original] };
}

function text(buf: Uint8Array, start: number, end: number): string {
  return utf8.decode(buf.subarray(start, Math.min(end, start + MAX_TEXT)));
}

function stringValue(buf: Uint8Array, offset: number): string {
  const n = i32le(buf, offset);
  return text(buf, offset + 4, offset + 4 + Math.max(0, n - 1));
}

function numberValue(buf: Uint8Array, type: number, offset: number): number | undefined {
  if (type === BSON_DOUBLE) return view(buf).getFloat64(offset, true);
  if (type === BSON_INT32) return i32le(buf, offset);
  if (type === BSON_INT64) return Number(view(buf).getBigInt64(offset, true));
  if (type === BSON_BOOL) return buf[offset];
  return undefined;
}

/**
 * Copies the few fields we need from the top-level elements of the document at `offset` (bson's lazy walker;
 * for a document cut short by `buf`'s end, `elementsUpTo`).
 */
function readDocument(buf: Uint8Array, offset: number, frame: MongoFrame, type: MessageType): void {
  let first = true;
  const whole = offset + 4 <= buf.length && offset + u32le(buf, offset) <= buf.length;
  let elements: Iterable<[number, number, number, number, ...unknown[]]>;
  try {
    elements = whole ? onDemand.parseToElements(buf, offset) : elementsUpTo(buf, offset);
  } catch {
    elements = elementsUpTo(buf, offset); // whole, but zero-filled past the copied bytes: bson refuses it
  }
  for (const [t, nameOffset, nameLength, valueOffset] of elements) {
    const name = utf8.decode(buf.subarray(nameOffset, nameOffset + nameLength));
    if (type === 'request') {
      if (first) {
        frame.command = name;
        if (t === BSON_STRING) frame.collection = frame.collection ?? stringValue(buf, valueOffset);
      } else if (name === '$db' && t === BSON_STRING) {
        frame.db = stringValue(buf, valueOffset);
      }
    } else {
      if (first) frame.command = name;
      if (name === 'ok') frame.ok = numberValue(buf, t, valueOffset);
      else if (name === 'code') frame.code = numberValue(buf, t, valueOffset);
      else if (name === 'errmsg' && t === BSON_STRING) frame.errmsg = stringValue(buf, valueOffset);
      else if (name === '$err' && t === BSON_STRING) frame.errmsg = stringValue(buf, valueOffset);
    }
    first = false;
  }
}

/** Bytes a BSON value takes, by type: fixed sizes; -1 behind an int32 length (+1 for strings' own NUL); -2 a regex. */
const BSON_SIZE: Record<number, number> = {
  1: 8, 2: -1, 3: 0, 4: 0, 5: -3, 6: 0, 7: 12, 8: 1, 9: 8, 10: 0, 11: -2, 12: -4, 13: -1, 14: -1, 15: 0,
  16: 4, 17: 8, 18: 8, 19: 16, 127: 0, 255: 0,
}; // biome-ignore format: a table

/**
 * The top-level elements of a document whose bytes end early (a truncated capture), as
 * [type, name offset, name length, value offset], while each element fits in `buf`. Stops at the first
 * element that does not fit, at a zero type byte (the document's end, or the capture's zero fill) and at a
 * type it cannot size.
 */
function elementsUpTo(buf: Uint8Array, offset: number): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  let p = offset + 4;
  while (p < buf.length && out.length < 64) {
    const t = buf[p]!;
    if (t === 0) break;
    const nul = buf.indexOf(0, p + 1);
    if (nul < 0) break;
    const v = nul + 1;
    const fixed = BSON_SIZE[t];
    if (fixed === undefined) break;
    let size: number;
    if (t === 3 || t === 4 || t === 15)
      size = v + 4 <= buf.length ? u32le(buf, v) : -1; // documents, arrays
    else if (fixed >= 0) size = fixed;
    else if (fixed === -1)
      size = v + 4 <= buf.length ? 4 + u32le(buf, v) : -1; // string-like
    else if (fixed === -3)
      size = v + 4 <= buf.length ? 5 + u32le(buf, v) : -1; // binary: length, subtype
    else if (fixed === -4)
      size = v + 4 <= buf.length ? 4 + u32le(buf, v) + 12 : -1; // DBPointer
    else {
      const a = buf.indexOf(0, v); // regex: two cstrings
      const b = a < 0 ? -1 : buf.indexOf(0, a + 1);
      size = b < 0 ? -1 : b + 1 - v;
    }
    if (size < 0 || v + size > buf.length) {
      // The value runs past the bytes we have: its name and type are still known (a reply's `cursor`).
      out.push([t, p + 1, nul - p - 1, v]);
      break;
    }
    out.push([t, p + 1, nul - p - 1, v]);
    p = v + size;
  }
  return out;
}

/** Next plausible message header at or after `offset`. */
export function findMongoBoundary(_type: MessageType, buf: Uint8Array, offset: number): number {
  for (let i = Math.max(0, offset); i + 16 <= buf.length; i++) if (plausibleHeader(buf, i)) return i;
  return -1;
}
