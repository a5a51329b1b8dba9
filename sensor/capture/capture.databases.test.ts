import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureRecorder, onPort, type RecordedEvent } from '../testing/captureRecorder.ts';
import { type RunningServer, startMariadb, startPostgres, startRedis } from '../testing/servers.ts';

// Real clients against private PostgreSQL, Redis and MariaDB servers, captured by the real eBPF program.
const ports = new Set<number>();
const recorder = new CaptureRecorder((ev) => [...ports].some((p) => onPort(ev, p)));
let pg: RunningServer;
let redis: RunningServer;
let maria: RunningServer;

beforeAll(async () => {
  await recorder.start();
  [pg, redis, maria] = await Promise.all([startPostgres(), startRedis(), startMariadb()]);
  for (const s of [pg, redis, maria]) ports.add(s.port);
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), redis?.stop(), maria?.stop()]);
  await recorder.stop();
});

function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ pid: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve({ pid: child.pid!, stdout: out }) : reject(new Error(`${cmd}: ${code} ${out}`)),
    );
  });
}

/**
 * Client and server halves of one TCP connection to `port` made by `clientPid`. Clients often exit
 * without close(), so completion is "the server sent `serverMarker` and the client read it".
 */
async function conversation(clientPid: number, port: number, serverMarker: string) {
  const connect = () =>
    recorder.events.find((e) => e.pid === clientPid && e.kind === 'connect' && e.tuple!.remote.port === port);
  await recorder.waitFor(`connect by ${clientPid}`, () => connect() !== undefined);
  const clientPort = connect()!.tuple!.local.port;
  const sameConn = (e: RecordedEvent) =>
    e.tuple!.local.port === clientPort || e.tuple!.remote.port === clientPort;
  const serverSide = (e: RecordedEvent) =>
    e.pid !== clientPid && e.tuple?.local.port === port && e.tuple.remote.port === clientPort;
  const clientGot = () =>
    recorder.bytes((e) => e.pid === clientPid && e.direction === 'ingress' && sameConn(e));
  const serverSent = () => recorder.bytes((e) => serverSide(e) && e.direction === 'egress');
  await recorder.waitFor(
    `${JSON.stringify(serverMarker)} on both sides`,
    () => clientGot().includes(serverMarker) && serverSent().includes(serverMarker),
  );
  const text = (pred: (e: RecordedEvent) => boolean) => recorder.bytes((e) => pred(e));
  const clientSent = () => text((e) => e.pid === clientPid && e.direction === 'egress' && sameConn(e));
  const serverGot = () => text((e) => serverSide(e) && e.direction === 'ingress');
  // The client may still send a goodbye (PostgreSQL's Terminate) that the server reads a moment later.
  await recorder
    .waitFor('both sides to agree', () => serverGot() === clientSent() && clientGot() === serverSent(), 3000)
    .catch(() => {}); // the assertions below report the difference
  return {
    clientPort,
    connect: connect()!,
    connects: recorder.events.filter((e) => e.pid === clientPid && e.kind === 'connect').length,
    clientSent: clientSent(),
    clientGot: clientGot(),
    serverGot: serverGot(),
    serverSent: serverSent(),
    serverEvents: recorder.events.filter((e) => e.kind === 'data' && serverSide(e)),
  };
}

describe('capture of database protocols', () => {
  it('PostgreSQL: psql query and result, both sides', async () => {
    const psql = await run(
      'psql',
      ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-At', '-c', 'SELECT 42 AS answer'],
      {
        PGSSLMODE: 'disable',
      },
    );
    expect(psql.stdout.trim()).toBe('42');
    const c = await conversation(psql.pid, pg.port, 'SELECT 1\0');
    expect(c.clientSent).toContain('user\0postgres\0');
    expect(c.clientSent).toContain('Q\0\0\0\x18SELECT 42 AS answer\0');
    expect(c.serverGot).toBe(c.clientSent);
    expect(c.serverSent).toContain('answer'); // RowDescription
    expect(c.serverSent).toContain('SELECT 1\0'); // CommandComplete
    expect(c.clientGot).toBe(c.serverSent);
    // PostgreSQL serves each connection from a forked backend: the server pid is not the postmaster's
    expect(c.serverEvents.every((e) => e.role === 'server' && e.pid !== pg.pid)).toBe(true);
  });

  it('Redis: redis-cli SET and GET, both sides', async () => {
    const cli = await run('redis-cli', ['-p', String(redis.port), 'SET', 'understory:k', 'v42']);
    expect(cli.stdout.trim()).toBe('OK');
    const c = await conversation(cli.pid, redis.port, '+OK\r\n');
    expect(c.clientSent).toContain('*3\r\n$3\r\nSET\r\n$12\r\nunderstory:k\r\n$3\r\nv42\r\n');
    expect(c.serverGot).toBe(c.clientSent);
    expect(c.serverSent).toContain('+OK\r\n');
    expect(c.clientGot).toBe(c.serverSent);
    expect(c.connect.role).toBe('client');
    expect(c.connects).toBe(1); // hiredis calls connect() twice; the second one is not a new connection
    expect(c.serverEvents.every((e) => e.pid === redis.pid && e.role === 'server')).toBe(true);
    const get = await run('redis-cli', ['-p', String(redis.port), 'GET', 'understory:k']);
    const g = await conversation(get.pid, redis.port, '$3\r\nv42\r\n');
    expect(g.serverSent).toContain('$3\r\nv42\r\n');
  });

  it('MariaDB: greeting, COM_QUERY and result set, both sides', async () => {
    const cli = await run('mariadb', [
      '-h',
      '127.0.0.1',
      '-P',
      String(maria.port),
      '-u',
      'root',
      '--skip-ssl',
      '-N',
      '-e',
      'SELECT 42 AS answer',
    ]);
    expect(cli.stdout.trim()).toBe('42');
    const c = await conversation(cli.pid, maria.port, '42');
    expect(c.serverSent).toMatch(/MariaDB/); // handshake greeting carries the server version
    expect(c.clientSent).toContain('\x03SELECT 42 AS answer'); // COM_QUERY
    expect(c.serverGot).toBe(c.clientSent);
    expect(c.clientGot).toBe(c.serverSent);
    expect(c.serverEvents.every((e) => e.pid === maria.pid && e.role === 'server')).toBe(true);
  });
});
