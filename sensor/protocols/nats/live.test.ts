import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startNats } from '../../testing/servers.ts';
import { waitFor } from '../testkit-b/freePort.ts';
import { saveSession } from '../testkit-b/sessionFixture.ts';
import { drive } from '../testkit-b/streamDriver.ts';
import { TcpRelay } from '../testkit-b/tcpRelay.ts';
import { spec } from './index.ts';

const TESTDATA = new URL('./testdata/', import.meta.url).pathname;

/** Raw NATS clients (the protocol is text) against a real nats-server, through a recording relay. */
let server: RunningServer;
let relay: TcpRelay;
let port: number;

beforeAll(async () => {
  server = await startNats();
  relay = new TcpRelay(server.port);
  port = await relay.start();
});
afterAll(async () => {
  await relay?.stop();
  await server?.stop();
});

async function client(connect: object): Promise<{ sock: Socket; received: () => string }> {
  const sock = createConnection({ port, host: '127.0.0.1' });
  let got = '';
  sock.on('data', (d: Buffer) => {
    got += d.toString('latin1');
  });
  await waitFor(async () => got.startsWith('INFO {'), 5000, 'nats-server sent no INFO');
  sock.write(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
  await waitFor(async () => got.includes('PONG'), 5000, 'nats-server did not answer PING');
  return { sock, received: () => got };
}

const callsOf = async (i: number) => {
  const c = relay.connections[i]!;
  await c.closed;
  return drive(spec, c.chunks).calls.map((x) => `${x.method} ${x.resource} ${x.status}`);
};

describe('nats live (nats-server)', () => {
  it('sees SUB, PUB, HPUB and the MSG/HMSG deliveries on both connections', async () => {
    const sub = await client({ verbose: false, pedantic: false, headers: true, protocol: 1 });
    sub.sock.write('SUB orders.* workers 1\r\nPING\r\n');
    await waitFor(async () => (sub.received().match(/PONG/g) ?? []).length >= 2, 5000, 'no PONG after SUB');
    const pub = await client({ verbose: false, pedantic: false, headers: true, protocol: 1 });
    pub.sock.write(
      'PUB orders.new 5\r\nhello\r\nHPUB orders.paid 18 22\r\nNATS/1.0\r\nA: b\r\n\r\npaid\r\nPING\r\n',
    );
    await waitFor(async () => sub.received().includes('HMSG'), 5000, 'no deliveries');
    pub.sock.end();
    sub.sock.end();
    expect(await callsOf(0)).toEqual(['SUB orders.* OK', 'MSG orders.new OK', 'MSG orders.paid OK']);
    expect(await callsOf(1)).toEqual(['PUB orders.new OK', 'PUB orders.paid OK']);
    for (const i of [0, 1]) {
      const chunks = relay.connections[i]!.chunks;
      saveSession(
        TESTDATA,
        `pubsub-${i}`,
        'raw clients against nats-server: SUB with queue group, PUB, HPUB, MSG, HMSG',
        chunks,
        drive(spec, chunks).calls,
      );
    }
  });

  it('sees +OK acknowledgements in verbose mode and a -ERR for a bad subject', async () => {
    const c = await client({ verbose: true, pedantic: true });
    c.sock.write('PUB ok.subject 2\r\nhi\r\n');
    await waitFor(async () => (c.received().match(/\+OK/g) ?? []).length >= 2, 5000, 'no +OK for PUB');
    c.sock.write('PUB bad..subject 2\r\nhi\r\n');
    await waitFor(async () => c.received().includes('-ERR'), 5000, 'no -ERR for an invalid subject');
    c.sock.end();
    const calls = await callsOf(2);
    expect(calls[0]).toBe('PUB ok.subject OK');
    expect(calls[1]).toMatch(/^PUB bad\.\.subject invalid (publish )?subject/);
    const chunks = relay.connections[2]!.chunks;
    saveSession(
      TESTDATA,
      'verbose',
      'raw client in verbose mode: +OK acknowledgements and -ERR for an invalid subject',
      chunks,
      drive(spec, chunks).calls,
    );
  });

  it('carries a traceparent header from the HPUB to its HMSG delivery', async () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const sub = await client({ verbose: false, pedantic: false, headers: true, protocol: 1 });
    sub.sock.write('SUB traced.> 7\r\nPING\r\n');
    await waitFor(async () => (sub.received().match(/PONG/g) ?? []).length >= 2, 5000, 'no PONG after SUB');
    const pub = await client({ verbose: false, pedantic: false, headers: true, protocol: 1 });
    const block = `NATS/1.0\r\ntraceparent: ${tp}\r\nx-tenant: acme\r\n\r\n`;
    pub.sock.write(`HPUB traced.order ${block.length} ${block.length + 4}\r\n${block}paid\r\nPING\r\n`);
    await waitFor(async () => sub.received().includes('HMSG traced.order'), 5000, 'no delivery');
    pub.sock.end();
    sub.sock.end();
    const callsAt = async (i: number) => {
      await relay.connections[i]!.closed;
      return drive(spec, relay.connections[i]!.chunks).calls.filter((c) => c.resource === 'traced.order');
    };
    const [published] = await callsAt(relay.connections.length - 1);
    const [delivered] = await callsAt(relay.connections.length - 2);
    expect(published?.method).toBe('PUB');
    expect(delivered?.method).toBe('MSG');
    for (const call of [published, delivered]) {
      // nats-server passes the header block through as the publisher wrote it.
      expect(call?.reqHeaders).toEqual({ traceparent: tp, 'x-tenant': 'acme' });
      expect(call?.attributes?.['messaging.message.body.size']).toBe(4);
    }
  });
});
