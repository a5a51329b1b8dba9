import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataEvent } from '../../capture/events.ts';
import { LiveSource } from '../../live/liveSource.ts';
import type { ApiCall } from '../contract.ts';
import { type RecordedChunk, RecordingRelay, replayChunks, splitChunks } from '../tracker/recordingRelay.ts';
import { spec } from './index.ts';

/**
 * Request and response sizes are the bytes of the message on the wire (head + body framing), whatever the
 * body's framing: Content-Length, chunked (counted as it streams) or read until close; through the pcap-like
 * path (whole reads) and through the eBPF source, whose events carry only a prefix of each read and the
 * real length. A real Node.js server and client, one connection per call, recorded by a TCP relay: the
 * expected sizes are the bytes each direction of the connection carried.
 */
const PART = 3000; // larger than any capture prefix

let server: Server;
let relay: RecordingRelay;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/length') {
        res.setHeader('content-length', PART);
        res.end('l'.repeat(PART));
        return;
      }
      // Chunked on HTTP/1.1, read until close on HTTP/1.0: parts written apart, so each is one read.
      let n = 0;
      const next = () => {
        if (++n > 3) return void res.end();
        res.write('c'.repeat(PART));
        setTimeout(next, 15);
      };
      next();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no server address');
  relay = new RecordingRelay(addr.port);
  port = await relay.start();

  await call('GET', '/length');
  await call('GET', '/chunked');
  // A chunked request body, written in parts too.
  await call('POST', '/upload', ['u'.repeat(PART), 'v'.repeat(PART)]);
  // HTTP/1.0: the response has no length and ends with the connection.
  const s = connect(port, '127.0.0.1');
  s.write('GET /close HTTP/1.0\r\nHost: x\r\n\r\n');
  s.resume();
  await once(s, 'end');
  s.destroy();
  await new Promise((r) => setTimeout(r, 50));
}, 30_000);

afterAll(async () => {
  await relay.stop();
  server.close();
});

function call(method: string, path: string, parts: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    const write = (i: number) => {
      if (i >= parts.length) return void req.end();
      req.write(parts[i]);
      setTimeout(() => write(i + 1), 15);
    };
    write(0);
  });
}

/** Bytes each direction of each recorded connection carried: the sizes a call must report. */
function wireSizes(chunks: readonly RecordedChunk[]): Map<number, { req: number; resp: number }> {
  const out = new Map<number, { req: number; resp: number }>();
  for (const c of chunks) {
    const s = out.get(c.conn) ?? { req: 0, resp: 0 };
    if (c.direction === 'egress') s.req += c.data.length;
    else s.resp += c.data.length;
    out.set(c.conn, s);
  }
  return out;
}

const sized = (calls: ApiCall[]) =>
  calls.map((c) => `${c.method} ${c.resource} ${c.status} ${c.reqBytes} ${c.respBytes}`).sort();

function expected(): string[] {
  const sizes = wireSizes(relay.chunks);
  const resources = ['/length', '/chunked', '/upload', '/close'];
  const methods = ['GET', 'GET', 'POST', 'GET'];
  expect(sizes.size).toBe(4);
  return [...sizes.values()].map((s, i) => `${methods[i]} ${resources[i]} 200 ${s.req} ${s.resp}`).sort();
}

describe('HTTP/1.x message sizes', () => {
  it('are the bytes on the wire for every body framing, however the stream is cut', () => {
    const want = expected();
    // The bodies are larger than what a parser keeps: the sizes cannot come from buffered bytes.
    expect(want.every((line) => Number(line.split(' ').at(-1)) > PART)).toBe(true);
    expect(sized(replayChunks(relay.chunks, [spec]).calls)).toEqual(want);
    expect(sized(replayChunks(splitChunks(relay.chunks, 7), [spec]).calls)).toEqual(want);
  });

  it('are the bytes on the wire through the eBPF source, which sees only a prefix of each read', () => {
    const calls: ApiCall[] = [];
    const live = new LiveSource({ specs: [spec], onCall: (c) => calls.push(c) });
    const cap = 256;
    live.consume(
      relay.chunks.map((c): DataEvent => {
        const t = {
          family: 4 as const,
          transport: 'tcp' as const,
          local: { ip: '127.0.0.1', port: 40000 + c.conn },
          remote: { ip: '127.0.0.1', port: 8080 },
        };
        return {
          kind: 'data',
          tsNs: c.tsNs,
          pid: 100,
          tid: 100,
          fd: 10 + c.conn,
          direction: c.direction,
          tuple: t,
          role: 'client',
          length: c.data.length,
          data: c.data.subarray(0, cap),
          truncated: c.data.length > cap,
          tls: false,
          unattributed: false,
          messageStart: true,
          resync: false,
          syscall: c.direction === 'egress' ? 'write' : 'read',
        };
      }),
    );
    live.flush();
    expect(live.stats.truncatedEvents).toBeGreaterThan(3);
    expect(sized(calls)).toEqual(expected());
  });
});
