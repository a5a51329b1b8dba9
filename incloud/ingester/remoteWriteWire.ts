import protobuf from 'protobufjs';
import { uncompressSync } from 'snappy';
import { RemoteWriteInputError } from './remoteWrite.ts';

/**
 * The hot path of the ingester: a remote-write WriteRequest is walked by hand over the snappy-decoded body
 * and kept as byte offsets into it, without a JS object or string per label (VictoriaMetrics' lib/prompb also
 * unmarshals by hand). Each label is recorded as the byte range of its whole Label message plus the ranges of
 * its name and value. Field numbers: WriteRequest.timeseries=1; TimeSeries.labels=1, samples=2;
 * Label.name=1, value=2; Sample.value=1 (double), timestamp=2 (int64). Other fields are skipped.
 *
 * The whole request is parsed (and so validated) before the caller folds any of it in.
 */
export interface ParsedWrite {
  /** The decompressed body. */
  raw: Buffer;
  /** Series with at least one sample. */
  series: number;
  /** Per series (first `series` entries): number of labels. */
  labelCounts: Int32Array;
  /** Per label, 6 numbers: label start, label end, name start, name end, value start, value end. */
  offsets: Int32Array;
  /** Per series: the newest sample value and the number of samples. */
  values: Float64Array;
  samples: Int32Array;
  /**
   * Per series: its labels exactly as sent (latin1 text of the bytes from the first label's tag to the last
   * label's end) when nothing but labels lies between them, as encoders write them; else undefined. Equal
   * keys mean equal label lists. A series whose key is in the `known` map given to `parse()` was validated
   * before and gets no label offsets (`labelCounts` 0).
   */
  keys: (string | undefined)[];
}

const NAME = Buffer.from('__name__');

/**
 * A reusable remote-write parser: it owns growable scratch arrays, so a request allocates nothing per label.
 * Not reentrant: the `ParsedWrite` it returns (arrays included) is valid only until the next `parse()` on the
 * same parser, so callers parse and fold synchronously. Does not keep `body` after returning.
 */
export class RemoteWriteParser {
  private readonly p: ParsedWrite = {
    raw: Buffer.alloc(0),
    series: 0,
    labelCounts: new Int32Array(1024),
    offsets: new Int32Array(1024 * 6 * 8),
    values: new Float64Array(1024),
    samples: new Int32Array(1024),
    keys: [],
  };
  /** Labels recorded so far in this request. */
  private labels = 0;
  /** Read position in `p.raw`. */
  private pos = 0;

  parse(body: Uint8Array, maxBytes: number, known?: ReadonlyMap<string, unknown>): ParsedWrite {
    return this.parseDecoded(decompress(body, maxBytes), known);
  }

  /** Parses an already decompressed WriteRequest; `raw` is kept (as `ParsedWrite.raw`) until the next call. */
  parseDecoded(raw: Buffer, known?: ReadonlyMap<string, unknown>): ParsedWrite {
    const p = this.p;
    p.raw = raw;
    p.series = 0;
    p.keys.length = 0;
    this.labels = 0;
    this.pos = 0;
    const end = raw.length;
    while (this.pos < end) {
      const tag = this.varint(raw, end);
      if (tag === 0x0a) this.readSeries(raw, this.length(raw, end), known);
      else this.skip(raw, tag, end);
    }
    return p;
  }

