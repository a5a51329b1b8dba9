import { describe, expect, it } from 'vitest';
import {
  decodeAnswer,
  decodeChunk,
  decodeControl,
  decodeMessage,
  encodeAnswer,
  encodeChunk,
  encodeControl,
  splitIntoChunks,
  TunnelDecodeError,
} from './codec.ts';
import { type ControlMessage, MAX_CHUNK_BYTES, PING_TEXT, PONG_TEXT, PROTOCOL_VERSION } from './messages.ts';
import { isAllowedPromPath, QUERY_PARAMS } from './queries.ts';

const valid: ControlMessage[] = [
  {
    type: 'hello',
    version: PROTOCOL_VERSION,
    clusterId: null,
    replicaId: 'portal-7d9f-x2',
    capabilities: ['prom', 'logs.search'],
  },
  { type: 'request', id: 'r-1', kind: 'prom', params: { path: '/api/v1/query' }, timeoutMs: 30_000 },
  { type: 'head', id: 'r-1', status: 200, contentType: 'application/json' },
  { type: 'end', id: 'r-1', chunks: 3, bytes: 600_000 },
  { type: 'error', id: 'r-1', code: 'timeout', message: 'query took longer than 30000 ms' },
  { type: 'cancel', id: 'r_2' },
  { type: 'ping' },
  { type: 'pong' },
];

describe('control messages', () => {
  it.each(valid)('round-trips $type', (msg) => {
    expect(decodeMessage(encodeControl(msg))).toEqual(msg);
  });

  it.each([
    ['not JSON', '{type:', 'not JSON'],
    ['unknown type', '{"type":"launch","id":"x"}', 'type'],
    ['id with a space', '{"type":"cancel","id":"a b"}', 'id: must be 1-64'],
    ['extra field', '{"type":"cancel","id":"a","sql":"DROP"}', 'Unrecognized key'],
    [
      'timeout too long',
      '{"type":"request","id":"a","kind":"prom","params":{},"timeoutMs":999999999}',
      'timeoutMs',
    ],
    ['bad error code', '{"type":"error","id":"a","code":"oops","message":""}', 'code'],
    ['status out of range', '{"type":"head","id":"a","status":42,"contentType":"x"}', 'status'],
  ])('rejects %s with a clear error', (_name, text, fragment) => {
    expect(() => decodeControl(text)).toThrow(TunnelDecodeError);
    expect(() => decodeControl(text)).toThrow(fragment);
  });

  it('keeps ping and pong byte-exact for the Durable Object auto-response', () => {
    expect(encodeControl({ type: 'ping' })).toBe(PING_TEXT);
    expect(encodeControl({ type: 'pong' })).toBe(PONG_TEXT);
  });

  it('refuses to encode an invalid message', () => {
    expect(() => encodeControl({ type: 'cancel', id: '' })).toThrow(/cannot encode tunnel message cancel/);
  });

  it('rejects a text message over the size limit before parsing it', () => {
    const text = JSON.stringify({ type: 'ping', pad: 'x'.repeat(300 * 1024) });
    expect(() => decodeControl(text)).toThrow(/over the limit/);
  });
});

describe('chunk frames', () => {
  it('round-trips id, seq and bytes, from ArrayBuffer and from a view at an offset', () => {
    const data = new Uint8Array([0, 1, 2, 255]);
    const frame = encodeChunk('req-42', 70_000, data);
    expect(decodeMessage(frame.buffer as ArrayBuffer)).toEqual({
      type: 'chunk',
      id: 'req-42',
      seq: 70_000,
      data,
    });
    const padded = new Uint8Array(frame.byteLength + 5);
    padded.set(frame, 5);
    expect(decodeMessage(padded.subarray(5))).toEqual({ type: 'chunk', id: 'req-42', seq: 70_000, data });
  });

  it('carries an empty chunk and a maximal one', () => {
    expect(decodeChunk(encodeChunk('a', 0, new Uint8Array())).data.byteLength).toBe(0);
    const big = new Uint8Array(MAX_CHUNK_BYTES).fill(9);
    expect(Buffer.from(decodeChunk(encodeChunk('a', 1, big)).data).equals(Buffer.from(big))).toBe(true);
  });

  it('refuses chunks over the limit on both sides', () => {
    expect(() => encodeChunk('a', 0, new Uint8Array(MAX_CHUNK_BYTES + 1))).toThrow(/over/);
    const frame = new Uint8Array(8 + MAX_CHUNK_BYTES + 1);
    frame.set([1, PROTOCOL_VERSION, 0, 0, 0, 0, 1, 0x61]);
    expect(() => decodeChunk(frame)).toThrow(/over/);
  });

  it.each([
    ['too short', [1, 1, 0]],
    ['wrong version', [1, 99, 0, 0, 0, 0, 1, 0x61]],
    ['zero id length', [1, 1, 0, 0, 0, 0, 0, 0x61]],
    ['id longer than the frame', [1, 1, 0, 0, 0, 0, 9, 0x61]],
    ['id with a bad character', [1, 1, 0, 0, 0, 0, 1, 0x20]],
    ['unknown frame type', [7, 1, 0, 0, 0, 0, 1, 0x61]],
  ])('rejects a frame that is %s', (_name, bytes) => {
    expect(() => decodeMessage(new Uint8Array(bytes))).toThrow(TunnelDecodeError);
  });

  it('reads a text frame delivered as bytes', () => {
    const bytes = new TextEncoder().encode('{"type":"pong"}');
    expect(decodeMessage(bytes)).toEqual({ type: 'pong' });
  });

  it('splits a body into views that add up to it', () => {
    const body = new Uint8Array(2 * MAX_CHUNK_BYTES + 10).map((_, i) => i % 251);
    const parts = [...splitIntoChunks(body)];
    expect(parts.map((p) => p.byteLength)).toEqual([MAX_CHUNK_BYTES, MAX_CHUNK_BYTES, 10]);
    expect(Buffer.concat(parts).equals(Buffer.from(body))).toBe(true);
    expect([...splitIntoChunks(new Uint8Array())]).toEqual([]);
  });
});

