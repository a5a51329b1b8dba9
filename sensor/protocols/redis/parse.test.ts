import { describe, expect, it } from 'vitest';
import { byteByByte, type Chunk, drive } from '../testkit-b/streamDriver.ts';
import { spec } from './index.ts';

const enc = new TextEncoder();
const cmd = (...args: string[]) =>
  `*${args.length}\r\n${args.map((a) => `$${enc.encode(a).length}\r\n${a}\r\n`).join('')}`;
let t = 0n;
const req = (s: string): Chunk => ({ type: 'request', tsNs: ++t, data: enc.encode(s) });
const resp = (s: string): Chunk => ({ type: 'response', tsNs: ++t, data: enc.encode(s) });
const brief = (chunks: Chunk[]) =>
  drive(spec, chunks).calls.map((c) => `${c.method} ${c.resource} ${c.status}`);

describe('redis parse + stitch', () => {
  it.each([
    ['GET bulk reply', [req(cmd('GET', 'k')), resp('$3\r\nabc\r\n')], ['GET k OK']],
    ['null bulk (RESP2)', [req(cmd('GET', 'k')), resp('$-1\r\n')], ['GET k OK']],
    [
      'error prefix',
      [req(cmd('INCR', 'k')), resp('-WRONGTYPE Operation against a key\r\n')],
      ['INCR k WRONGTYPE'],
    ],
    ['lower-case error text', [req(cmd('GET', 'k')), resp('-oops\r\n')], ['GET k ERR']],
    ['AUTH hides the password', [req(cmd('AUTH', 'secret')), resp('+OK\r\n')], ['AUTH  OK']],
    [
      'pipelined commands in one read',
      [req(cmd('SET', 'a', '1') + cmd('INCR', 'a') + cmd('GET', 'a')), resp('+OK\r\n:2\r\n$1\r\n2\r\n')],
      ['SET a OK', 'INCR a OK', 'GET a OK'],
    ],
    [
      'nested arrays',
      [req(cmd('SCAN', '0')), resp('*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n')],
      ['SCAN 0 OK'],
    ],
    ['inline command', [req('PING\r\n'), resp('+PONG\r\n')], ['PING  OK']],
    [
      'RESP3 map, set, double, boolean, null, big number, verbatim',
      [req(cmd('HELLO', '3') + cmd('X', 'a')), resp('%1\r\n+server\r\n+redis\r\n~2\r\n,1.5\r\n#t\r\n')],
      ['HELLO  OK', 'X a OK'],
    ],
    [
      'RESP3 null, big number, verbatim, blob error',
      [
        req(cmd('A') + cmd('B') + cmd('C') + cmd('D')),
        resp('_\r\n(12345678901234567890\r\n=7\r\ntxt:abc\r\n!9\r\nERR nope!\r\n'),
      ],
      ['A  OK', 'B  OK', 'C  OK', 'D  ERR'],
    ],
    [
      'RESP3 attribute before a reply',
      [req(cmd('GET', 'k')), resp('|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n')],
      ['GET k OK'],
    ],
    [
      'RESP2 subscribe two channels, then a message',
      [
        req(cmd('SUBSCRIBE', 'a', 'b')),
        resp(
          '*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n',
        ),
      ],
      ['SUBSCRIBE a OK', 'MESSAGE a OK'],
    ],
    [
      'RESP2 unsubscribe all',
      [
        req(cmd('SUBSCRIBE', 'a', 'b')),
        resp('*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n'),
        req(cmd('UNSUBSCRIBE')),
        resp('*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n'),
        req(cmd('GET', 'x')),
        resp('$-1\r\n'),
      ],
      ['SUBSCRIBE a OK', 'UNSUBSCRIBE  OK', 'GET x OK'],
    ],
    [
      'RESP3 push message between replies',
      [req(cmd('GET', 'k')), resp('>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n$1\r\nv\r\n')],
      ['MESSAGE ch OK', 'GET k OK'],
    ],
    [
      'message-like array when not subscribed is a reply',
      [req(cmd('LRANGE', 'l', '0', '-1')), resp('*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n')],
      ['LRANGE l OK'],
    ],
    [
      'reply without a request is dropped',
      [resp('+OK\r\n'), req(cmd('PING')), resp('+PONG\r\n')],
      ['PING  OK'],
    ],
  ] as [string, Chunk[], string[]][])('%s', (_n, chunks, want) => {
    expect(brief(chunks)).toEqual(want);
  });

  it('copes with any segmentation', () => {
    const chunks = [
      ...byteByByte('request', enc.encode(cmd('SET', 'k', 'v')), 1n),
      ...byteByByte('response', enc.encode('+OK\r\n'), 2n),
    ];
    expect(brief(chunks)).toEqual(['SET k OK']);
  });

  it('a value whose tail the capture filled with zeros ends where its length says', () => {
    const set = enc.encode(cmd('SET', 'k', 'x'.repeat(100)));
    set.fill(0, 40); // the copied prefix ends inside the value: the rest, CRLF included, is zeros
    expect(
      brief([req(new TextDecoder('latin1').decode(set) + cmd('GET', 'k')), resp('+OK\r\n$1\r\nv\r\n')]),
    ).toEqual(['SET k OK', 'GET k OK']);
    // One zero and a CR is not a terminator.
    expect(brief([req(`*1\r\n$1\r\nx\0\r`), resp('+OK\r\n')])).toEqual([]);
  });

  it('resynchronises after garbage', () => {
    const r = drive(spec, [req(`\x01\x02garbage\r\n${cmd('GET', 'k')}`), resp('$1\r\nv\r\n')]);
    expect(r.calls.map((c) => c.method)).toEqual(['GET']);
  });

  it.each([
    ['command array', cmd('GET', 'k'), 0.95],
    ['HTTP', 'GET / HTTP/1.1\r\n\r\n', 0],
    ['inline PING', 'PING\r\n', 0.3],
    ['NATS PING is not a Redis command at the start of a connection either', 'CONNECT {}\r\n', 0],
    ['NATS +OK without port hint', '+OK\r\n', 0],
    ['bad array length', '*x\r\n$3\r\nGET\r\n', 0],
  ] as [string, string, number][])('detects %s', (_n, data, score) => {
    expect(
      spec.detect({ data: enc.encode(data), direction: 'egress', role: 'unknown', transport: 'tcp' }).score,
    ).toBe(score);
  });
});
