import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiCall } from '../protocols/contract.ts';
import { LiveCalls, runClient } from '../testing/liveCalls.ts';
import { type RunningServer, startMariadb, startPostgres, startRedis } from '../testing/servers.ts';

/**
 * Real database servers and their real command-line clients, observed through the eBPF capture and the
 * live source (capture restricted to this test's children). Each call must be seen twice: by the client
 * process (role client, its pid) and by the server process that answered (role server, a pid forked from
 * the server), with the method, resource and status the test caused. Needs root: fails without it.
 */
const live = new LiveCalls();
let pg: RunningServer;
let maria: RunningServer;
let redis: RunningServer;

beforeAll(async () => {
  await live.start();
  [pg, maria, redis] = await Promise.all([startPostgres(), startMariadb(), startRedis()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), maria?.stop(), redis?.stop()]);
  await live.stop();
});

/** The two views of a call: the client's (pid `clientPid`) and the server's (its process tree). */
function sides(clientPid: number, serverPid: number): [(c: ApiCall) => boolean, (c: ApiCall) => boolean] {
  return [
    (c) => c.pid === clientPid && c.role === 'client',
    (c) => c.role === 'server' && live.descends(c.pid, serverPid),
  ];
}

/** Both views of the same calls: client ones of `clientPid`, server ones from the server's process tree. */
function bothSides(protocol: string, clientPid: number, serverPid: number, keys: string[]) {
  const [onClient, onServer] = sides(clientPid, serverPid);
  const client = live.seen(protocol, onClient);
  const server = live.seen(protocol, onServer);
  const wanted = (role: string) => keys.map((k) => `${role} ${k}`);
  return { client, server, wanted };
}

async function expectBothSides(protocol: string, clientPid: number, serverPid: number, keys: string[]) {
  await live.waitFor(`${protocol} calls of pid ${clientPid}`, () => {
    const { client, server, wanted } = bothSides(protocol, clientPid, serverPid, keys);
    return (
      wanted('client').every((k) => client.includes(k)) && wanted('server').every((k) => server.includes(k))
    );
  });
  const { client, server, wanted } = bothSides(protocol, clientPid, serverPid, keys);
  expect(client).toEqual(expect.arrayContaining(wanted('client')));
  expect(server).toEqual(expect.arrayContaining(wanted('server')));
}

/** The call of `resource` on each side, once, as a success from a reply the capture copied only in part. */
function expectTruncatedBothSides(
  protocol: string,
  clientPid: number,
  serverPid: number,
  resource: string,
  ok: string,
  method?: string,
) {
  for (const side of sides(clientPid, serverPid)) {
    const calls = live.calls.filter(
      (c) =>
        c.protocol === protocol &&
        side(c) &&
        c.resource === resource &&
        (method === undefined || c.method === method),
    );
    expect(
      calls.map((c) => `${c.status} ${c.attributes?.['db.response.truncated']}`),
      live.describe(),
    ).toEqual([`${ok} true`]);
  }
}

/** psql against the test server, one `-c` per statement (each sent as its own simple query). */
function psqlRun(...statements: string[]) {
  const target = ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-v', 'ON_ERROR_STOP=0'];
  return runClient('psql', [...target, ...statements.flatMap((q) => ['-c', q])], { allowFailure: true });
}

/** The mariadb client against the test server, running `sql` (statements separated by `;`). */
function mariadbRun(sql: string) {
  const target = ['-h', '127.0.0.1', '-P', String(maria.port), '-u', 'root', '--skip-ssl'];
  return runClient('mariadb', [...target, '-e', sql], { allowFailure: true });
}

/** The call on each side whose resource starts with `prefix` (a statement cut where the copy stopped). */
async function expectBigRequestBothSides(
  protocol: string,
  clientPid: number,
  serverPid: number,
  prefix: string,
  status: string,
) {
  const found = () =>
    sides(clientPid, serverPid).map((side) =>
      live.calls.filter((c) => c.protocol === protocol && side(c) && c.resource.startsWith(prefix)),
    );
  await live.waitFor(`${protocol} ${prefix}... on both sides`, () => found().every((f) => f.length > 0));
  for (const calls of found()) {
    expect(calls.map((c) => c.status)).toEqual([status]);
    // The statement as far as it was copied: no fill zeros in it.
    expect(calls[0]!.resource).not.toContain('\0');
  }
}