  /**
   * One TimeSeries: labels are only skipped over here (tag and length); their fields are read by
   * `readLabels` unless the series is known. Single-byte tags and lengths (nearly all) are read inline.
   */
  private readSeries(raw: Buffer, end: number, known: ReadonlyMap<string, unknown> | undefined): void {
    const p = this.p;
    let value = 0;
    let samples = 0;
    let rangeStart = -1;
    let rangeEnd = -1;
    let otherSinceLabel = false;
    let contiguous = true;
    let pos = this.pos;
    while (pos < end) {
      const tagStart = pos;
      let tag = raw[pos]!;
      if (tag < 0x80) pos++;
      else {
        this.pos = pos;
        tag = this.varint(raw, end);
        pos = this.pos;
      }
      if (tag === 0x0a) {
        if (rangeStart < 0) rangeStart = tagStart;
        else if (otherSinceLabel) contiguous = false;
        let len = pos < end ? raw[pos]! : 0x80;
        if (len < 0x80) pos++;
        else {
          this.pos = pos;
          len = this.varint(raw, end);
          pos = this.pos;
        }
        pos += len;
        if (pos > end) throw truncated('label');
        rangeEnd = pos;
      } else if (tag === 0x12) {
        otherSinceLabel = rangeStart >= 0;
        this.pos = pos;
        const se = this.length(raw, end);
        if (raw[this.pos] === 0x09 && this.pos + 9 <= se) {
          value = raw.readDoubleLE(this.pos + 1); // value first, as encoders write it
          this.pos += 9;
        }
        while (this.pos < se) {
          const t = this.varint(raw, se);
          if (t === 0x09) {
            if (this.pos + 8 > se) throw truncated('sample');
            value = raw.readDoubleLE(this.pos);
            this.pos += 8;
          } else this.skip(raw, t, se);
        }
        pos = this.pos;
        samples++;
      } else {
        otherSinceLabel = rangeStart >= 0;
        this.pos = pos;
        this.skip(raw, tag, end);
        pos = this.pos;
      }
    }
    this.pos = pos;
    const key = contiguous && rangeStart >= 0 ? raw.toString('latin1', rangeStart, rangeEnd) : undefined;
    const firstLabel = this.labels;
    // Validated when it was first seen; otherwise record and validate its labels now.
    if (key === undefined || !known?.has(key)) this.readLabels(raw, rangeStart, end);
    this.pos = end;
    if (samples === 0) {
      this.labels = firstLabel; // nothing to fold in
      return;
    }
    if (p.series === p.values.length) this.growSeries();
    const s = p.series++;
    p.labelCounts[s] = this.labels - firstLabel;
    p.values[s] = value;
    p.samples[s] = samples;
    p.keys[s] = key;
  }

  /** Records and validates the labels of the series in `raw[start, end)` (fields other than labels skipped). */
  private readLabels(raw: Buffer, start: number, end: number): void {
    let hasName = false;
    this.pos = start < 0 ? end : start;
    while (this.pos < end) {
      const tag = this.varint(raw, end);
      if (tag !== 0x0a) {
        this.skip(raw, tag, end);
        continue;
      }
      const le = this.length(raw, end);
      const ls = this.pos;
      let ns = 0;
      let ne = 0;
      let vs = 0;
      let ve = 0;
      while (this.pos < le) {
        const t = this.varint(raw, le);
        if (t === 0x0a) {
          ne = this.length(raw, le);
          ns = this.pos;
          this.pos = ne;
        } else if (t === 0x12) {
          ve = this.length(raw, le);
          vs = this.pos;
          this.pos = ve;
        } else this.skip(raw, t, le);
      }
      if (ne === ns) throw new RemoteWriteInputError('cannot decode remote write series: empty label name');
      if (!hasName && bytesEqual(raw, ns, ne, NAME)) hasName = true;
      this.pushLabel(ls, le, ns, ne, vs, ve);
    }
    if (!hasName) throw new RemoteWriteInputError('cannot decode remote write series: no __name__ label');
  }

  private pushLabel(ls: number, le: number, ns: number, ne: number, vs: number, ve: number): void {
    let o = this.p.offsets;
    const i = this.labels * 6;
    if (i + 6 > o.length) {
      const grown = new Int32Array(o.length * 2);
      grown.set(o);
      this.p.offsets = o = grown;
    }
    o[i] = ls;
    o[i + 1] = le;
    o[i + 2] = ns;
    o[i + 3] = ne;
    o[i + 4] = vs;
    o[i + 5] = ve;
    this.labels++;
  }

  private growSeries(): void {
    const p = this.p;
    const n = p.values.length * 2;
    const counts = new Int32Array(n);
    counts.set(p.labelCounts);
    const values = new Float64Array(n);
    values.set(p.values);
    const samples = new Int32Array(n);
    samples.set(p.samples);
    p.labelCounts = counts;
    p.values = values;
    p.samples = samples;
  }

