import { describe, expect, it } from 'vitest';
import { byteByByte, type Chunk, drive } from '../testkit-b/streamDriver.ts';
import { spec } from './index.ts';

const enc = new TextEncoder();
let t = 0n;
const req = (s: string): Chunk => ({ type: 'request', tsNs: ++t, data: enc.encode(s) });
const resp = (s: string): Chunk => ({ type: 'response', tsNs: ++t, data: enc.encode(s) });
const brief = (chunks: Chunk[]) =>
  drive(spec, chunks).calls.map((c) => `${c.method} ${c.resource} ${c.status}`);
const INFO = 'INFO {"server_id":"x","version":"2.9.0","max_payload":1048576}\r\n';

describe('nats parse + stitch', () => {
  it.each([
    [
      'handshake makes no call',
      [resp(INFO), req('CONNECT {"verbose":false}\r\nPING\r\n'), resp('PONG\r\n')],
      [],
    ],
    ['PUB with payload', [req('PUB orders.new 5\r\nhello\r\n')], ['PUB orders.new OK']],
    [
      'PUB with reply subject and empty payload',
      [req('PUB svc.echo _INBOX.1 0\r\n\r\n')],
      ['PUB svc.echo OK'],
    ],
    [
      'HPUB with headers',
      [req('HPUB orders.new 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n')],
      ['PUB orders.new OK'],
    ],
    [
      'SUB with queue group, then MSG',
      [req('SUB orders.* workers 1\r\n'), resp('MSG orders.new 1 5\r\nhello\r\n')],
      ['SUB orders.* OK', 'MSG orders.new OK'],
    ],
    ['HMSG', [resp('HMSG a.b 9 _INBOX.2 12 14\r\nNATS/1.0\r\n\r\nhi\r\n')], ['MSG a.b OK']],
    ['payload containing CRLF and a fake command', [req('PUB x 12\r\nPING\r\nPUB y \r\n')], ['PUB x OK']],
    ['lower-case operations', [req('pub x 1\r\na\r\n')], ['PUB x OK']],
    [
      '-ERR without verbose',
      [req('PUB secret 1\r\na\r\n'), resp('-ERR \'Permissions Violation for Publish to "secret"\'\r\n')],
      ['PUB secret OK', 'ERR  permissions violation for publish'],
    ],
    [
      'verbose: PUB waits for +OK',
      [req('CONNECT {"verbose":true}\r\n'), resp('+OK\r\n'), req('PUB a 1\r\nx\r\n'), resp('+OK\r\n')],
      ['PUB a OK'],
    ],
    [
      'verbose: -ERR fails the PUB',
      [
        req('CONNECT {"verbose":true}\r\n'),
        resp('+OK\r\n'),
        req('PUB a 1\r\nx\r\n'),
        resp('-ERR \'Permissions Violation for Publish to "a"\'\r\n'),
      ],
      ['PUB a permissions violation for publish'],
    ],
  ] as [string, Chunk[], string[]][])('%s', (_n, chunks, want) => {
    expect(brief(chunks)).toEqual(want);
  });

  it('copes with any segmentation', () => {
    expect(brief([...byteByByte('request', enc.encode('PUB a.b 3\r\nabc\r\nSUB c 7\r\n'), 1n)])).toEqual([
      'PUB a.b OK',
      'SUB c OK',
    ]);
  });

  it('rejects a size that does not match the payload, then resynchronises', () => {
    const r = drive(spec, [req('PUB a 2\r\nabc\r\nPUB b 1\r\nx\r\n')]);
    expect(r.calls.map((c) => c.resource)).toEqual(['b']);
    expect(r.invalid).toBeGreaterThan(0);
  });

  it.each([
    ['server INFO', INFO, 1],
    ['client CONNECT', 'CONNECT {"lang":"go"}\r\n', 1],
    ['a PUB mid-stream', 'PUB a 1\r\nx\r\n', 0.4],
    ['HTTP', 'GET / HTTP/1.1\r\n\r\n', 0],
    ['Redis inline PING', 'PING\r\n', 0],
    ['Redis +OK', '+OK\r\n', 0],
  ] as [string, string, number][])('detects %s', (_n, data, score) => {
    expect(
      spec.detect({ data: enc.encode(data), direction: 'egress', role: 'unknown', transport: 'tcp' }).score,
    ).toBe(score);
  });
});

describe('nats message headers', () => {
  const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const hpub = (block: string, body = 'hi') =>
    req(
      `HPUB orders.new ${enc.encode(block).length} ${enc.encode(block).length + body.length}\r\n${block}${body}\r\n`,
    );
  const only = (chunks: Chunk[]) => {
    const calls = drive(spec, chunks).calls;
    expect(calls).toHaveLength(1);
    return calls[0]!;
  };

  it('gives an HPUB its headers and the body size without them', () => {
    const call = only([hpub(`NATS/1.0\r\ntraceparent: ${TP}\r\nTracestate: k=v\r\n\r\n`, 'hello')]);
    expect(call.reqHeaders).toEqual({ traceparent: TP, Tracestate: 'k=v' });
    expect(call.attributes?.['messaging.message.body.size']).toBe(5);
  });

  it('gives a delivery (HMSG) the headers of the message delivered', () => {
    const block = `NATS/1.0\r\ntraceparent: ${TP}\r\n\r\n`;
    const n = enc.encode(block).length;
    const call = only([resp(`HMSG orders.new 7 ${n} ${n + 2}\r\n${block}hi\r\n`)]);
    expect(call.method).toBe('MSG');
    expect(call.reqHeaders?.traceparent).toBe(TP);
  });

  it.each([
    ['no NATS/1.0 line', 'HTTP/1.0\r\nA: b\r\n\r\n', undefined],
    ['only the version line', 'NATS/1.0\r\n\r\n', undefined],
    ['a status line, then a header', 'NATS/1.0 503\r\nA: b\r\n\r\n', { A: 'b' }],
    ['a repeated name keeps its first value', 'NATS/1.0\r\nA: 1\r\nA: 2\r\n\r\n', { A: '1' }],
    ['a value is cut at 256 characters', `NATS/1.0\r\nA: ${'x'.repeat(300)}\r\n\r\n`, { A: 'x'.repeat(256) }],
    ['a line without a colon ends the block', 'NATS/1.0\r\nA: 1\r\ngarbage\r\nB: 2\r\n\r\n', { A: '1' }],
    ['zero bytes (a capture gap) end the block', 'NATS/1.0\r\nA: 1\r\n\0\0\0\0\0\0\0\r\n\r\n', { A: '1' }],
  ])('%s', (_name, block, expected) => {
    expect(only([hpub(block)]).reqHeaders).toEqual(expected);
  });

  it('keeps at most 32 headers', () => {
    const lines = Array.from({ length: 40 }, (_, i) => `H${i}: ${i}\r\n`).join('');
    const headers = only([hpub(`NATS/1.0\r\n${lines}\r\n`)]).reqHeaders!;
    expect(Object.keys(headers)).toHaveLength(32);
    expect(headers.H31).toBe('31');
  });

  it('refuses a header size larger than the message', () => {
    expect(drive(spec, [req('HPUB a 9 5\r\nhello\r\n')]).calls).toEqual([]);
  });
});
