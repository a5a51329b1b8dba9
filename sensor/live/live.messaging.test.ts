import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveCalls, runNode } from '../testing/liveCalls.ts';
import { type RunningServer, startNats, startRabbitmq } from '../testing/servers.ts';

/**
 * RabbitMQ (amqplib) and NATS (a raw client speaking the text protocol), brokers and clients all children of
 * this test, observed through the eBPF capture and the live source. The brokers' own pids are not known
 * (RabbitMQ runs under a start script), so server-side calls are matched by role and by coming from a
 * process other than the client. Needs root.
 */
const live = new LiveCalls();
let rabbit: RunningServer;
let nats: RunningServer;

beforeAll(async () => {
  await live.start();
  [rabbit, nats] = await Promise.all([startRabbitmq(), startNats()]);
}, 150_000);

afterAll(async () => {
  await Promise.all([rabbit?.stop(), nats?.stop()]);
  await live.stop();
});

async function expectSides(protocol: string, clientPid: number, client: string[], server: string[]) {
  const sides = () => ({
    client: live.seen(protocol, (c) => c.pid === clientPid && c.role === 'client'),
    server: live.seen(protocol, (c) => c.pid !== clientPid && c.role === 'server'),
  });
  await live.waitFor(`${protocol} calls of pid ${clientPid}`, () => {
    const s = sides();
    return client.every((k) => s.client.includes(k)) && server.every((k) => s.server.includes(k));
  });
  const s = sides();
  expect(s.client).toEqual(expect.arrayContaining(client));
  expect(s.server).toEqual(expect.arrayContaining(server));
}

describe('live: messaging through the eBPF source', () => {
  it('RabbitMQ (amqplib): declare, publish, deliver, ack, and a failed passive declare', async () => {
    const run = await runNode(`
      const amqp = require('amqplib');
      (async () => {
        const conn = await amqp.connect('amqp://guest:guest@127.0.0.1:${rabbit.port}');
        const ch = await conn.createChannel();
        await ch.assertQueue('orders', { durable: false });
        ch.sendToQueue('orders', Buffer.from('one'));
        const got = await new Promise((resolve) => ch.consume('orders', (m) => { ch.ack(m); resolve(m.content.toString()); }));
        console.log('got ' + got);
        const other = await conn.createChannel();
        other.on('error', () => {});
        await other.checkQueue('no-such-queue').catch((e) => console.log('missing ' + e.code));
        await ch.close();
        await conn.close();
      })();`);
    expect(run.stdout).toContain('got one');
    expect(run.stdout).toContain('missing 404');
    await expectSides(
      'amqp',
      run.pid,
      [
        'client queue.declare orders OK',
        'client basic.publish orders OK',
        'client basic.consume orders OK',
        'client basic.deliver orders OK',
        'client basic.ack  OK',
        'client queue.declare no-such-queue 404',
      ],
      [
        'server queue.declare orders OK',
        'server basic.publish orders OK',
        'server queue.declare no-such-queue 404',
      ],
    );
  });

  it('NATS (raw text protocol): SUB, PUB, delivered MSG, and an -ERR', async () => {
    const run = await runNode(`
      const sock = require('node:net').connect(${nats.port}, '127.0.0.1');
      let got = '';
      let step = 0;
      const done = () => { console.log(got); sock.end(); };
      sock.on('data', (d) => {
        got += d;
        if (step === 0 && got.includes('MSG orders.new 1 5') && got.split('PONG').length > 2) {
          step = 1;
          sock.write('PUB bad..subject 1\\r\\nx\\r\\n');
        } else if (step === 1 && got.includes('-ERR')) done();
      });
      sock.on('close', () => { clearTimeout(timer); if (step < 2) { step = 2; console.log(got); } });
      sock.write('CONNECT {"verbose":false,"pedantic":true}\\r\\nSUB orders.* 1\\r\\nPING\\r\\n');
      setTimeout(() => sock.write('PUB orders.new 5\\r\\nhello\\r\\nPING\\r\\n'), 200);
      const timer = setTimeout(() => { console.log('timeout ' + JSON.stringify(got)); process.exit(1); }, 10000);`);
    expect(run.stdout).toContain('hello');
    await expectSides(
      'nats',
      run.pid,
      ['client SUB orders.* OK', 'client PUB orders.new OK', 'client MSG orders.new OK'],
      ['server SUB orders.* OK', 'server PUB orders.new OK', 'server MSG orders.new OK'],
    );
    // The -ERR comes after the MSG, and may reach the tracker after the calls waited for above.
    const errors = () => live.calls.filter((c) => c.protocol === 'nats' && c.pid === run.pid && c.error);
    await live.waitFor(`a NATS -ERR of pid ${run.pid}`, () => errors().some((c) => c.method === 'ERR'));
    expect(errors().map((c) => c.method)).toContain('ERR');
  });
});
