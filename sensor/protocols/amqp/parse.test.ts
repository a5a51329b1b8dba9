import { describe, expect, it } from 'vitest';
import { byteByByte, type Chunk, drive } from '../testkit-b/streamDriver.ts';
import { spec } from './index.ts';

const enc = new TextEncoder();
const u16 = (n: number) => [n >> 8, n & 255];
const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u64 = (n: number) => [0, 0, 0, 0, ...u32(n)];
const short = (s: string) => [s.length, ...enc.encode(s)];
const frame = (type: number, channel: number, payload: number[]) => [
  type,
  ...u16(channel),
  ...u32(payload.length),
  ...payload,
  0xce,
];
const method = (ch: number, cls: number, m: number, args: number[] = []) =>
  frame(1, ch, [...u16(cls), ...u16(m), ...args]);
const header = (ch: number, size: number) => frame(2, ch, [...u16(60), ...u16(0), ...u64(size), ...u16(0)]);
const body = (ch: number, s: string) => frame(3, ch, [...enc.encode(s)]);
const PROTOCOL = [...enc.encode('AMQP'), 0, 0, 9, 1];
const queueDeclare = (ch: number, q: string) => method(ch, 50, 10, [...u16(0), ...short(q), 0, 0, 0, 0]);
const queueDeclareOk = (ch: number, q: string) => method(ch, 50, 11, [...short(q), ...u32(0), ...u32(0)]);
const exchangeDeclare = (ch: number, x: string) =>
  method(ch, 40, 10, [...u16(0), ...short(x), ...short('direct'), 0, 0, 0, 0, 0]);
const publish = (ch: number, x: string, rk: string) =>
  method(ch, 60, 40, [...u16(0), ...short(x), ...short(rk), 0]);
const deliver = (ch: number, tag: number, x: string, rk: string) =>
  method(ch, 60, 60, [...short('ctag'), ...u64(tag), 0, ...short(x), ...short(rk)]);
const ack = (ch: number, tag: number) => method(ch, 60, 80, [...u64(tag), 0]);
const channelClose = (ch: number, code: number, text: string) =>
  method(ch, 20, 40, [...u16(code), ...short(text), ...u16(50), ...u16(10)]);

let t = 0n;
const req = (...p: number[][]): Chunk => ({ type: 'request', tsNs: ++t, data: new Uint8Array(p.flat()) });
const resp = (...p: number[][]): Chunk => ({ type: 'response', tsNs: ++t, data: new Uint8Array(p.flat()) });
const brief = (chunks: Chunk[]) =>
  drive(spec, chunks).calls.map((c) => `${c.method} ${c.resource} ${c.status}`);

describe('amqp parse + stitch', () => {
  it.each([
    [
      'handshake and channel open make no calls',
      [
        req(PROTOCOL),
        resp(method(0, 10, 10, [0, 9])),
        req(method(0, 10, 11)),
        req(method(1, 20, 10, [0])),
        resp(method(1, 20, 11, [0, 0, 0, 0])),
      ],
      [],
    ],
    [
      'queue.declare paired with declare-ok',
      [req(queueDeclare(1, 'jobs')), resp(queueDeclareOk(1, 'jobs'))],
      ['queue.declare jobs OK'],
    ],
    [
      'server-named queue takes the name from declare-ok',
      [req(queueDeclare(1, '')), resp(queueDeclareOk(1, 'amq.gen-1'))],
      ['queue.declare amq.gen-1 OK'],
    ],
    [
      'exchange.declare',
      [req(exchangeDeclare(1, 'orders')), resp(method(1, 40, 11))],
      ['exchange.declare orders OK'],
    ],
    [
      'passive declare of a missing queue: 404',
      [req(queueDeclare(2, 'nope')), resp(channelClose(2, 404, "NOT_FOUND - no queue 'nope'"))],
      ['queue.declare nope 404'],
    ],
    [
      'publish with content header and body',
      [req(publish(1, 'orders', 'new'), header(1, 5), body(1, 'hello'))],
      ['basic.publish orders OK'],
    ],
    [
      'publish on the default exchange names the queue',
      [req(publish(1, '', 'jobs'), header(1, 0))],
      ['basic.publish jobs OK'],
    ],
    [
      'deliver then ack',
      [resp(deliver(1, 7, 'orders', 'new'), header(1, 5), body(1, 'hello')), req(ack(1, 7))],
      ['basic.deliver orders OK', 'basic.ack  OK'],
    ],
    [
      'async channel.close for a missing exchange',
      [
        req(publish(1, 'missing', 'x'), header(1, 0)),
        resp(channelClose(1, 404, "NOT_FOUND - no exchange 'missing'")),
      ],
      ['basic.publish missing OK', 'channel.close  404'],
    ],
    [
      'replies on different channels pair by channel',
      [req(queueDeclare(1, 'a'), queueDeclare(2, 'b')), resp(queueDeclareOk(2, 'b'), queueDeclareOk(1, 'a'))],
      ['queue.declare a OK', 'queue.declare b OK'],
    ],
    ['heartbeats are ignored', [req(frame(8, 0, [])), resp(frame(8, 0, []))], []],
  ] as [string, Chunk[], string[]][])('%s', (_n, chunks, want) => {
    expect(brief(chunks)).toEqual(want);
  });

  it('copes with any segmentation', () => {
    const chunks = [
      ...byteByByte('request', new Uint8Array(queueDeclare(1, 'seg')), 1n),
      ...byteByByte('response', new Uint8Array(queueDeclareOk(1, 'seg')), 2n),
    ];
    expect(brief(chunks)).toEqual(['queue.declare seg OK']);
  });

  it('rejects a frame without its frame-end byte and resynchronises', () => {
    const broken = publish(1, 'x', 'y');
    broken[broken.length - 1] = 0;
    const r = drive(spec, [req(broken, publish(1, 'z', 'w'), header(1, 0))]);
    expect(r.calls.map((c) => c.resource)).toEqual(['z']);
    expect(r.invalid).toBeGreaterThan(0);
  });

  it.each([
    ['protocol header', PROTOCOL, 1],
    ['connection.start', method(0, 10, 10, [0, 9, 0, 0, 0, 0]), 1],
    ['HTTP', [...enc.encode('GET / HTTP/1.1\r\n\r\n')], 0],
    ['NATS INFO', [...enc.encode('INFO {"server_id":"x"}\r\n')], 0],
  ] as [string, number[], number][])('detects %s', (_n, data, score) => {
    expect(
      spec.detect({ data: new Uint8Array(data), direction: 'egress', role: 'unknown', transport: 'tcp' })
        .score,
    ).toBe(score);
  });
});
