import { describe, expect, it } from 'vitest';
import { byteByByte, type Chunk, drive } from '../testkit-b/streamDriver.ts';
import { spec } from './index.ts';
import { sqlVerb } from './sqlVerb.ts';

const enc = new TextEncoder();
const cstr = (s: string) => [...enc.encode(s), 0];
function msg(tag: string, ...body: number[][]): Uint8Array {
  const b = body.flat();
  const len = b.length + 4;
  return new Uint8Array([
    tag.charCodeAt(0),
    len >>> 24,
    (len >>> 16) & 255,
    (len >>> 8) & 255,
    len & 255,
    ...b,
  ]);
}
const i16 = (n: number) => [n >> 8, n & 255];
const i32 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
function startup(user: string, db: string): Uint8Array {
  const body = [...i32(196608), ...cstr('user'), ...cstr(user), ...cstr('database'), ...cstr(db), 0];
  return new Uint8Array([...i32(body.length + 4), ...body]);
}
const sslRequest = new Uint8Array([...i32(8), ...i32(80877103)]);
const Q = (q: string) => msg('Q', cstr(q));
const P = (name: string, q: string) => msg('P', cstr(name), cstr(q), i16(0));
const B = (portal: string, stmt: string) => msg('B', cstr(portal), cstr(stmt), i16(0), i16(0), i16(0));
const E = (portal: string) => msg('E', cstr(portal), i32(0));
const S = msg('S');
const C = (tag: string) => msg('C', cstr(tag));
const Z = msg('Z', [0x49]);
const ERR = (code: string, m: string) =>
  msg('E', [0x53], cstr('ERROR'), [0x43], cstr(code), [0x4d], cstr(m), [0]);
const authOk = msg('R', i32(0));
const cat = (...parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]));

let t = 0n;
const req = (...p: Uint8Array[]): Chunk => ({ type: 'request', tsNs: ++t, data: cat(...p) });
const resp = (...p: Uint8Array[]): Chunk => ({ type: 'response', tsNs: ++t, data: cat(...p) });
const brief = (chunks: Chunk[]) =>
  drive(spec, chunks).calls.map(
    (c) => `${c.method} ${c.resource} ${c.status} ${c.attributes?.['db.command_tag'] ?? '-'}`,
  );

