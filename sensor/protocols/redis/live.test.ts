import { execFile } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startRedis } from '../../testing/servers.ts';
import { waitFor } from '../testkit-b/freePort.ts';
import { saveSession } from '../testkit-b/sessionFixture.ts';
import { drive } from '../testkit-b/streamDriver.ts';
import { TcpRelay } from '../testkit-b/tcpRelay.ts';
import { spec } from './index.ts';

const TESTDATA = new URL('./testdata/', import.meta.url).pathname;

/** redis-cli (RESP2 and RESP3) and raw pub/sub clients against a real redis-server, through a recording relay. */
const run = promisify(execFile);
let server: RunningServer;
let relay: TcpRelay;
let port: number;

beforeAll(async () => {
  server = await startRedis();
  relay = new TcpRelay(server.port);
  port = await relay.start();
});
afterAll(async () => {
  await relay?.stop();
  await server?.stop();
});

const cli = (...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
const lastCalls = async () => {
  const conn = relay.connections[relay.connections.length - 1]!;
  await conn.closed;
  return drive(spec, conn.chunks).calls.map((c) => `${c.method} ${c.resource} ${c.status}`);
};

async function client(): Promise<{ sock: Socket; received: () => string }> {
  const sock = createConnection({ port, host: '127.0.0.1' });
  let got = '';
  sock.on('data', (d: Buffer) => {
    got += d.toString('latin1');
  });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  return { sock, received: () => got };
}

describe('redis live (redis-server + redis-cli)', () => {
  it('sees commands, errors and RESP2 replies', async () => {
    await cli('SET', 'greeting', 'hello');
    expect(await lastCalls()).toContain('SET greeting OK');
    await cli('LPUSH', 'greeting', 'x');
    expect(await lastCalls()).toContain('LPUSH greeting WRONGTYPE');
  });

  it('sees RESP3 replies after HELLO 3 (map from HGETALL)', async () => {
    await cli('-3', 'HSET', 'h', 'f', 'v');
    await cli('-3', 'HGETALL', 'h');
    const calls = await lastCalls();
    expect(calls).toEqual(expect.arrayContaining(['HELLO  OK', 'HGETALL h OK']));
  });

  it('pairs a pipeline of 100 commands in order', async () => {
    const { sock, received } = await client();
    let batch = '';
    for (let i = 0; i < 100; i++) batch += `*2\r\n$4\r\nINCR\r\n$${String(i).length + 1}\r\nc${i}\r\n`;
    sock.write(batch);
    await waitFor(
      async () => (received().match(/:1\r\n/g) ?? []).length === 100,
      10_000,
      'no pipeline replies',
    );
    sock.end();
    const calls = await lastCalls();
    expect(calls).toEqual(Array.from({ length: 100 }, (_, i) => `INCR c${i} OK`));
    const chunks = relay.connections[relay.connections.length - 1]!.chunks;
    saveSession(
      TESTDATA,
      'pipeline',
      'raw client: 100 pipelined INCR against redis-server 7',
      chunks,
      drive(spec, chunks).calls,
    );
  });

  it('sees pub/sub confirmations and pushed messages, in RESP2 and RESP3', async () => {
    const sub2 = await client();
    sub2.sock.write('*3\r\n$9\r\nSUBSCRIBE\r\n$4\r\nnews\r\n$6\r\nsports\r\n');
    const sub3 = await client();
    sub3.sock.write('*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nnews\r\n');
    await waitFor(
      async () => sub2.received().includes('sports') && sub3.received().includes('subscribe'),
      5000,
      'no confirmations',
    );
    await cli('PUBLISH', 'news', 'extra');
    await waitFor(
      async () => sub2.received().includes('extra') && sub3.received().includes('extra'),
      5000,
      'no message',
    );
    const conns = relay.connections.slice(-3, -1);
    sub2.sock.end();
    sub3.sock.end();
    const [c2, c3] = await Promise.all(
      conns.map(async (c) => {
        await c.closed;
        return drive(spec, c.chunks).calls.map((x) => `${x.method} ${x.resource} ${x.status}`);
      }),
    );
    expect(c2).toEqual(['SUBSCRIBE news OK', 'MESSAGE news OK']);
    expect(c3).toEqual(['HELLO  OK', 'SUBSCRIBE news OK', 'MESSAGE news OK']);
    for (const [i, c] of conns.entries()) {
      saveSession(
        TESTDATA,
        `pubsub-resp${i + 2}`,
        `raw client: SUBSCRIBE and a published message, RESP${i + 2}`,
        c.chunks,
        drive(spec, c.chunks).calls,
      );
    }
  });
});