describe('answer frames (version 2)', () => {
  it('round-trip status, content type, id and a body given in pieces; a version 1 chunk is still read', () => {
    const frame = encodeAnswer('req-7', 404, 'application/json; charset=ütf', [
      new Uint8Array([1, 2]),
      new Uint8Array([3]),
    ]);
    expect(decodeMessage(frame.buffer as ArrayBuffer)).toEqual({
      type: 'answer',
      id: 'req-7',
      status: 404,
      contentType: 'application/json; charset=ütf',
      data: new Uint8Array([1, 2, 3]),
    });
    expect(decodeAnswer(encodeAnswer('a', 200, 'text/plain', new Uint8Array())).data.byteLength).toBe(0);
    const v1 = encodeChunk('a', 0, new Uint8Array([5]));
    v1[1] = 1;
    expect(decodeChunk(v1).data).toEqual(new Uint8Array([5]));
  });

  it('refuses what cannot be encoded', () => {
    expect(() => encodeAnswer('a', 200, 'x', new Uint8Array(MAX_CHUNK_BYTES + 1))).toThrow(/over/);
    expect(() => encodeAnswer('a', 99, 'x', new Uint8Array())).toThrow(/status/);
    expect(() => encodeAnswer('a', 200, '', new Uint8Array())).toThrow(/content type/);
    expect(() => encodeAnswer('a b', 200, 'x', new Uint8Array())).toThrow(/request id/);
  });

  const good = () => encodeAnswer('ab', 200, 'text/plain', new Uint8Array([9]));
  it.each([
    ['too short', () => new Uint8Array([2, 2, 0, 200])],
    ['version 1 (answers came with version 2)', () => Object.assign(good(), { 1: 1 })],
    ['a status out of range', () => Object.assign(good(), { 2: 0, 3: 42 })],
    ['an id longer than the frame', () => Object.assign(good(), { 4: 200 })],
    ['a content type longer than the frame', () => Object.assign(good(), { 7: 0, 8: 200 })],
    ['a content type that is not UTF-8', () => Object.assign(good(), { 9: 0xff })],
  ])('rejects a frame with %s', (_name, frame) => {
    expect(() => decodeMessage(frame())).toThrow(TunnelDecodeError);
  });
});

describe('query params', () => {
  it.each([
    ['/api/v1/query', true],
    ['/api/v1/label/job/values', true],
    ['/api/v1/label/__name__/values', true],
    ['/api/v1/admin/tsdb/delete_series', false],
    ['/api/v1/import', false],
    ['/api/v1/label/../../import/values', false],
    ['/api/v1/query/../import', false],
    ['/metrics', false],
  ])('prometheus path %s allowed: %s', (path, ok) => {
    expect(isAllowedPromPath(path)).toBe(ok);
  });

  it('fills defaults and lower-cases ids', () => {
    expect(QUERY_PARAMS['logs.search'].parse({ start: 1, end: 2 })).toEqual({
      start: 1,
      end: 2,
      query: '',
      limit: 100,
      buckets: 60,
      order: 'desc',
    });
    expect(QUERY_PARAMS['traces.get'].parse({ traceId: '5B8EFFF798038103D269B633813FC60C' }).traceId).toBe(
      '5b8efff798038103d269b633813fc60c',
    );
  });

  it.each([
    ['logs.search', { start: 5, end: 5 }, 'end must be after start'],
    ['logs.search', { start: 1, end: 2, limit: 100_000 }, 'limit'],
    ['traces.get', { traceId: "x' OR 1=1" }, 'hex'],
    ['prom', { path: '/api/v1/write', method: 'POST' }, 'read-only'],
    ['prom', { path: '/api/v1/query', method: 'DELETE' }, 'method'],
  ] as const)('%s rejects %j', (kind, params, fragment) => {
    const r = QUERY_PARAMS[kind].safeParse(params);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain(fragment);
  });
});
