import { execFile } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startMariadb } from '../../testing/servers.ts';
import { saveSession } from '../testkit-b/sessionFixture.ts';
import { drive } from '../testkit-b/streamDriver.ts';
import { TcpRelay } from '../testkit-b/tcpRelay.ts';
import { spec } from './index.ts';

const TESTDATA = new URL('./testdata/', import.meta.url).pathname;

/** The real mariadb client and a raw binary-protocol client against a real MariaDB, through a recording relay. */
const run = promisify(execFile);
let server: RunningServer;
let relay: TcpRelay;
let port: number;

beforeAll(async () => {
  server = await startMariadb();
  relay = new TcpRelay(server.port);
  port = await relay.start();
});
afterAll(async () => {
  await relay?.stop();
  await server?.stop();
});

const brief = (i: number) =>
  drive(spec, relay.connections[i]!.chunks).calls.map(
    (c) => `${c.method}|${c.resource}|${c.status}|${c.attributes?.['db.response']}`,
  );

/** Sends one packet and resolves after the answer has gone quiet (the raw client does not parse replies). */
function exchange(sock: Socket, seq: number, payload: Buffer): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onData = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        sock.off('data', onData);
        resolve();
      }, 300);
    };
    sock.on('data', onData);
    // Commands without an answer (COM_STMT_CLOSE) resolve after the same quiet period.
    timer = setTimeout(onData, 0);
    const h = Buffer.from([payload.length & 255, (payload.length >> 8) & 255, payload.length >> 16, seq]);
    sock.write(Buffer.concat([h, payload]));
  });
}

describe('mysql live (MariaDB 10.11)', () => {
  it('sees the text protocol of the mariadb client: handshake, OK, result sets, errors', async () => {
    await run('mariadb', [
      '-h',
      '127.0.0.1',
      '-P',
      String(port),
      '-u',
      'app',
      '--skip-ssl',
      '-e',
      'create database shop; create table shop.items (id int, name text); insert into shop.items values (1, "a"), (2, "b"); select name from shop.items order by id; select * from shop.nope',
    ]).catch(() => undefined); // the last statement fails on purpose
    await relay.connections[0]!.closed;
    const calls = brief(0);
    expect(calls).toEqual(
      expect.arrayContaining([
        'CREATE|create database shop|0|OK',
        'CREATE|create table shop.items (id int, name text)|0|OK',
        'INSERT|insert into shop.items values (1, "a"), (2, "b")|0|OK',
        'SELECT|select name from shop.items order by id|0|RESULTSET',
        'SELECT|select * from shop.nope|1146|ERR',
      ]),
    );
    const select = drive(spec, relay.connections[0]!.chunks).calls.find((c) =>
      c.resource.startsWith('select name'),
    );
    expect(select?.attributes?.['db.rows']).toBe(2);
    expect(select?.attributes?.['db.user']).toBe('app');
    const chunks = relay.connections[0]!.chunks;
    saveSession(
      TESTDATA,
      'mariadb-client',
      'mariadb client (CLIENT_DEPRECATE_EOF) against MariaDB 10.11: DDL, insert, select, error',
      chunks,
      drive(spec, chunks).calls,
    );
  });

  it('sees COM_STMT_PREPARE / EXECUTE / CLOSE with statement ids, without CLIENT_DEPRECATE_EOF', async () => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve) => sock.once('data', () => resolve())); // the greeting
    const caps = 0x200 | 0x8000 | 0x80000 | 0x8 | 0x1 | 0x4; // PROTOCOL_41 SECURE_CONNECTION PLUGIN_AUTH CONNECT_WITH_DB ...
    const login = Buffer.concat([
      Buffer.from([caps & 255, (caps >> 8) & 255, (caps >> 16) & 255, 0, 0, 0, 0, 1, 33]),
      Buffer.alloc(23),
      Buffer.from('raw\0'),
      Buffer.from([0]),
      Buffer.from('shop\0mysql_native_password\0'),
    ]);
    await exchange(sock, 1, login);
    await exchange(
      sock,
      0,
      Buffer.concat([Buffer.from([0x16]), Buffer.from('select name from items where id = ?')]),
    );
    // statement id 1 on a fresh connection; one LONGLONG parameter = 2
    const execute = Buffer.from([0x17, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 8, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    await exchange(sock, 0, execute);
    await exchange(sock, 0, Buffer.from([0x19, 1, 0, 0, 0]));
    await exchange(sock, 0, Buffer.from([0x0e]));
    sock.end();
    const conn = relay.connections[relay.connections.length - 1]!;
    await conn.closed;
    expect(brief(relay.connections.length - 1)).toEqual([
      'PREPARE|select name from items where id = ?|0|PREPARED',
      'SELECT|select name from items where id = ?|0|RESULTSET',
      'PING||0|OK',
    ]);
    const calls = drive(spec, conn.chunks).calls;
    expect(calls[1]?.attributes?.['db.statement_id']).toBe(1);
    expect(calls[1]?.attributes?.['db.rows']).toBe(1);
    saveSession(
      TESTDATA,
      'binary-protocol',
      'raw client without CLIENT_DEPRECATE_EOF: COM_STMT_PREPARE/EXECUTE/CLOSE, COM_PING',
      conn.chunks,
      calls,
    );
  });

  it('follows the compressed protocol of `mariadb --compress` (zlib and uncompressed small packets)', async () => {
    const before = relay.connections.length;
    await run('mariadb', [
      '-h',
      '127.0.0.1',
      '-P',
      String(port),
      '-u',
      'zip',
      '--skip-ssl',
      '--compress',
      '-e',
      "select repeat('compressible ', 200) as big; select 1; select * from nowhere.t",
    ]).catch(() => undefined); // the last statement fails on purpose
    const conn = relay.connections[before]!;
    await conn.closed;
    const calls = brief(before);
    expect(calls).toEqual(
      expect.arrayContaining([
        "SELECT|select repeat('compressible ', 200) as big|0|RESULTSET",
        'SELECT|select 1|0|RESULTSET',
        'SELECT|select * from nowhere.t|1146|ERR',
      ]),
    );
    // The big row really travelled compressed: its text is not in the captured bytes.
    const wire = Buffer.concat(conn.chunks.filter((c) => c.type === 'response').map((c) => c.data));
    expect(wire.length).toBeGreaterThan(100);
    expect(wire.includes('compressible compressible')).toBe(false);
    const all = drive(spec, conn.chunks).calls;
    expect(all.find((c) => c.resource.startsWith('select repeat'))?.attributes?.['db.rows']).toBe(1);
    saveSession(
      TESTDATA,
      'compressed',
      'mariadb --compress against MariaDB 10.11: a compressed result set, a small uncompressed one, an error',
      conn.chunks,
      all,
    );
  });
});
