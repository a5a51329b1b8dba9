import type { DetectInput, DetectResult, MessageType, ParseResult } from '../contract.ts';
import { skipLater, skipRest } from '../prefixSkip.ts';
import { readErrorCode } from './errorCodes.ts';
import { KafkaReader, OutOfRange } from './reader.ts';
import { countRecords, readRecordBatch } from './records.ts';
import {
  API,
  API_NAMES,
  isFlexible,
  type KafkaFrame,
  type KafkaState,
  MAX_MESSAGE,
  MAX_PENDING,
  MAX_PRODUCE_PARTITIONS,
} from './types.ts';

/** The answer for bytes that are clearly not this protocol: shared, so saying no allocates nothing. */
const NO: DetectResult = Object.freeze({ score: 0 });

const i32 = (b: Uint8Array, i: number) => (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
const i16 = (b: Uint8Array, i: number) => (((b[i]! << 8) | b[i + 1]!) << 16) >> 16;
const MAX_VERSION = 20;
/** A message is parsed once this much of it (or all of it) has arrived. */
export const PREFIX_BYTES = 1024;

/** A plausible request header at `p`: size, known API key, small version, a sane client id length. */
function plausibleRequest(b: Uint8Array, p: number): boolean {
  if (b.length - p < 14) return false;
  const size = i32(b, p);
  if (size < 10 || size > MAX_MESSAGE) return false;
  const key = i16(b, p + 4);
  const version = i16(b, p + 6);
  if (key < 0 || key >= API_NAMES.length || version < 0 || version > MAX_VERSION) return false;
  const clientIdLen = i16(b, p + 12);
  if (clientIdLen < -1 || clientIdLen > size - 10) return false;
  // A client id is printable text.
  for (let i = p + 14; i < Math.min(b.length, p + 14 + Math.max(0, clientIdLen)); i++) {
    if (b[i]! < 0x20 || b[i]! > 0x7e) return false;
  }
  return true;
}

/** Cheap detection from a request header; allocates nothing. Responses alone are not recognisable. */
export function detectKafka(input: DetectInput): DetectResult {
  const d = input.data;
  if (input.transport !== 'tcp' || !plausibleRequest(d, 0)) return NO;
  const hinted = input.localPort === 9092 || input.remotePort === 9092;
  const exact = i32(d, 0) === d.length - 4;
  const score = (exact ? 0.7 : 0.5) + (hinted ? 0.2 : 0);
  return { score, messageType: 'request' };
}

export function parseKafka(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
  state: KafkaState,
): ParseResult<KafkaFrame> {
  const avail = buf.length - offset;
  // The rest of a message parsed from its prefix: skipped as it streams, never buffered.
  const skipped = skipRest(type, avail, state);
  if (skipped) return skipped;
  if (avail < 4) return { state: 'needs-more-data', consumed: 0 };
  const size = i32(buf, offset);
  if (size < (type === 'request' ? 10 : 4) || size > MAX_MESSAGE) return { state: 'invalid', consumed: 0 };
  if (type === 'request' && avail >= 14 && !plausibleRequest(buf, offset))
    return { state: 'invalid', consumed: 0 };
  // Everything read from a message (header, first topic and partition, the first records) lies in its
  // first bytes: a message larger than what has arrived is parsed from PREFIX_BYTES or more and the rest
  // skipped. A Produce or Fetch of megabytes then costs its prefix, and a message the capture truncated
  // (the live source fills the missing bytes with zeros) still makes its call.
  if (avail < 4 + size && avail < PREFIX_BYTES) return { state: 'needs-more-data', consumed: 0 };
  const end = offset + Math.min(4 + size, avail);
  const frame: KafkaFrame = {
    tsNs,
    size: 4 + size,
    correlationId: i32(buf, offset + (type === 'request' ? 8 : 4)),
  };
  if (type === 'request') {
    const apiKey = i16(buf, offset + 4);
    const apiVersion = i16(buf, offset + 6);
    frame.apiKey = apiKey;
    frame.apiVersion = apiVersion;
    readRequestBody(frame, new KafkaReader(buf, offset + 12, end), apiKey, apiVersion, buf, end);
    if (state.pending.size >= MAX_PENDING) state.pending.delete(state.pending.keys().next().value!);
    state.pending.set(frame.correlationId, { apiKey, apiVersion });
  } else {
    const req = state.pending.get(frame.correlationId);
    if (req) {
      state.pending.delete(frame.correlationId);
      frame.apiKey = req.apiKey;
      frame.apiVersion = req.apiVersion;
      const r = new KafkaReader(buf, offset + 8, end);
      try {
        // ApiVersions keeps response header v0 so old clients can read it.
        if (isFlexible(req.apiKey, req.apiVersion) && req.apiKey !== API.ApiVersions) r.taggedFields();
        const body = r.pos;
        frame.errorCode = readErrorCode(r, req.apiKey, req.apiVersion);
        if (req.apiKey === API.Fetch)
          readFetchRecords(frame, new KafkaReader(buf, body, end), req.apiVersion, buf, end);
      } catch (e) {
        if (!(e instanceof OutOfRange)) throw e;
      }
    }
  }
  skipLater(type, state, 4 + size - (end - offset));
  return { state: 'success', consumed: end - offset, frames: [frame] };
}

function readRequestBody(
  frame: KafkaFrame,
  r: KafkaReader,
  apiKey: number,
  v: number,
  buf: Uint8Array,
  end: number,
): void {
  const flexible = isFlexible(apiKey, v);
  try {
    frame.clientId = r.string() ?? undefined; // the header's client id is never compact
    if (flexible) r.taggedFields();
    const str = () => (flexible ? r.compactString() : r.string());
    switch (apiKey) {
      case API.Produce: {
        if (v >= 3) str(); // transactional id
        const acks = r.int16();
        if (acks === 0) frame.noResponse = true;
        r.int32(); // timeout
        frame.topicCount = r.arrayLength(flexible);
        readProduceTopics(frame, r, v, buf, end);
        break;
      }
      case API.Fetch: {
        if (v < 15) r.int32(); // replica id (a tagged field from v15)
        r.int32(); // max wait
        r.int32(); // min bytes
        if (v >= 3) r.int32(); // max bytes
        if (v >= 4) r.int8(); // isolation level
        if (v >= 7) r.skip(8); // session id and epoch
        frame.topicCount = r.arrayLength(flexible);
        if (frame.topicCount > 0) frame.resource = v >= 13 ? r.uuidHex() : (str() ?? undefined);
        break;
      }
      case API.Metadata: {
        const n = r.arrayLength(flexible);
        frame.topicCount = Math.max(0, n);
        if (n > 0) {
          if (v >= 10) r.skip(16); // topic id before the name
          frame.resource = str() ?? undefined;
        }
        break;
      }
      case API.OffsetCommit:
      case API.OffsetFetch:
      case API.JoinGroup:
      case API.Heartbeat:
      case API.LeaveGroup:
      case API.SyncGroup:
        // OffsetFetch v8+ batches groups in an array: the first group's id follows its length.
        if (apiKey === API.OffsetFetch && v >= 8) r.arrayLength(flexible);
        frame.resource = str() ?? undefined;
        break;
      case API.FindCoordinator:
        if (v < 4) frame.resource = str() ?? undefined;
        break;
    }
  } catch (e) {
    if (!(e instanceof OutOfRange)) throw e;
  }
}

/**
 * A Produce request's topics and partitions: the first topic names the call, the first partition's first
 * record batch says what the messages carry (records.ts: key, headers with trace context), and the batch
 * headers of every partition give the request's message count. The count is left unknown when any part
 * could not be read (cut by the capture, zeros where it skipped bytes, more than MAX_PRODUCE_PARTITIONS, a
 * partition without records), so it is never short.
 */
function readProduceTopics(frame: KafkaFrame, r: KafkaReader, v: number, buf: Uint8Array, end: number): void {
  const flexible = isFlexible(API.Produce, v);
  let partitions = 0;
  let total: number | undefined = 0;
  for (let t = 0; t < frame.topicCount!; t++) {
    const topic = v >= 13 ? r.uuidHex() : ((flexible ? r.compactString() : r.string()) ?? undefined);
    if (t === 0) frame.resource = topic;
    const count = r.arrayLength(flexible);
    if (count <= 0) total = undefined;
    for (let p = 0; p < count; p++) {
      if (partitions === MAX_PRODUCE_PARTITIONS) {
        frame.partitionCount = partitions; // the message count stays unknown
        return;
      }
      const index = r.int32();
      const n = flexible ? r.uvarint() - 1 : r.int32();
      if (partitions++ === 0) {
        frame.partition = index;
        if (n > 0) frame.batch = readRecordBatch(buf, r.pos, Math.min(end, r.pos + n));
      }
      const c = n > 0 ? countRecords(buf, r.pos, r.pos + n, end) : undefined;
      total = total === undefined || c === undefined ? undefined : total + c;
      // The last partition's records may run past the captured prefix (a big batch): nothing follows them.
      if (t === frame.topicCount! - 1 && p === count - 1) break;
      if (n > 0) r.skip(n); // past the captured bytes: OutOfRange, and the counts stay unknown
      if (flexible) r.taggedFields();
    }
    if (flexible && t < frame.topicCount! - 1) r.taggedFields();
  }
  frame.partitionCount = partitions;
  frame.messageCount = total;
}

/**
 * A Fetch response's first topic and partition up to its records, and what the first record batch there says
 * (records.ts): the messages a consumer received, with the trace contexts their producers put in them.
 */
function readFetchRecords(frame: KafkaFrame, r: KafkaReader, v: number, buf: Uint8Array, end: number): void {
  const flexible = isFlexible(API.Fetch, v);
  try {
    if (v >= 1) r.int32(); // throttle time
    if (v >= 7) r.skip(2 + 4); // error code, session id
    if (r.arrayLength(flexible) <= 0) return;
    if (v >= 13) r.skip(16);
    else if (flexible) r.compactString();
    else r.string();
    if (r.arrayLength(flexible) <= 0) return;
    frame.partition = r.int32();
    r.skip(2 + 8); // error code, high watermark
    if (v >= 4) r.skip(8); // last stable offset
    if (v >= 5) r.skip(8); // log start offset
    if (v >= 4) {
      const aborted = r.arrayLength(flexible);
      for (let i = 0; i < aborted; i++) {
        r.skip(16); // producer id, first offset
        if (flexible) r.taggedFields();
      }
    }
    if (v >= 11) r.int32(); // preferred read replica
    const n = flexible ? r.uvarint() - 1 : r.int32();
    if (n > 0) frame.batch = readRecordBatch(buf, r.pos, Math.min(end, r.pos + n));
  } catch (e) {
    if (!(e instanceof OutOfRange)) throw e;
  }
}

/** Top-level error code, or the first partition's for Produce (and Fetch before v7); undefined if none. */
/** Next plausible request header at or after `offset` (responses cannot be recognised alone). */
export function findKafkaBoundary(type: MessageType, buf: Uint8Array, offset: number): number {
  if (type === 'response') return -1;
  for (let i = Math.max(0, offset); i + 14 <= buf.length; i++) if (plausibleRequest(buf, i)) return i;
  return -1;
}
