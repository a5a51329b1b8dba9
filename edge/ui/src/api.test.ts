/**
 * `api()` against a real HTTP server on a free port (Node's fetch is the browser's API): answers, the edge's
 * error shape, and the per-call timeout that pollers such as the live tail use.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../../lib/net.ts';
import { ApiError, api } from './api.ts';

let server: Server;
let base: string;
const held: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/ok')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"n":1}');
    if (req.url === '/bad')
      return void res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"error":{"code":"bad_request","message":"no such field"}}');
    held.push(res); // '/hang': the answer never comes
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of held) res.destroy();
  await new Promise((resolve) => server.close(resolve));
});

describe('api', () => {
  test('returns the JSON answer and turns an error answer into ApiError', async () => {
    expect(await api('GET', `${base}/ok`)).toEqual({ n: 1 });
    await expect(api('GET', `${base}/bad`)).rejects.toMatchObject({
      status: 400,
      code: 'bad_request',
      message: 'no such field',
    });
  });

  test('gives up on an answer that takes longer than timeoutMs', async () => {
    const started = Date.now();
    const err = await api('GET', `${base}/hang`, undefined, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 0, code: 'timeout' });
    expect((err as Error).message).toContain('0.2 s');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    // A timeout only bounds the call it was given to: a quick answer is unaffected.
    expect(await api('GET', `${base}/ok`, undefined, { timeoutMs: 5000 })).toEqual({ n: 1 });
  });

  test('a refused connection is a network error, not a timeout', async () => {
    const port = await freePort(); // nothing listens there
    await expect(
      api('GET', `http://127.0.0.1:${port}/`, undefined, { timeoutMs: 5000 }),
    ).rejects.toMatchObject({
      status: 0,
      code: 'network',
    });
  });
});
