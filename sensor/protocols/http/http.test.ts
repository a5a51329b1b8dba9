import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiCall } from '../contract.ts';
import { type RecordedChunk, RecordingRelay, replayChunks, splitChunks } from '../tracker/recordingRelay.ts';
import { spec } from './index.ts';

const enc = new TextEncoder();
const chunk = (direction: 'egress' | 'ingress', text: string, ts: number): RecordedChunk => ({
  conn: 0,
  direction,
  tsNs: BigInt(ts),
  data: enc.encode(text),
});
const summary = (calls: ApiCall[]) => calls.map((c) => `${c.method} ${c.resource} ${c.status}`);

describe('HTTP/1.1 parser on hand-made streams', () => {
  it('pairs pipelined requests with responses in order, bodies by length and chunked', () => {
    const calls = replayChunks(
      [
        chunk(
          'egress',
          'GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b?q=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloHEAD /c HTTP/1.1\r\n\r\n',
          1,
        ),
        chunk('ingress', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 201 Created\r\n', 2),
        chunk(
          'ingress',
          'Transfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\n',
          3,
        ),
        chunk('ingress', 'HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\n', 4),
      ],
      [spec],
    ).calls;
    expect(summary(calls)).toEqual(['GET /a 200', 'POST /b?q=1 201', 'HEAD /c 404']);
    expect(calls[1]!.reqBody).toBe('hello');
    expect(calls[1]!.reqHeaders?.['content-length']).toBe('5');
    expect(calls[0]!.respBody).toBe('abc');
    expect(calls[2]!.respBytes).toBeGreaterThan(0);
  });

  it('skips 100 Continue and reports the final status', () => {
    const calls = replayChunks(
      [
        chunk('egress', 'PUT /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n', 1),
        chunk('ingress', 'HTTP/1.1 100 Continue\r\n\r\n', 2),
        chunk('egress', 'data', 3),
        chunk('ingress', 'HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n', 4),
      ],
      [spec],
    ).calls;
    expect(summary(calls)).toEqual(['PUT /up 500']);
    expect(calls[0]!.error).toBe(true);
  });

  it('stops parsing HTTP after 101 Switching Protocols (WebSocket frames are not HTTP)', () => {
    const r = replayChunks(
      [
        chunk('egress', 'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', 1),
        chunk('ingress', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello', 2),
        chunk('egress', '\x81\x85abcdGET / HTTP/1.1\r\n\r\n', 3),
      ],
      [spec],
    );
    expect(summary(r.calls)).toEqual(['GET /ws 101']);
    expect(r.tracker.protocolOf('conn0')).toBe(undefined); // flushed
    expect(r.stats.framesInvalid).toBe(0);
  });

  it('drops a response older than every request (capture started mid-connection) and resyncs after garbage', () => {
    const calls = replayChunks(
      [
        chunk('ingress', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 1),
        chunk('egress', 'GET /next HTTP/1.1\r\n\r\n', 2),
        chunk('ingress', '\x00\x01garbage\r\nHTTP/1.1 204 No Content\r\n\r\n', 3),
      ],
      [spec],
      { role: 'unknown' },
    ).calls;
    expect(summary(calls)).toEqual(['GET /next 204']);
  });

  it('rejects heads larger than the limit instead of buffering them', () => {
    const big = `GET / HTTP/1.1\r\nX: ${'a'.repeat(70_000)}`;
    const r = replayChunks([chunk('egress', big, 1)], [spec]);
    expect(r.stats.framesInvalid).toBe(1);
  });
});

describe('HTTP/1.1 parser on real Node.js client and server traffic', () => {
  let server: Server;
  let relay: RecordingRelay;
  let port: number;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/chunked') {
        res.write('part one,');
        setTimeout(() => res.end('part two'), 5);
        return;
      }
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.statusCode = req.url === '/missing' ? 404 : 200;
        res.setHeader('content-type', 'text/plain');
        res.end(`${req.method} ${req.url} ${body.length}`);
      });
    });
    server.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (d) => socket.write(d));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no server address');
    relay = new RecordingRelay(addr.port);
    port = await relay.start();
  });

  afterAll(async () => {
    await relay.stop();
    server.close();
  });

  function call(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<number> {
    const agent = keepAlive;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      if (headers.expect === '100-continue') req.on('continue', () => req.end(body));
      else req.end(body);
    });
  }
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });

  it('sees every call of a keep-alive connection, split at any byte boundary', async () => {
    await call('GET', '/one');
    await call('POST', '/two', 'x'.repeat(100_000));
    await call('GET', '/chunked');
    await call('GET', '/missing');
    await call('PUT', '/continue', 'body', { expect: '100-continue', 'content-length': '4' });
    const upgraded = connect(port, '127.0.0.1');
    upgraded.write('GET /up HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    await once(upgraded, 'data');
    upgraded.write('not http at all');
    await once(upgraded, 'data');
    upgraded.destroy();
    keepAlive.destroy();
    await new Promise((r) => setTimeout(r, 50));

    const want = [
      'GET /one 200',
      'POST /two 200',
      'GET /chunked 200',
      'GET /missing 404',
      'PUT /continue 200',
      'GET /up 101',
    ];
    const whole = replayChunks(relay.chunks, [spec]);
    expect(summary(whole.calls).sort()).toEqual([...want].sort());
    expect(whole.stats.framesInvalid).toBe(0);
    for (const size of [1, 7, 100]) {
      expect(summary(replayChunks(splitChunks(relay.chunks, size), [spec]).calls).sort()).toEqual(
        [...want].sort(),
      );
    }
    const post = whole.calls.find((c) => c.resource === '/two')!;
    expect(post.reqBytes).toBeGreaterThan(100_000);
    expect(post.respHeaders?.['content-type']).toBe('text/plain');
    expect(post.endNs).toBeGreaterThanOrEqual(post.startNs);
  });
});
