import { CODECS, type Codec, decompressRecords } from './compression.ts';
import { KafkaReader, OutOfRange } from './reader.ts';

/**
 * The first records of a record batch (message format v2, KIP-98), for what they say about the messages a
 * Produce request or Fetch response carries: how many records the batch holds, the first record's key, and
 * each decoded record's headers (where OpenTelemetry-instrumented producers put `traceparent`).
 *
 * Bounded: at most MAX_RECORDS records and MAX_HEADERS headers per record are decoded, keys and values cut at
 * MAX_TEXT characters. The records of a compressed batch (gzip, snappy, lz4, zstd) are decompressed first, as
 * far as the captured bytes go (compression.ts; zstd by whole blocks only). Older message formats
 * (magic 0/1) have no headers. The capture keeps only a message's
 * first bytes and fills what it skipped with zeros, so decoding stops quietly at the first record that does
 * not fit its stated length or the batch, or whose key or header name holds a NUL (the fill): what was read
 * before stays.
 */
export interface BatchSummary {
  /** Records in the batch (its header's count). */
  count: number;
  compressed: boolean;
  /** The codec of a compressed batch. */
  codec?: Codec;
  /** The first record's key (text, cut), when it has one and was decoded. */
  key?: string;
  /** Headers of each decoded record, in order (empty objects for records without headers). */
  headers: Record<string, string>[];
}

export const MAX_RECORDS = 8;
export const MAX_HEADERS = 16;
const MAX_TEXT = 256;
/** baseOffset .. records count: 8+4+4+1+4+2+4+8+8+8+2+4+4 bytes. */
const BATCH_HEADER = 61;

/** Reads the batch at `start` (`end` = end of the records field); undefined when it is not a v2 batch. */
export function readRecordBatch(buf: Uint8Array, start: number, end: number): BatchSummary | undefined {
  if (end - start < BATCH_HEADER) return undefined;
  const r = new KafkaReader(buf, start, end);
  try {
    r.skip(8); // base offset
    const batchLength = r.int32();
    const batchEnd = Math.min(end, start + 12 + batchLength);
    r.skip(4); // partition leader epoch
    if (r.int8() !== 2) return undefined;
    r.skip(4); // crc
    const attributes = r.int16();
    r.skip(4 + 8 + 8 + 8 + 2 + 4); // last offset delta, timestamps, producer id/epoch, base sequence
    const count = r.int32();
    if (count < 0) return undefined;
    const out: BatchSummary = { count, compressed: (attributes & 0x07) !== 0, headers: [] };
    if (!out.compressed) {
      readRecords(buf, r, batchEnd, out);
      return out;
    }
    out.codec = CODECS[attributes & 0x07] ?? undefined;
    const records = decompressRecords(attributes & 0x07, buf.subarray(r.pos, batchEnd));
    if (records) readRecords(records, new KafkaReader(records, 0, records.length), records.length, out);
    return out;
  } catch (e) {
    if (e instanceof OutOfRange) return undefined;
    throw e;
  }
}

/**
 * Records in the record set at `start..setEnd` (one partition's), summed over its batches' headers; only
 * `start..captured` holds bytes. Undefined unless every batch header was read and the batches fill the set
 * exactly: a header cut by the capture, zeros where the capture skipped bytes, or an old message format
 * (magic 0/1) leave the count unknown rather than short.
 */
export function countRecords(
  buf: Uint8Array,
  start: number,
  setEnd: number,
  captured: number,
): number | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let total = 0;
  let pos = start;
  while (pos < setEnd) {
    if (pos + BATCH_HEADER > Math.min(setEnd, captured)) return undefined;
    const batchLength = view.getInt32(pos + 8);
    const count = view.getInt32(pos + BATCH_HEADER - 4);
    if (buf[pos + 16] !== 2 || batchLength < BATCH_HEADER - 12 || count < 0) return undefined;
    total += count;
    pos += 12 + batchLength;
  }
  return pos === setEnd ? total : undefined;
}

/**
 * The records from `r.pos`, while they fit `end`. A record cut by `end` (the bytes the capture copied) is
 * read as far as it goes: its key comes before its value, its headers after it.
 */
function readRecords(buf: Uint8Array, r: KafkaReader, end: number, out: BatchSummary): void {
  for (let i = 0; i < Math.min(out.count, MAX_RECORDS); i++) {
    try {
      const length = r.varint();
      // 7 bytes is the smallest record (all fields empty); a zero-filled gap reads as length 0.
      if (length < 7) return;
      const recordEnd = r.pos + length;
      out.headers.push(
        readRecord(new KafkaReader(buf, r.pos, Math.min(recordEnd, end)), i === 0 ? out : undefined),
      );
      if (recordEnd > end) return;
      r.pos = recordEnd;
    } catch (e) {
      if (e instanceof OutOfRange) return;
      throw e;
    }
  }
}

/** One record: its headers; the key goes to `first` (the batch's first record only). */
function readRecord(rec: KafkaReader, first: BatchSummary | undefined): Record<string, string> {
  rec.skip(1); // attributes
  rec.skipVarlong(); // timestamp delta
  rec.varint(); // offset delta
  const keyLength = rec.varint();
  if (keyLength >= 0) {
    const key = damaged(rec.textOf(keyLength, MAX_TEXT));
    if (first) first.key = key;
  }
  const valueLength = rec.varint();
  if (valueLength > 0) rec.skip(valueLength);
  const n = rec.varint();
  const headers: Record<string, string> = {};
  for (let h = 0; h < Math.min(n, MAX_HEADERS); h++) {
    const name = damaged(rec.textOf(Math.max(0, rec.varint()), MAX_TEXT));
    const valueLength = rec.varint();
    const value = valueLength < 0 ? '' : rec.textOf(valueLength, MAX_TEXT);
    if (name !== '' && !Object.hasOwn(headers, name)) headers[name] = value;
  }
  return headers;
}

/** Text with a NUL in it is where the capture's zero fill begins: treated as the end of what was captured. */
function damaged(s: string): string {
  if (s.includes('\0')) throw new OutOfRange();
  return s;
}