describe('postgres parse + stitch', () => {
  it.each([
    [
      'simple query',
      [req(Q('select 1')), resp(msg('T', i16(0)), msg('D', i16(0)), C('SELECT 1'), Z)],
      ['SELECT select 1 00000 SELECT 1'],
    ],
    [
      'multi-statement query',
      [req(Q('begin; commit')), resp(C('BEGIN'), C('COMMIT'), Z)],
      ['BEGIN begin; commit 00000 BEGIN;COMMIT'],
    ],
    [
      'error with SQLSTATE',
      [req(Q('selec 1')), resp(ERR('42601', 'syntax error'), Z)],
      ['QUERY selec 1 42601 -'],
    ],
    ['error without ReadyForQuery yet', [req(Q('bad')), resp(ERR('42601', 'x'))], ['QUERY bad 42601 -']],
    [
      'extended query, named statement',
      [
        req(P('s1', 'insert into t values ($1)'), B('', 's1'), E(''), S),
        resp(msg('1'), msg('2'), C('INSERT 0 1'), Z),
      ],
      ['INSERT insert into t values ($1) 00000 INSERT 0 1'],
    ],
    [
      're-execute a prepared statement',
      [
        req(P('s1', 'delete from t'), S),
        resp(msg('1'), Z),
        req(B('p', 's1'), E('p'), S),
        resp(msg('2'), C('DELETE 3'), Z),
      ],
      ['DELETE delete from t 00000 DELETE 3'],
    ],
    [
      'two executes in one batch',
      [
        req(P('', 'begin'), B('', ''), E(''), P('', 'select 2'), B('', ''), E(''), S),
        resp(msg('1'), msg('2'), C('BEGIN'), msg('1'), msg('2'), C('SELECT 1'), Z),
      ],
      ['BEGIN begin 00000 BEGIN', 'SELECT select 2 00000 SELECT 1'],
    ],
    [
      'parse error skips the batch',
      [req(P('', 'selec'), B('', ''), E(''), S), resp(ERR('42601', 'x'), Z)],
      ['QUERY selec 42601 -'],
    ],
    [
      'unknown statement (prepared before capture)',
      [req(B('', 'S_9'), E(''), S), resp(msg('2'), C('SELECT 1'), Z)],
      ['EXECUTE S_9 00000 SELECT 1'],
    ],
    [
      'startup with SSLRequest refused',
      [
        req(sslRequest),
        resp(new Uint8Array([0x4e])),
        req(startup('u', 'db')),
        resp(authOk, Z),
        req(Q('select 1')),
        resp(C('SELECT 1'), Z),
      ],
      ['SELECT select 1 00000 SELECT 1'],
    ],
    [
      'login failure',
      [req(startup('u', 'db')), resp(ERR('28P01', 'password authentication failed'))],
      ['LOGIN u 28P01 -'],
    ],
    [
      'SSL accepted: the rest is TLS',
      [req(sslRequest), resp(new Uint8Array([0x53])), req(new Uint8Array([0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5]))],
      [],
    ],
    [
      'response before any request is dropped',
      [resp(C('SELECT 1'), Z), req(Q('select 2')), resp(C('SELECT 1'), Z)],
      ['SELECT select 2 00000 SELECT 1'],
    ],
  ] as [string, Chunk[], string[]][])('%s', (_name, chunks, want) => {
    expect(brief(chunks)).toEqual(want);
  });

  it('parses a message split into single bytes', () => {
    const chunks = [
      ...byteByByte('request', Q('select now()'), 1n),
      ...byteByByte('response', cat(C('SELECT 1'), Z), 2n),
    ];
    expect(drive(spec, chunks).calls.map((c) => c.resource)).toEqual(['select now()']);
  });

  it('resynchronises after garbage', () => {
    const r = drive(spec, [req(new Uint8Array([1, 2, 3, 250, 251]), Q('select 3')), resp(C('SELECT 1'), Z)]);
    expect(r.calls.map((c) => c.resource)).toEqual(['select 3']);
    expect(r.invalid).toBeGreaterThan(0);
  });

  it.each([
    ['startup message', startup('u', 'db'), 1],
    ['SSLRequest', sslRequest, 0.9],
    ['simple query', Q('select 1'), 0.7],
    ['HTTP request', enc.encode('GET / HTTP/1.1\r\n\r\n'), 0],
    ['Redis command', enc.encode('*1\r\n$4\r\nPING\r\n'), 0],
    ['Q with wrong length', new Uint8Array([0x51, 0, 0, 0, 9, 0x61, 0]), 0],
  ] as [string, Uint8Array, number][])('detects %s', (_n, data, score) => {
    expect(spec.detect({ data, direction: 'egress', role: 'unknown', transport: 'tcp' }).score).toBe(score);
  });

  it.each([
    ['select 1', 'SELECT'],
    ['  /* hint */ -- x\n(SELECT 1)', 'SELECT'],
    ['WITH x AS (select 1) select * from x', 'WITH'],
    ['asdsdfdsf;', ''],
  ])('sqlVerb(%j) = %j', (q, v) => expect(sqlVerb(q)).toBe(v));
});

describe('postgres answers cut short (the capture skipped their end)', () => {
  const D = msg('D', i16(1), i32(3), [97, 98, 99]);
  const T = msg('T', i16(1), cstr('v'), i32(0), i16(0), i32(25), i16(-1), i32(-1), i16(0));
  const truncated = (chunks: Chunk[]) =>
    drive(spec, chunks).calls.map(
      (c) => `${c.method} ${c.status} ${c.attributes?.['db.response.truncated'] ?? '-'}`,
    );

  it.each([
    [
      'a simple query with rows and no end',
      [req(Q('SELECT v FROM t')), resp(T, D, D)],
      ['SELECT 00000 true'],
    ],
    [
      'an extended batch with rows and no end',
      [req(P('', 'SELECT v FROM t'), B('', ''), E(''), S), resp(msg('1'), msg('2'), T, D)],
      ['SELECT 00000 true'],
    ],
    ['a whole answer is not touched', [req(Q('SELECT 1')), resp(T, D, C('SELECT 1'), Z)], ['SELECT 00000 -']],
    ['nothing answered yet: no call', [req(Q('SELECT v FROM t'))], []],
    [
      'an error ends the answer: no made-up end',
      [req(Q('SELECT x')), resp(ERR('42703', 'no x'))],
      ['SELECT 42703 -'],
    ],
    [
      'an extended batch without its Sync yet: no call',
      [req(P('', 'SELECT 1'), B('', ''), E('')), resp(msg('1'))],
      [],
    ],
  ])('%s', (_name, chunks, want) => {
    expect(truncated(chunks)).toEqual(want);
  });
});
