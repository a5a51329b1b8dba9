import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './freePort.ts';

/**
 * Private instances of real servers from Debian for live protocol tests: a temporary directory, a free
 * port, stopped (and the directory removed) by `stop()`. A server that cannot start throws with its log.
 */
export interface RunningServer {
  port: number;
  dir: string;
  stop(): Promise<void>;
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function spawnLogged(
  cmd: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
  group = false,
): { child: ChildProcess; log: () => string } {
  // `group`: the command is a script that runs the real server as its child (RabbitMQ): in its own process
  // group, stopping can signal the whole group rather than only the script.
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    detached: group,
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (e) => keep(Buffer.from(String(e))));
  return { child, log: () => out };
}

async function stopChild(child: ChildProcess, group = false): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const signal = (s: NodeJS.Signals) => {
    try {
      if (group && child.pid !== undefined) process.kill(-child.pid, s);
      else child.kill(s);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function startDaemon(
  name: string,
  cmd: string,
  args: (port: number, dir: string) => string[],
  opts: { timeoutMs?: number; env?: (port: number, dir: string) => NodeJS.ProcessEnv; group?: boolean } = {},
): Promise<RunningServer> {
  const installed = cmd.includes('/') ? existsSync(cmd) : spawnSync('which', [cmd]).status === 0;
  if (!installed)
    throw new Error(`cannot start ${name}: ${cmd} is not installed (scripts/setup-system.sh installs it)`);
  const dir = mkdtempSync(join(tmpdir(), `understory-${name}-`));
  const port = await freePort();
  const { child, log } = spawnLogged(cmd, args(port, dir), opts.env?.(port, dir), opts.group);
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error('exited');
        return portOpen(port);
      },
      opts.timeoutMs ?? 20_000,
      `cannot start ${name}: not listening on ${port}`,
    );
  } catch (e) {
    await stopChild(child, opts.group);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot start ${name} (${cmd}): ${(e as Error).message}\n${log()}`);
  }
  return {
    port,
    dir,
    stop: async () => {
      await stopChild(child, opts.group);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function startRedis(): Promise<RunningServer> {
  return startDaemon('redis', 'redis-server', (port, dir) => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ]);
}

export function startNats(): Promise<RunningServer> {
  return startDaemon('nats', 'nats-server', (port) => ['-a', '127.0.0.1', '-p', String(port)]);
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** PostgreSQL refuses to run as root: the cluster belongs to the `postgres` user (created by the package). */
export async function startPostgres(): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'understory-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  try {
    execFileSync(
      'setpriv',
      [
        '--reuid',
        String(uid),
        '--regid',
        String(gid),
        '--init-groups',
        `${PG_BIN}/initdb`,
        '-D',
        data,
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
      ],
      {
        stdio: 'pipe',
      },
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot initialise PostgreSQL: ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
  }
  const inner = await startDaemon(
    'postgres',
    'setpriv',
    (port) => [
      '--reuid',
      String(uid),
      '--regid',
      String(gid),
      '--init-groups',
      `${PG_BIN}/postgres`,
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      'fsync=off',
    ],
    { timeoutMs: 30_000 },
  );
  return {
    port: inner.port,
    dir,
    stop: async () => {
      await inner.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** MariaDB with a fresh data directory; grant tables are skipped so any user logs in without a password. */
export async function startMariadb(): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'understory-mariadb-'));
  const data = join(dir, 'data');
  try {
    execFileSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${data}`,
        '--user=root',
        '--skip-test-db',
        '--auth-root-authentication-method=normal',
      ],
      { stdio: 'pipe' },
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot initialise MariaDB: ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
  }
  const inner = await startDaemon(
    'mariadb',
    'mariadbd',
    (port) => [
      '--no-defaults',
      `--datadir=${data}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dir, 'sock')}`,
      `--pid-file=${join(dir, 'pid')}`,
      '--user=root',
      '--skip-grant-tables',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
    ],
    { timeoutMs: 30_000 },
  );
  return {
    port: inner.port,
    dir,
    stop: async () => {
      await inner.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * RabbitMQ with its own node name, ports, data and log directories (the Debian wrapper would switch to the
 * `rabbitmq` user and the system directories, so the real start script is called directly). It is slow to
 * boot (tens of seconds on a loaded machine): start it once per test file.
 */
export async function startRabbitmq(): Promise<RunningServer> {
  const distPort = await freePort();
  // A private epmd (Erlang's port mapper, which erl starts as a daemon) so none outlives the test.
  const epmdPort = await freePort();
  const inner = await startDaemon('rabbitmq', '/usr/lib/rabbitmq/bin/rabbitmq-server', () => [], {
    timeoutMs: 120_000,
    group: true,
    env: (port, dir) => {
      mkdirSync(join(dir, 'home'), { recursive: true });
      writeFileSync(join(dir, 'enabled_plugins'), '[].');
      return {
        HOME: join(dir, 'home'),
        RABBITMQ_NODENAME: `understory-${port}@localhost`,
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(port),
        RABBITMQ_DIST_PORT: String(distPort),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
        RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
        RABBITMQ_PID_FILE: join(dir, 'pid'),
        ERL_EPMD_PORT: String(epmdPort),
      };
    },
  });
  return {
    ...inner,
    stop: async () => {
      await inner.stop();
      spawnSync('epmd', ['-port', String(epmdPort), '-kill'], { stdio: 'ignore' });
    },
  };
}
