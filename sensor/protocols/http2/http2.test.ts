import { once } from 'node:events';
import { connect, createServer, type Http2Server } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiCall } from '../contract.ts';
import { RecordingRelay, replayChunks, splitChunks } from '../tracker/recordingRelay.ts';
import { spec } from './index.ts';

const summary = (calls: ApiCall[]) =>
  calls.map((c) => `${c.protocol} ${c.method} ${c.resource} ${c.status}`).sort();

describe('HTTP/2 on real Node.js (nghttp2) traffic', () => {
  let server: Http2Server;
  let relay: RecordingRelay;
  let port: number;

  beforeAll(async () => {
    server = createServer();
    server.on('stream', (stream, headers) => {
      const path = String(headers[':path']);
      let size = 0;
      stream.on('data', (d: Buffer) => (size += d.length));
      stream.on('end', () => {
        if (path === '/slow') return; // never answers: the client resets it
        stream.respond(
          { ':status': path === '/missing' ? 404 : 200, 'x-request-size': String(size) },
          { waitForTrailers: true },
        );
        stream.on('wantTrailers', () => stream.sendTrailers({ 'x-done': 'yes' }));
        stream.end('r'.repeat(path === '/big' ? 200_000 : 10));
      });
      stream.on('error', () => {});
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

  it('decodes concurrent streams, big bodies, trailers and resets, from the start or mid-connection', async () => {
    const client = connect(`http://127.0.0.1:${port}`);
    const get = (path: string, method = 'GET', body?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = client.request({ ':path': path, ':method': method, 'x-custom': `value-${path}` });
        let status = 0;
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', () => {});
        req.on('end', () => resolve(status));
        req.on('error', reject);
        req.end(body);
      });
    await Promise.all([get('/a'), get('/b'), get('/missing')]);
    await get('/big', 'POST', 'x'.repeat(150_000));
    const slow = client.request({ ':path': '/slow', ':method': 'POST' });
    slow.on('error', () => {});
    slow.end('hi');
    await new Promise((r) => setTimeout(r, 30));
    slow.close(0x8); // RST_STREAM CANCEL
    const beforeLater = relay.chunks.length;
    for (let i = 0; i < 5; i++) await get(`/later/${i}`);
    client.close();
    await new Promise((r) => setTimeout(r, 50));

    const want = [
      'http2 GET /a 200',
      'http2 GET /b 200',
      'http2 GET /missing 404',
      'http2 POST /big 200',
      'http2 POST /slow ',
      ...[0, 1, 2, 3, 4].map((i) => `http2 GET /later/${i} 200`),
    ].sort();
    const whole = replayChunks(relay.chunks, [spec]);
    expect(summary(whole.calls)).toEqual(want);
    const big = whole.calls.find((c) => c.resource === '/big')!;
    expect(big.reqBytes).toBeGreaterThan(150_000);
    expect(big.respBytes).toBeGreaterThan(200_000);
    expect(big.respHeaders?.['x-done']).toBe('yes');
    expect(big.reqHeaders?.['x-custom']).toBe('value-/big');
    expect(whole.calls.find((c) => c.resource === '/slow')!.attributes?.['http2.rst_code']).toBe(8);
    expect(summary(replayChunks(splitChunks(relay.chunks, 5), [spec]).calls)).toEqual(want);

    // Start listening after the first requests: the later streams are still found by detection, their
    // headers partly unknown until the dynamic table heals.
    const mid = replayChunks(relay.chunks.slice(beforeLater), [spec]);
    const statuses = mid.calls.map((c) => c.status);
    expect(mid.calls.length).toBeGreaterThanOrEqual(4);
    expect(statuses.every((s) => s === '200')).toBe(true);
  });
});

describe('gRPC on real @grpc/grpc-js traffic', () => {
  const raw = (b: Buffer) => b;
  const service: grpc.ServiceDefinition = {
    Say: {
      path: '/test.Echo/Say',
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
    Many: {
      path: '/test.Echo/Many',
      requestStream: false,
      responseStream: true,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
    Fail: {
      path: '/test.Echo/Fail',
      requestStream: false,
      responseStream: false,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
  };
  let server: grpc.Server;
  let relay: RecordingRelay;
  let port: number;

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(service, {
      Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        cb(null, call.request),
      Many: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        for (let i = 0; i < 3; i++) call.write(Buffer.from(`part ${i}`));
        call.end();
      },
      Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' }),
    });
    const serverPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    relay = new RecordingRelay(serverPort);
    port = await relay.start();
  });

  afterAll(async () => {
    await relay.stop();
    server.forceShutdown();
  });

  it('reports path, grpc-status from trailers and message counts', async () => {
    const Client = grpc.makeGenericClientConstructor(service, 'Echo');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Record<
      string,
      (...args: unknown[]) => unknown
    >;
    await new Promise((resolve, reject) =>
      client.Say!(Buffer.from('hello'), (err: Error | null, v: Buffer) => (err ? reject(err) : resolve(v))),
    );
    await new Promise<void>((resolve, reject) => {
      const s = client.Many!(Buffer.from('x')) as NodeJS.ReadableStream;
      s.on('data', () => {});
      s.on('end', () => resolve());
      s.on('error', reject);
    });
    const failed = await new Promise<grpc.ServiceError>((resolve) =>
      client.Fail!(Buffer.from('x'), (err: grpc.ServiceError) => resolve(err)),
    );
    expect(failed.code).toBe(grpc.status.NOT_FOUND);
    (client as unknown as grpc.Client).close();
    await new Promise((r) => setTimeout(r, 50));

    const { calls } = replayChunks(relay.chunks, [spec]);
    expect(summary(calls)).toEqual([
      'grpc Fail /test.Echo/Fail 5',
      'grpc Many /test.Echo/Many 0',
      'grpc Say /test.Echo/Say 0',
    ]);
    const many = calls.find((c) => c.method === 'Many')!;
    expect(many.attributes?.['rpc.response_messages']).toBe(3);
    expect(many.attributes?.['rpc.service']).toBe('test.Echo');
    const fail = calls.find((c) => c.method === 'Fail')!;
    expect(fail.error).toBe(true);
    expect(fail.attributes?.['rpc.grpc.message']).toBe('no such thing');
  });
});
