import { compress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import { decodeRemoteWrite, encodeRemoteWrite, RemoteWriteInputError } from './remoteWrite.ts';
import { encodeSeriesWire, labelBytes, parseRemoteWrite } from './remoteWriteWire.ts';

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
    expect(p.labelCounts).toEqual([3]);
    expect(p.values).toEqual([2.5]);
    expect(p.samples).toEqual([2]);
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
    ['over the size limit', compress(Buffer.alloc(5000)), /too big/],
  ])('rejects %s', (_what, body, message) => {
    expect(() => parseRemoteWrite(body, 4096)).toThrow(RemoteWriteInputError);
    expect(() => parseRemoteWrite(body, 4096)).toThrow(message);
  });
});
