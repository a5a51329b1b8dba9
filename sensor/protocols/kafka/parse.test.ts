import { describe, expect, it } from 'vitest';
import { byteByByte, type Chunk, drive } from '../testkit-b/streamDriver.ts';
import { spec } from './index.ts';

const enc = new TextEncoder();
const i16 = (n: number) => [(n >> 8) & 255, n & 255];
const i32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const str = (s: string) => [...i16(s.length), ...enc.encode(s)];
const cstr = (s: string) => [s.length + 1, ...enc.encode(s)]; // compact string, length < 127
const sized = (body: number[]) => new Uint8Array([...i32(body.length), ...body]);
/** Request header v1 (or v2 with tagged fields when `flexible`). */
const request = (key: number, version: number, corr: number, body: number[], flexible = false) =>
  sized([...i16(key), ...i16(version), ...i32(corr), ...str('app'), ...(flexible ? [0] : []), ...body]);
const response = (corr: number, body: number[], flexible = false) =>
  sized([...i32(corr), ...(flexible ? [0] : []), ...body]);

const produceV2 = (corr: number, acks: number, topic: string) =>
  request(0, 2, corr, [
    ...i16(acks),
    ...i32(1000),
    ...i32(1),
    ...str(topic),
    ...i32(1),
    ...i32(0),
    ...i32(0),
  ]);
const produceV2Resp = (corr: number, topic: string, code: number) =>
  response(corr, [
    ...i32(1),
    ...str(topic),
    ...i32(1),
    ...i32(0),
    ...i16(code),
    ...i32(0),
    ...i32(0),
    ...i32(0),
    ...i32(0),
    ...i32(0),
    ...i32(0),
    ...i32(0),
  ]);
const produceV9 = (corr: number, topic: string) =>
  request(0, 9, corr, [0, ...i16(-1), ...i32(1000), 2, ...cstr(topic), 1, 0, 0], true);
const produceV9Resp = (corr: number, topic: string, code: number) =>
  response(
    corr,
    [2, ...cstr(topic), 2, ...i32(0), ...i16(code), ...Array(28).fill(0), 0, 0, 0, ...i32(0), 0],
    true,
  );
const fetchV12 = (corr: number, topic: string) =>
  request(
    1,
    12,
    corr,
    [
      ...i32(-1),
      ...i32(500),
      ...i32(1),
      ...i32(1 << 20),
      0,
      ...i32(0),
      ...i32(-1),
      2,
      ...cstr(topic),
      1,
      0,
      1,
      1,
      0,
    ],
    true,
  );
const fetchV12Resp = (corr: number, code: number) =>
  response(corr, [...i32(0), ...i16(code), ...i32(0), 1, 0], true);
const apiVersionsV3 = (corr: number) => request(18, 3, corr, [...cstr('lib'), ...cstr('1.0'), 0], true);
// ApiVersions answers keep header v0 (no tagged fields) even for flexible versions.
const apiVersionsResp = (corr: number, code: number) => response(corr, [...i16(code), 1, 0]);
const joinGroupV5 = (corr: number, group: string) => request(11, 5, corr, [...str(group), ...i32(10000)]);
const joinGroupResp = (corr: number, code: number) => response(corr, [...i32(0), ...i16(code), ...i32(-1)]);

let t = 0n;
const req = (...p: Uint8Array[]): Chunk => ({
  type: 'request',
  tsNs: ++t,
  data: new Uint8Array(p.flatMap((x) => [...x])),
});
const resp = (...p: Uint8Array[]): Chunk => ({
  type: 'response',
  tsNs: ++t,
  data: new Uint8Array(p.flatMap((x) => [...x])),
});
const brief = (chunks: Chunk[]) =>
  drive(spec, chunks).calls.map((c) => `${c.method} ${c.resource} ${c.status}`);

describe('kafka parse + stitch', () => {
  it.each([
    [
      'produce v2',
      [req(produceV2(1, 1, 'orders')), resp(produceV2Resp(1, 'orders', 0))],
      ['Produce orders 0'],
    ],
    [
      'produce v2 error code',
      [req(produceV2(2, -1, 'orders')), resp(produceV2Resp(2, 'orders', 3))],
      ['Produce orders 3'],
    ],
    ['produce acks=0 has no response', [req(produceV2(3, 0, 'logs'))], ['Produce logs ']],
    [
      'produce v9 (flexible, compact strings)',
      [req(produceV9(4, 'events')), resp(produceV9Resp(4, 'events', 0))],
      ['Produce events 0'],
    ],
    ['fetch v12 (flexible)', [req(fetchV12(5, 'events')), resp(fetchV12Resp(5, 0))], ['Fetch events 0']],
    [
      'api versions v3 keeps response header v0',
      [req(apiVersionsV3(6)), resp(apiVersionsResp(6, 35))],
      ['ApiVersions  35'],
    ],
    ['join group', [req(joinGroupV5(7, 'billing')), resp(joinGroupResp(7, 79))], ['JoinGroup billing 79']],
    [
      'pairs by correlation id, pipelined',
      [
        req(produceV2(8, 1, 'a'), produceV2(9, 1, 'b')),
        resp(produceV2Resp(8, 'a', 0), produceV2Resp(9, 'b', 0)),
      ],
      ['Produce a 0', 'Produce b 0'],
    ],
    [
      'response without request is dropped',
      [resp(produceV2Resp(99, 'x', 0)), req(produceV2(10, 1, 'c')), resp(produceV2Resp(10, 'c', 0))],
      ['Produce c 0'],
    ],
  ] as [string, Chunk[], string[]][])('%s', (_n, chunks, want) => {
    expect(brief(chunks)).toEqual(want);
  });

  it('copes with any segmentation', () => {
    const chunks = [
      ...byteByByte('request', produceV9(11, 'seg'), 1n),
      ...byteByByte('response', produceV9Resp(11, 'seg', 0), 2n),
    ];
    expect(brief(chunks)).toEqual(['Produce seg 0']);
  });

  it('reads what it can of a truncated body without throwing', () => {
    const truncated = request(1, 12, 12, [...i32(-1), 0, 0], true);
    expect(brief([req(truncated), resp(fetchV12Resp(12, 0))])).toEqual(['Fetch  0']);
  });

  it.each([
    ['produce request', produceV2(1, 1, 't'), 0.7],
    ['HTTP', enc.encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 0],
    ['TLS client hello', new Uint8Array([0x16, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3, 0, 0, 0, 0, 0]), 0],
    ['Redis', enc.encode('*1\r\n$4\r\nPING\r\n'), 0],
  ] as [string, Uint8Array, number][])('detects %s', (_n, data, score) => {
    expect(spec.detect({ data, direction: 'egress', role: 'unknown', transport: 'tcp' }).score).toBe(score);
  });
});
