import { describe, expect, it } from 'vitest';
import { byteByByte, type Chunk, drive } from '../testkit-b/streamDriver.ts';
import { spec } from './index.ts';

const enc = new TextEncoder();
function pkt(seq: number, ...payload: number[][]): Uint8Array {
  const p = payload.flat();
  return new Uint8Array([p.length & 255, (p.length >> 8) & 255, p.length >> 16, seq, ...p]);
}
const s = (t: string) => [...enc.encode(t)];
const u16 = (n: number) => [n & 255, n >> 8];
const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24];
const query = (q: string) => pkt(0, [3], s(q));
const ok = (seq: number, status = 2) => pkt(seq, [0, 0, 0], u16(status), u16(0));
const okTerm = (seq: number, status = 2) => pkt(seq, [0xfe, 0, 0], u16(status), u16(0));
const eof = (seq: number, status = 2) => pkt(seq, [0xfe, 0, 0], u16(status));
const err = (seq: number, code: number, state: string, m: string) =>
  pkt(seq, [0xff], u16(code), s(`#${state}${m}`));
const col = (seq: number) =>
  pkt(seq, [3], s('def'), [0, 0, 0, 1, 0x61, 1, 0x61, 0x0c, 0x3f, 0], u32(11), [8, 0, 0, 0, 0, 0]);
const row = (seq: number, v: string) => pkt(seq, [v.length], s(v));
const prepare = (q: string) => pkt(0, [0x16], s(q));
const prepareOk = (seq: number, id: number, cols: number, params: number) =>
  pkt(seq, [0], u32(id), u16(cols), u16(params), [0], u16(0));
const execute = (id: number) => pkt(0, [0x17], u32(id), [0], u32(1));
const close = (id: number) => pkt(0, [0x19], u32(id));
const greeting = pkt(
  0,
  [10],
  s('10.11.6-MariaDB'),
  [0],
  u32(7),
  s('abcdefgh'),
  [0],
  u16(0xf7fe),
  [33],
  u16(2),
  u16(0x81bf),
  [21],
  Array(10).fill(0),
  s('ijklmnopqrstu'),
  [0],
  s('mysql_native_password'),
  [0],
);
const login = (user: string) =>
  pkt(
    1,
    u32(0x000fa685 | 0x200),
    u32(1 << 24),
    [33],
    Array(23).fill(0),
    s(user),
    [0, 0],
    s('mysql_native_password'),
    [0],
  );

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
  drive(spec, chunks).calls.map(
    (c) =>
      `${c.method} ${c.resource} ${c.status} ${c.attributes?.['db.response']}${c.attributes?.['db.rows'] !== undefined ? ` rows=${c.attributes['db.rows']}` : ''}`,
  );

