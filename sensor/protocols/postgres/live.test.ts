import { execFile } from 'node:child_process';
import { createConnection } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startPostgres } from '../../testing/servers.ts';
import { saveSession } from '../testkit-b/sessionFixture.ts';
import { drive } from '../testkit-b/streamDriver.ts';
import { TcpRelay } from '../testkit-b/tcpRelay.ts';
import { spec } from './index.ts';

const TESTDATA = new URL('./testdata/', import.meta.url).pathname;

/** Real psql and a raw extended-query client against a real PostgreSQL, through a recording relay. */
const run = promisify(execFile);
let server: RunningServer;
let relay: TcpRelay;
let port: number;

beforeAll(async () => {
  server = await startPostgres();
  relay = new TcpRelay(server.port);
  port = await relay.start();
});
afterAll(async () => {
  await relay?.stop();
  await server?.stop();
});

async function psql(sql: string): Promise<void> {
  await run(
    'psql',
    ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-X', '-q', '-c', sql],
    {
      env: { ...process.env, PGSSLMODE: 'prefer', PGCONNECT_TIMEOUT: '10' },
    },
  ).catch(() => undefined); // a failing statement makes psql exit 1: the call is what we check
}

function callsOf(index: number) {
  const conn = relay.connections[index];
  if (!conn) throw new Error(`no relayed connection ${index}`);
  return drive(spec, conn.chunks).calls;
}

describe('postgres live (PostgreSQL 15 + psql)', () => {
  it('sees simple queries, errors and the SSLRequest/startup phase from psql', async () => {
    await psql('create table items (id int primary key, name text)');
    await psql("insert into items values (1, 'a'), (2, 'b')");
    await psql('select * from no_such_table');
    await Promise.all(relay.connections.map((c) => c.closed));
    const calls = [0, 1, 2].map((i) =>
      callsOf(i).map(
        (c) => `${c.method}|${c.resource}|${c.status}|${c.attributes?.['db.command_tag'] ?? ''}`,
      ),
    );
    expect(calls).toEqual([
      ['CREATE|create table items (id int primary key, name text)|00000|CREATE TABLE'],
      ["INSERT|insert into items values (1, 'a'), (2, 'b')|00000|INSERT 0 2"],
      ['SELECT|select * from no_such_table|42P01|'],
    ]);
    expect(callsOf(0)[0]?.attributes?.['db.user']).toBe('postgres');
    for (const i of [1, 2]) {
      const chunks = relay.connections[i]!.chunks;
      saveSession(
        TESTDATA,
        `psql-${i}`,
        'psql 15 against PostgreSQL 15: SSLRequest refused, startup, simple query',
        chunks,
        drive(spec, chunks).calls,
      );
    }
  });

  it('sees an extended-query Parse/Bind/Execute/Sync with a named statement', async () => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    const received: Buffer[] = [];
    let waiting: (() => void) | undefined;
    let readyCount = 0;
    sock.on('data', (d: Buffer) => {
      received.push(d);
      readyCount += d.filter((b, i) => b === 0x5a && d[i + 1] === 0 && d[i + 4] === 5).length;
      waiting?.();
    });
    const untilReady = (n: number) =>
      new Promise<void>((resolve) => {
        waiting = () => readyCount >= n && resolve();
        waiting();
      });
    const enc = (s: string) => Buffer.concat([Buffer.from(s), Buffer.from([0])]);
    const msg = (tag: string, body: Buffer) => {
      const h = Buffer.alloc(5);
      h.write(tag, 0);
      h.writeUInt32BE(body.length + 4, 1);
      return Buffer.concat([h, body]);
    };
    const params = Buffer.concat([
      enc('user'),
      enc('postgres'),
      enc('database'),
      enc('postgres'),
      Buffer.from([0]),
    ]);
    const start = Buffer.alloc(8);
    start.writeUInt32BE(params.length + 8, 0);
    start.writeUInt32BE(196608, 4);
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(Buffer.concat([start, params]));
    await untilReady(1);
    const zero16 = Buffer.from([0, 0]);
    const bindBody = Buffer.concat([
      enc(''),
      enc('by_id'),
      zero16,
      Buffer.from([0, 1, 0, 0, 0, 1, 0x32]),
      zero16,
    ]);
    sock.write(
      Buffer.concat([
        msg('P', Buffer.concat([enc('by_id'), enc('select name from items where id = $1::int'), zero16])),
        msg('B', bindBody),
        msg('E', Buffer.concat([enc(''), Buffer.alloc(4)])),
        msg('S', Buffer.alloc(0)),
      ]),
    );
    await untilReady(2);
    sock.write(
      Buffer.concat([
        msg('B', bindBody),
        msg('E', Buffer.concat([enc(''), Buffer.alloc(4)])),
        msg('S', Buffer.alloc(0)),
      ]),
    );
    await untilReady(3);
    sock.end(msg('X', Buffer.alloc(0)));
    const conn = relay.connections[relay.connections.length - 1]!;
    await conn.closed;
    const calls = drive(spec, conn.chunks).calls;
    expect(
      calls.map((c) => `${c.method}|${c.resource}|${c.status}|${c.attributes?.['db.statement_name']}`),
    ).toEqual([
      'SELECT|select name from items where id = $1::int|00000|by_id',
      'SELECT|select name from items where id = $1::int|00000|by_id',
    ]);
    for (const c of calls) expect(c.endNs).toBeGreaterThan(c.startNs);
    saveSession(
      TESTDATA,
      'extended-query',
      'raw client: Parse/Bind/Execute/Sync with a named statement, then Bind/Execute again',
      conn.chunks,
      calls,
    );
  });
});
