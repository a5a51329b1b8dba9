import protobuf from 'protobufjs';
import { uncompress } from 'snappyjs';
import { RemoteWriteInputError } from './remoteWrite.ts';

/**
 * The hot path of the ingester: a remote-write WriteRequest is walked with protobufjs' Reader and kept as
 * byte offsets into the decompressed body, without creating a JS string per label (VictoriaMetrics' lib/prompb
 * also unmarshals by hand). Each label is recorded as the byte range of its whole Label message plus the
 * ranges of its name and value. Field numbers: WriteRequest.timeseries=1; TimeSeries.labels=1, samples=2;
 * Label.name=1, value=2; Sample.value=1 (double), timestamp=2 (int64).
 *
 * The whole request is parsed (and so validated) before the caller folds any of it in.
 */
export interface ParsedWrite {
  /** The decompressed body; owned by this object. */
  raw: Buffer;
  /** Series with at least one sample. */
  series: number;
  /** Per series: number of labels. */
  labelCounts: number[];
  /** Per label, 6 numbers: label start, label end, name start, name end, value start, value end. */
  offsets: number[];
  /** Per series: the newest sample value and the number of samples. */
  values: number[];
  samples: number[];
}

const { Reader } = protobuf;
const NAME = Buffer.from('__name__');

export function parseRemoteWrite(body: Uint8Array, maxBytes: number): ParsedWrite {
  let raw: Buffer;
  try {
    raw = uncompress(body, maxBytes);
  } catch (err) {
    throw new RemoteWriteInputError(`cannot decompress remote write body: ${(err as Error).message}`);
  }
  const p: ParsedWrite = { raw, series: 0, labelCounts: [], offsets: [], values: [], samples: [] };
  try {
    const r = Reader.create(raw);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === 0x0a) readSeries(r, r.uint32() + r.pos, p);
      else r.skipType(tag & 7);
    }
  } catch (err) {
    if (err instanceof RemoteWriteInputError) throw err;
    throw new RemoteWriteInputError(`cannot decode remote write protobuf: ${(err as Error).message}`);
  }
  return p;
}

function readSeries(r: protobuf.Reader, end: number, p: ParsedWrite): void {
  const first = p.offsets.length;
  let labels = 0;
  let value = 0;
  let samples = 0;
  let hasName = false;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === 0x0a) {
      const len = r.uint32();
      const labelStart = r.pos;
      const labelEnd = labelStart + len;
      let ns = 0;
      let ne = 0;
      let vs = 0;
      let ve = 0;
      while (r.pos < labelEnd) {
        const t = r.uint32();
        if (t === 0x0a || t === 0x12) {
          const l = r.uint32();
          const s = r.pos;
          r.skip(l);
          if (t === 0x0a) [ns, ne] = [s, s + l];
          else [vs, ve] = [s, s + l];
        } else r.skipType(t & 7);
      }
      if (r.pos !== labelEnd) throw new RemoteWriteInputError('cannot decode remote write label: truncated');
      if (ne === ns) throw new RemoteWriteInputError('cannot decode remote write series: empty label name');
      if (bytesEqual(p.raw, ns, ne, NAME)) hasName = true;
      p.offsets.push(labelStart, labelEnd, ns, ne, vs, ve);
      labels++;
    } else if (tag === 0x12) {
      const sampleEnd = r.uint32() + r.pos;
      while (r.pos < sampleEnd) {
        const t = r.uint32();
        if (t === 0x09) value = r.double();
        else r.skipType(t & 7);
      }
      samples++;
    } else r.skipType(tag & 7);
  }
  if (r.pos !== end) throw new RemoteWriteInputError('cannot decode remote write series: truncated');
  if (!hasName) throw new RemoteWriteInputError('cannot decode remote write series: no __name__ label');
  if (samples === 0) {
    p.offsets.length = first; // nothing to fold in
    return;
  }
  p.series++;
  p.labelCounts.push(labels);
  p.values.push(value);
  p.samples.push(samples);
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
