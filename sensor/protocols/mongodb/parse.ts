import { onDemand } from 'bson';
import type { DetectInput, DetectResult, MessageType, ParseResult } from '../contract.ts';
import { decompressMessage } from './compressed.ts';
import { KNOWN_OPCODES, MAX_MESSAGE, MAX_TEXT, type MongoFrame, OP } from './types.ts';

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

export function parseMongo(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
): ParseResult<MongoFrame> {
  const avail = buf.length - offset;
  if (avail < 16) return { state: 'needs-more-data', consumed: 0 };
  if (!plausibleHeader(buf, offset)) return { state: 'invalid', consumed: 0 };
  const len = u32le(buf, offset);
  if (avail < len) return { state: 'needs-more-data', consumed: 0 };
  const frame: MongoFrame = {
    tsNs,
    size: len,
    requestId: i32le(buf, offset + 4),
    responseTo: i32le(buf, offset + 8),
    opCode: u32le(buf, offset + 12),
  };
  if (frame.opCode === OP.COMPRESSED) return parseCompressed(type, buf, offset, len, frame);
  const body = offset + 16;
  const end = offset + len;
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
  return { state: 'success', consumed: len, frames: [frame] };
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

/** Copies the few fields we need from the top-level elements of the document at `offset` (bson's lazy walker). */
function readDocument(buf: Uint8Array, offset: number, frame: MongoFrame, type: MessageType): void {
  let first = true;
  for (const [t, nameOffset, nameLength, valueOffset] of onDemand.parseToElements(buf, offset)) {
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

/** Next plausible message header at or after `offset`. */
export function findMongoBoundary(_type: MessageType, buf: Uint8Array, offset: number): number {
  for (let i = Math.max(0, offset); i + 16 <= buf.length; i++) if (plausibleHeader(buf, i)) return i;
  return -1;
}