  /** A base-128 varint of at most 35 bits at `pos` (tags and lengths; longer ones are skipped by `skip`). */
  private varint(raw: Buffer, end: number): number {
    let pos = this.pos;
    if (pos < end && raw[pos]! < 0x80) {
      this.pos = pos + 1;
      return raw[pos]!; // one byte: nearly every tag and label length
    }
    let x = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= end) throw truncated('field');
      const b = raw[pos++]!;
      x += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        this.pos = pos;
        return x;
      }
    }
    throw new RemoteWriteInputError('cannot decode remote write protobuf: varint too long');
  }

  /** Reads a length prefix and returns where that field ends, checked against the enclosing `end`. */
  private length(raw: Buffer, end: number): number {
    const len = this.varint(raw, end);
    const fieldEnd = this.pos + len;
    if (fieldEnd > end) throw truncated('field');
    return fieldEnd;
  }

  /** Skips the value of a field of an unknown number. */
  private skip(raw: Buffer, tag: number, end: number): void {
    switch (tag & 7) {
      case 0: {
        let pos = this.pos;
        for (let n = 0; ; n++) {
          if (pos >= end || n >= 10) throw truncated('varint');
          if (raw[pos++]! < 0x80) break;
        }
        this.pos = pos;
        return;
      }
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.length(raw, end);
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new RemoteWriteInputError(`cannot decode remote write protobuf: wire type ${tag & 7}`);
    }
    if (this.pos > end) throw truncated('field');
  }
}

function truncated(what: string): RemoteWriteInputError {
  return new RemoteWriteInputError(`cannot decode remote write protobuf: truncated ${what}`);
}

/**
 * Snappy block format, decoded natively. The declared decoded length (the leading varint) is checked against
 * `maxBytes` before anything is allocated, so a small body cannot claim gigabytes.
 */
function decompress(body: Uint8Array, maxBytes: number): Buffer {
  let declared = 0;
  let i = 0;
  for (let shift = 0; ; shift += 7) {
    if (i >= body.length || shift > 28)
      throw new RemoteWriteInputError('cannot decompress remote write body: bad length header');
    const b = body[i++]!;
    declared += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (declared > maxBytes) {
    throw new RemoteWriteInputError(
      `cannot decompress remote write body: decoded size ${declared} is too big (limit ${maxBytes})`,
    );
  }
  try {
    return uncompressSync(body, { asBuffer: true }) as Buffer;
  } catch (err) {
    throw new RemoteWriteInputError(`cannot decompress remote write body: ${(err as Error).message}`);
  }
}

/** One-off parse with a fresh parser (tests and cold paths). */
export function parseRemoteWrite(body: Uint8Array, maxBytes: number): ParsedWrite {
  return new RemoteWriteParser().parse(body, maxBytes);
}

/**
 * `buf[start, end)` equals `want`. A JS loop: Buffer.compare() crosses into C++ per call, which costs more
 * than comparing the few bytes of a label name.
 */
export function bytesEqual(buf: Uint8Array, start: number, end: number, want: Uint8Array): boolean {
  if (end - start !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (buf[start + i] !== want[i]) return false;
  return true;
}

/** Byte order of `buf[a0, a1)` against `buf[b0, b1)`: negative, 0 or positive. */
export function compareBytes(buf: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0);
  for (let i = 0; i < n; i++) {
    const d = buf[a0 + i]! - buf[b0 + i]!;
    if (d !== 0) return d;
  }
  return a1 - a0 - (b1 - b0);
}

/** The canonical bytes of a Label message (as latin1 text): the identity `parseRemoteWrite` offsets point at. */
export function labelBytes(name: string, value: string): string {
  const w = protobuf.Writer.create();
  w.uint32(0x0a).string(name);
  if (value !== '') w.uint32(0x12).string(value); // proto3 encoders omit empty strings
  return Buffer.from(w.finish()).toString('latin1');
}

/**
 * Encodes series given as sorted [name, value] pairs with one sample each (the ingester's flush), without
 * intermediate message objects. Returns the uncompressed protobuf.
 */
export function encodeSeriesWire(
  series: readonly { pairs: readonly string[]; value: number }[],
  timestampMs: number,
): Uint8Array {
  const w = protobuf.Writer.create();
  for (const s of series) {
    w.uint32(0x0a).fork();
    for (let i = 0; i < s.pairs.length; i += 2) {
      w.uint32(0x0a)
        .fork()
        .uint32(0x0a)
        .string(s.pairs[i]!)
        .uint32(0x12)
        .string(s.pairs[i + 1]!)
        .ldelim();
    }
    w.uint32(0x12).fork().uint32(0x09).double(s.value).uint32(0x10).int64(timestampMs).ldelim();
    w.ldelim();
  }
  return w.finish();
}
