import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startRabbitmq } from '../../testing/servers.ts';
import { waitFor } from '../testkit-b/freePort.ts';
import { saveSession } from '../testkit-b/sessionFixture.ts';
import { drive } from '../testkit-b/streamDriver.ts';
import { TcpRelay } from '../testkit-b/tcpRelay.ts';
import { spec } from './index.ts';
import { messageCalls, TRACEPARENT, WANT_MESSAGE_CALLS } from './traceContext.fixture.ts';

const TESTDATA = new URL('./testdata/', import.meta.url).pathname;

/** The amqplib client against a real RabbitMQ (started once: it boots slowly), through a recording relay. */
let server: RunningServer;
let relay: TcpRelay;
let port: number;

beforeAll(async () => {
  server = await startRabbitmq();
  relay = new TcpRelay(server.port);
  port = await relay.start();
}, 150_000);
afterAll(async () => {
  await relay?.stop();
  await server?.stop();
}, 60_000);

describe('amqp live (RabbitMQ + amqplib)', () => {
  it('sees declares, bind, publish, deliver, ack, and a 404 from a missing queue', async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const ch = await conn.createChannel();
    await ch.assertExchange('orders', 'direct', { durable: false });
    await ch.assertQueue('orders.new', { durable: false });
    await ch.bindQueue('orders.new', 'orders', 'new');
    const got: string[] = [];
    await ch.consume('orders.new', (m) => {
      if (m) {
        got.push(m.content.toString());
        ch.ack(m);
      }
    });
    ch.publish('orders', 'new', Buffer.from('order-1'));
    ch.sendToQueue('orders.new', Buffer.from('order-2'));
    await waitFor(async () => got.length === 2, 10_000, 'messages not delivered');
    const bad = await conn.createChannel();
    bad.on('error', () => undefined);
    await expect(bad.checkQueue('no.such.queue')).rejects.toThrow(/404/);
    await ch.close();
    await conn.close();
    const relayed = relay.connections.at(-1)!;
    await relayed.closed;
    const calls = drive(spec, relayed.chunks).calls.map((c) => `${c.method} ${c.resource} ${c.status}`);
    // Client and broker events interleave with timing: compare as a multiset, in order per direction.
    expect([...calls].sort()).toEqual(
      [
        'exchange.declare orders OK',
        'queue.declare orders.new OK',
        'queue.bind orders.new OK',
        'basic.consume orders.new OK',
        'basic.publish orders OK',
        'basic.publish orders.new OK',
        'basic.deliver orders OK',
        'basic.deliver orders.new OK',
        'basic.ack  OK',
        'basic.ack  OK',
        'queue.declare no.such.queue 404',
      ].sort(),
    );
    expect(calls.filter((c) => c.startsWith('basic.deliver'))).toEqual([
      'basic.deliver orders OK',
      'basic.deliver orders.new OK',
    ]);
    saveSession(
      TESTDATA,
      'amqplib',
      'amqplib against RabbitMQ 3: declares, bind, consume, publish, deliver, ack, 404',
      relayed.chunks,
      drive(spec, relayed.chunks).calls,
    );
  });

  it('carries the trace context of the message headers on the publish and the delivery', async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const ch = await conn.createChannel();
    await ch.assertQueue('traced', { durable: false });
    const got: amqp.ConsumeMessage[] = [];
    await ch.consume(
      'traced',
      (m) => {
        if (m) got.push(m);
      },
      { noAck: true },
    );
    ch.sendToQueue('traced', Buffer.from('{"id":1}'), {
      headers: { traceparent: TRACEPARENT, tracestate: 'k=v', other: 42 },
      messageId: 'msg-1',
      correlationId: 'conv-1',
      contentType: 'application/json',
    });
    await waitFor(async () => got.length === 1, 10_000, 'message not delivered');
    await ch.close();
    await conn.close();
    const relayed = relay.connections.at(-1)!;
    await relayed.closed;
    const calls = drive(spec, relayed.chunks).calls;
    expect(messageCalls(calls)).toEqual(WANT_MESSAGE_CALLS);
    saveSession(
      TESTDATA,
      'amqplib-trace-context',
      'amqplib against RabbitMQ 3: publish and delivery of a message with traceparent, ids and content type',
      relayed.chunks,
      calls,
    );
  });
  it('gives a basic.get the headers of the message it fetched', async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
    const ch = await conn.createChannel();
    await ch.assertQueue('pulled', { durable: false });
    ch.sendToQueue('pulled', Buffer.from('{"id":2}'), {
      headers: { traceparent: TRACEPARENT },
      messageId: 'msg-2',
    });
    let fetched: amqp.GetMessage | false = false;
    await waitFor(
      async () => {
        fetched = await ch.get('pulled', { noAck: true });
        return fetched !== false;
      },
      10_000,
      'basic.get found no message',
    );
    await ch.close();
    await conn.close();
    const relayed = relay.connections.at(-1)!;
    await relayed.closed;
    const gets = drive(spec, relayed.chunks).calls.filter(
      (c) => c.method === 'basic.get' && c.attributes?.['messaging.message.id'] !== undefined,
    );
    expect(
      gets.map((c) => [c.resource, c.reqHeaders?.traceparent, c.attributes?.['messaging.message.id']]),
    ).toEqual([['pulled', TRACEPARENT, 'msg-2']]);
  });
});
