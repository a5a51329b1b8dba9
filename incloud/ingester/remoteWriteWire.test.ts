import protobuf from 'protobufjs';
import { compressSync as compress } from 'snappy';
import { describe, expect, it } from 'vitest';
import { decodeRemoteWrite, encodeRemoteWrite, RemoteWriteInputError } from './remoteWrite.ts';
import { encodeSeriesWire, labelBytes, parseRemoteWrite, RemoteWriteParser } from './remoteWriteWire.ts';

/** A snappy body with one series whose labels are written in the order given, and one sample. */
function rawSeries(labels: [string, string][], value = 1): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(0x0a).fork();
  for (const [k, v] of labels) w.uint32(0x0a).fork().uint32(0x0a).string(k).uint32(0x12).string(v).ldelim();
  w.uint32(0x12).fork().uint32(0x09).double(value).uint32(0x10).int64(1).ldelim().ldelim();
  return compress(w.finish());
}

describe('remote-write wire codec', () => {
  it('parses what the reflection encoder wrote into label byte ranges, newest sample and sample count', () => {
    const body = encodeRemoteWrite([
      {
        labels: { __name__: 'a_total', job: 'x', zone: 'é' },
        samples: [
          { value: 1, timestampMs: 5 },
          { value: 2.5, timestampMs: 6 },
        ],
      },
      { labels: { __name__: 'b', job: 'y' }, samples: [] },
    ]);
    const p = parseRemoteWrite(body, 1 << 20);
    expect(p.series).toBe(1); // b has no samples
    expect(Array.from(p.labelCounts.subarray(0, 1))).toEqual([3]);
    expect(Array.from(p.values.subarray(0, 1))).toEqual([2.5]);
    expect(Array.from(p.samples.subarray(0, 1))).toEqual([2]);
    const text = (i: number, a: number, b: number) =>
      p.raw.toString('utf8', p.offsets[i * 6 + a], p.offsets[i * 6 + b]);
    expect([0, 1, 2].map((i) => [text(i, 2, 3), text(i, 4, 5)])).toEqual([
      ['__name__', 'a_total'],
      ['job', 'x'],
      ['zone', 'é'],
    ]);
    // The whole Label message is the series identity: the canonical encoding of (name, value).
    expect(p.raw.toString('latin1', p.offsets[12], p.offsets[13])).toBe(labelBytes('zone', 'é'));
  });

  it('encodes flushed series that the reflection decoder reads back', () => {
    const raw = encodeSeriesWire([{ pairs: ['__name__', 'm', 'le', '+Inf'], value: 0.5 }], 1_700_000_000_123);
    expect(decodeRemoteWrite(compress(raw), 1 << 20)).toEqual([
      { labels: { __name__: 'm', le: '+Inf' }, samples: [{ value: 0.5, timestampMs: 1_700_000_000_123 }] },
    ]);
  });

  it.each([
    ['bad snappy', Buffer.from('zz'), /cannot decompress/],
    ['truncated protobuf', compress(Buffer.from([0x0a, 0x05, 0x0a, 0x03])), /cannot decode remote write/],
    [
      'a series without __name__ after a good one',
      encodeRemoteWrite([
        { labels: { __name__: 'ok' }, samples: [{ value: 1, timestampMs: 1 }] },
        { labels: { job: 'x' }, samples: [{ value: 1, timestampMs: 1 }] },
      ]),
      /no __name__/,
    ],
    ['over the size limit', compress(Buffer.alloc(5000)), /decoded size 5000 is too big \(limit 4096\)/],
    [
      'an empty label name',
      rawSeries([
        ['', 'x'],
        ['__name__', 'm'],
      ]),
      /empty label name/,
    ],
    ['a group wire type', compress(Buffer.from([0x0a, 0x02, 0x0b, 0x00])), /wire type 3/],
    ['a label longer than its series', compress(Buffer.from([0x0a, 0x03, 0x0a, 0x09, 0x0a])), /truncated/],
  ])('rejects %s', (_what, body, message) => {
    expect(() => parseRemoteWrite(body, 4096)).toThrow(RemoteWriteInputError);
    expect(() => parseRemoteWrite(body, 4096)).toThrow(message);
  });

  it('reads multi-byte lengths, a sample field before the labels, and unknown fields', () => {
    const long = 'v'.repeat(300); // a two-byte varint length
    const w = protobuf.Writer.create();
    w.uint32(0x0a).fork();
    w.uint32(0x12).fork().uint32(0x10).int64(7).uint32(0x09).double(4).ldelim(); // timestamp before value
    w.uint32(0x0a).fork().uint32(0x0a).string('__name__').uint32(0x12).string('m').ldelim();
    w.uint32(0x3a).string('ignored'); // field 7, length-delimited: skipped
    w.uint32(0x0a).fork().uint32(0x0a).string('path').uint32(0x12).string(long).ldelim();
    w.ldelim();
    w.uint32(0x18).uint32(5); // an unknown WriteRequest field (varint): skipped
    const p = parseRemoteWrite(compress(w.finish()), 1 << 20);
    expect(p.series).toBe(1);
    expect(p.values[0]).toBe(4);
    expect(p.raw.toString('utf8', p.offsets[10], p.offsets[11])).toBe(long);
    expect(p.keys[0]).toBeUndefined(); // something other than labels lies between them: no fast-path key
  });

  it('gives series their labels as sent and skips the label fields of known ones', () => {
    const body = rawSeries([
      ['__name__', 'm'],
      ['job', 'x'],
    ]);
    const parser = new RemoteWriteParser();
    const first = parser.parse(body, 1 << 20);
    const key = first.keys[0]!;
    // The Label fields of the TimeSeries, tags and lengths included (single-byte lengths here).
    const field = (l: string) => `\x0a${String.fromCharCode(l.length)}${l}`;
    expect(key).toBe(field(labelBytes('__name__', 'm')) + field(labelBytes('job', 'x')));
    expect(first.labelCounts[0]).toBe(2);
    const known = parser.parse(body, 1 << 20, new Map([[key, 1]]));
    expect(known.keys[0]).toBe(key);
    expect(known.labelCounts[0]).toBe(0);
    expect(known.values[0]).toBe(1);
  });

  it('grows its arrays past their first size and reuses them', () => {
    const many = encodeRemoteWrite(
      Array.from({ length: 3000 }, (_, i) => ({
        labels: { __name__: 'm', i: String(i), a: 'x', b: 'y', c: 'z' },
        samples: [{ value: i, timestampMs: 1 }],
      })),
    );
    const parser = new RemoteWriteParser();
    for (let round = 0; round < 2; round++) {
      const p = parser.parse(many, 8 << 20);
      expect(p.series).toBe(3000);
      expect(p.values[2999]).toBe(2999);
      expect(p.labelCounts[2999]).toBe(5);
    }
    expect(parser.parse(rawSeries([['__name__', 'n']]), 1 << 20).series).toBe(1);
  });
});