describe('mysql parse + stitch', () => {
  it.each([
    ['OK', [req(query('insert into t values (1)')), resp(ok(1))], ['INSERT insert into t values (1) 0 OK']],
    [
      'ERR with SQLSTATE',
      [req(query('selec')), resp(err(1, 1064, '42000', 'syntax'))],
      ['QUERY selec 1064 ERR'],
    ],
    [
      'result set with EOFs',
      [req(query('select a')), resp(pkt(1, [1]), col(2), eof(3), row(4, 'x'), row(5, 'y'), eof(6))],
      ['SELECT select a 0 RESULTSET rows=2'],
    ],
    [
      'result set, CLIENT_DEPRECATE_EOF',
      [req(query('select a')), resp(pkt(1, [1]), col(2), row(3, 'x'), okTerm(4))],
      ['SELECT select a 0 RESULTSET rows=1'],
    ],
    [
      'empty result set, CLIENT_DEPRECATE_EOF',
      [req(query('select a')), resp(pkt(1, [1]), col(2), okTerm(3))],
      ['SELECT select a 0 RESULTSET rows=0'],
    ],
    [
      'multi result sets (MORE_RESULTS_EXISTS)',
      [req(query('call p()')), resp(pkt(1, [1]), col(2), eof(3), row(4, 'x'), eof(5, 0x0a), ok(6))],
      ['CALL call p() 0 RESULTSET rows=1'],
    ],
    [
      'error in the middle of rows',
      [
        req(query('select a')),
        resp(pkt(1, [1]), col(2), eof(3), row(4, 'x'), err(5, 1317, '70100', 'interrupted')),
      ],
      ['SELECT select a 1317 ERR'],
    ],
    [
      'prepare, execute, close',
      [
        req(prepare('select ? + 1')),
        resp(prepareOk(1, 7, 1, 1), col(2), eof(3), col(4), eof(5)),
        req(execute(7)),
        resp(pkt(1, [1]), col(2), eof(3), pkt(4, [0, 0, 2, 0, 0, 0, 0, 0, 0, 0]), eof(5)),
        req(close(7)),
      ],
      ['PREPARE select ? + 1 0 PREPARED', 'SELECT select ? + 1 0 RESULTSET rows=1'],
    ],
    ['execute of an unknown statement', [req(execute(9)), resp(ok(1))], ['EXECUTE  0 OK']],
    [
      'ping and init db',
      [
        req(pkt(0, [0x0e])),
        resp(ok(1)),
        req(pkt(0, [2], s('shop'))),
        resp(err(1, 1049, '42000', 'Unknown database')),
      ],
      ['PING  0 OK', 'INIT_DB shop 1049 ERR'],
    ],
    ['quit makes no call', [req(pkt(0, [1]))], []],
    [
      'handshake then query',
      [
        resp(greeting),
        req(login('app')),
        resp(ok(2)),
        req(query('select 1')),
        resp(pkt(1, [1]), col(2), row(3, '1'), okTerm(4)),
      ],
      ['SELECT select 1 0 RESULTSET rows=1'],
    ],
    [
      'login failure',
      [resp(greeting), req(login('app')), resp(err(2, 1045, '28000', 'Access denied'))],
      ['LOGIN app 1045 ERR'],
    ],
  ] as [string, Chunk[], string[]][])('%s', (_n, chunks, want) => {
    expect(brief(chunks)).toEqual(want);
  });

  it('copes with any segmentation', () => {
    const chunks = [
      ...byteByByte('request', query('select 2'), 1n),
      ...byteByByte(
        'response',
        new Uint8Array([...pkt(1, [1]), ...col(2), ...row(3, '2'), ...okTerm(4)]),
        2n,
      ),
    ];
    expect(brief(chunks)).toEqual(['SELECT select 2 0 RESULTSET rows=1']);
  });

  it.each([
    ['server greeting', greeting, 1],
    ['COM_QUERY', query('select 1'), 0.5],
    ['handshake response', login('u'), 0.7],
    ['HTTP request', new Uint8Array(s('GET / HTTP/1.1\r\n\r\n')), 0],
    ['PostgreSQL startup', new Uint8Array([0, 0, 0, 8, 4, 210, 22, 47]), 0],
  ] as [string, Uint8Array, number][])('detects %s', (_n, data, score) => {
    expect(spec.detect({ data, direction: 'egress', role: 'unknown', transport: 'tcp' }).score).toBe(score);
  });
});

it('a statement whose tail the capture filled with zeros ends at the first zero', () => {
  const text = `insert into t values ('${'w'.repeat(200)}')`;
  const q = query(text);
  q.fill(0, 100);
  expect(brief([req(q), resp(ok(1))])).toEqual([`INSERT ${text.slice(0, 95)} 0 OK`]);
});

describe('mysql answers cut short (the capture skipped their end)', () => {
  const calls = (chunks: Chunk[]) =>
    drive(spec, chunks).calls.map(
      (c) =>
        `${c.method} ${c.status} ${c.attributes?.['db.response.truncated'] ?? '-'} ${c.attributes?.['db.rows'] ?? '-'}`,
    );

  it.each([
    [
      'a result set with rows and no terminator',
      [req(query('SELECT a FROM t')), resp(pkt(1, [1]), col(2), eof(3), row(4, 'x'), row(5, 'y'))],
      ['SELECT 0 true -'],
    ],
    [
      'still in its column definitions',
      [req(query('SELECT a, b FROM t')), resp(pkt(1, [2]), col(2))],
      ['SELECT 0 true -'],
    ],
    [
      'a whole answer is not touched',
      [req(query('SELECT a FROM t')), resp(pkt(1, [1]), col(2), eof(3), row(4, 'x'), eof(5))],
      ['SELECT 0 - 1'],
    ],
    ['nothing answered yet: no call', [req(query('SELECT a FROM t'))], []],
  ])('%s', (_name, chunks, want) => {
    expect(calls(chunks)).toEqual(want);
  });
});