describe('live: databases through the eBPF source', () => {
  it('PostgreSQL (psql): statements, SQLSTATE of an error', async () => {
    const psql = await psqlRun(
      'CREATE TABLE items (id int PRIMARY KEY, name text)',
      "INSERT INTO items VALUES (1, 'one'), (2, 'two')",
      'SELECT name FROM items WHERE id = 2',
      'SELECT * FROM no_such_table',
    );
    expect(psql.stdout).toContain('two');
    await expectBothSides('postgres', psql.pid, pg.pid, [
      'CREATE CREATE TABLE items (id int PRIMARY KEY, name text) 00000',
      "INSERT INSERT INTO items VALUES (1, 'one'), (2, 'two') 00000",
      'SELECT SELECT name FROM items WHERE id = 2 00000',
      'SELECT SELECT * FROM no_such_table 42P01',
    ]);
  });

  it('PostgreSQL: a result larger than the capture cap does not shift later replies', async () => {
    // psql sends each -c on its own; the 20 KB reply is copied only in part (msgStartCap 1024), so its
    // CommandComplete is lost: the source restarts the stream and the next queries keep their own status,
    // and the big query still makes its call on both sides (a made-up end: a truncated success).
    const gaps = live.source.stats.gaps;
    const psql = await psqlRun(
      "SELECT repeat('x', 20000) AS big",
      'SELECT 42 AS answer',
      'SELECT * FROM still_missing',
    );
    expect(psql.stdout).toContain('42');
    await expectBothSides('postgres', psql.pid, pg.pid, [
      'SELECT SELECT 42 AS answer 00000',
      'SELECT SELECT * FROM still_missing 42P01',
    ]);
    expectTruncatedBothSides('postgres', psql.pid, pg.pid, "SELECT repeat('x', 20000) AS big", '00000');
    expect(live.source.stats.gaps).toBeGreaterThan(gaps);
  });

  it('PostgreSQL: a 20 KB INSERT (a request larger than the copied prefix) keeps its call', async () => {
    const psql = await psqlRun(
      'CREATE TABLE big_rows (id int, body text)',
      `INSERT INTO big_rows VALUES (1, '${'v'.repeat(20_000)}')`,
      'SELECT 44 AS answer',
    );
    expect(psql.stdout).toContain('44');
    await expectBothSides('postgres', psql.pid, pg.pid, ['SELECT SELECT 44 AS answer 00000']);
    await expectBigRequestBothSides(
      'postgres',
      psql.pid,
      pg.pid,
      "INSERT INTO big_rows VALUES (1, 'vvv",
      '00000',
    );
  });

  it('MariaDB (mariadb client): queries and an error code', async () => {
    const run = await mariadbRun(
      'CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, name TEXT); ' +
        "INSERT INTO shop.items VALUES (7, 'seven'); SELECT name FROM shop.items WHERE id = 7; " +
        'SELECT * FROM shop.nothing',
    );
    expect(run.stdout).toContain('seven');
    await expectBothSides('mysql', run.pid, maria.pid, [
      "INSERT INSERT INTO shop.items VALUES (7, 'seven') 0",
      'SELECT SELECT name FROM shop.items WHERE id = 7 0',
      'SELECT SELECT * FROM shop.nothing 1146',
    ]);
  });

  it('MariaDB: a result set larger than the capture cap keeps its call and the next reply its own', async () => {
    const run = await mariadbRun(
      "SELECT REPEAT('y', 20000) AS big; SELECT 43 AS answer; SELECT * FROM shop.still_missing",
    );
    expect(run.stdout).toContain('43');
    await expectBothSides('mysql', run.pid, maria.pid, [
      'SELECT SELECT 43 AS answer 0',
      'SELECT SELECT * FROM shop.still_missing 1146',
    ]);
    expectTruncatedBothSides('mysql', run.pid, maria.pid, "SELECT REPEAT('y', 20000) AS big", '0');
  });

  it('MariaDB: a 20 KB INSERT keeps its call and the next reply its own', async () => {
    const run = await mariadbRun(
      `INSERT INTO shop.items VALUES (9, '${'w'.repeat(20_000)}'); SELECT 45 AS answer`,
    );
    expect(run.stdout).toContain('45');
    await expectBothSides('mysql', run.pid, maria.pid, ['SELECT SELECT 45 AS answer 0']);
    await expectBigRequestBothSides(
      'mysql',
      run.pid,
      maria.pid,
      "INSERT INTO shop.items VALUES (9, 'www",
      '0',
    );
  });

  it('Redis (redis-cli): commands, replies and an error', async () => {
    const cli = (...args: string[]) => runClient('redis-cli', ['-p', String(redis.port), ...args]);
    const set = await cli('SET', 'greeting', 'hello');
    const get = await cli('GET', 'greeting');
    expect(get.stdout).toContain('hello');
    const wrong = await cli('LPUSH', 'greeting', 'x');
    await expectBothSides('redis', set.pid, redis.pid, ['SET greeting OK']);
    await expectBothSides('redis', get.pid, redis.pid, ['GET greeting OK']);
    await expectBothSides('redis', wrong.pid, redis.pid, ['LPUSH greeting WRONGTYPE']);
    // A 20 KB value: its reply is copied only in part, and the GET still makes its call on both sides.
    const setBig = await runClient('redis-cli', ['-p', String(redis.port), '-x', 'SET', 'big'], {
      input: 'z'.repeat(20_000),
    });
    // The 20 KB SET is a request larger than the copied prefix: filled, it keeps its call too.
    await expectBothSides('redis', setBig.pid, redis.pid, ['SET big OK']);
    const big = await cli('GET', 'big');
    expect(big.stdout.length).toBeGreaterThan(20_000);
    await expectBothSides('redis', big.pid, redis.pid, ['GET big OK']);
    expectTruncatedBothSides('redis', big.pid, redis.pid, 'big', 'OK', 'GET');
  });
});
