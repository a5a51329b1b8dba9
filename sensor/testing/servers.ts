import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../lib/net.ts';

export { freePort };

/**
 * Private instances of real servers for tests: each on a free port in its own temporary directory, with
 * `stop()` that kills it and removes the directory. Binaries come from Debian (scripts/setup-system.sh).
 * Every start waits until the server answers and fails loudly (with the server's output) if it does not.
 */
export const execFileP = promisify(execFile);

export interface RunningServer {
  port: number;
  /** The server process (the one that owns the listening socket). */
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `understory-${prefix}-`));
}

/**
 * Spawns a long-running server, keeping its output for error messages. `group`: the command is a script
 * that runs the real server as its child (RabbitMQ); in its own process group, stopping signals the group.
 */
function spawnServer(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; group?: boolean } = {},
): ChildProcess & { output: () => string; group: boolean } {
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env === undefined ? undefined : { ...process.env, ...opts.env },
    detached: opts.group ?? false,
  });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (e) => keep(Buffer.from(String(e))));
  return Object.assign(child, { output: () => out, group: opts.group ?? false });
}

/** Retries `probe` until it resolves or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T>,
  timeoutMs = 30_000,
  detail = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await probe();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(
    `cannot start ${what}: not ready after ${timeoutMs} ms (${(last as Error)?.message}) ${detail()}`,
  );
}

async function killAndWait(
  child: ChildProcess & { group?: boolean },
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  const send = (s: NodeJS.Signals) => {
    try {
      if (child.group === true && child.pid !== undefined) process.kill(-child.pid, s);
      else child.kill(s);
    } catch {
      // already gone
    }
  };
  send(signal);
  const t = setTimeout(() => send('SIGKILL'), child.group === true ? 10_000 : 5000);
  await done;
  clearTimeout(t);
}

function tcpProbe(port: number): () => Promise<void> {
  return () =>
    new Promise((resolve, reject) => {
      import('node:net').then(({ connect }) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve();
        });
        s.once('error', reject);
      }, reject);
    });
}

/** redis-server without persistence. Client: `redis-cli -p <port>`. */
export async function startRedis(): Promise<RunningServer> {
  const port = await freePort();
  const dir = tempDir('redis');
  const child = spawnServer('redis-server', [
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
  await waitFor(
    'redis-server',
    () => execFileP('redis-cli', ['-p', String(port), 'PING']),
    20_000,
    child.output,
  );
  return {
    port,
    pid: child.pid!,
    dir,
    stop: async () => {
      await killAndWait(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** nats-server on loopback. */
export async function startNats(): Promise<RunningServer> {
  const port = await freePort();
  const child = spawnServer('nats-server', ['-a', '127.0.0.1', '-p', String(port)]);
  await waitFor('nats-server', exitedOr(child, tcpProbe(port)), 20_000, child.output);
  return { port, pid: child.pid!, dir: '', stop: () => killAndWait(child) };
}

/**
 * RabbitMQ with its own node name, ports, data and log directories (the Debian wrapper would switch to the
 * `rabbitmq` user and the system directories, so the real start script is called directly), and a private
 * epmd (Erlang's port mapper, which erl starts as a daemon) so none outlives the test. It is slow to boot
 * (tens of seconds on a loaded machine): start it once per test file. `pid` is the start script's.
 */
export async function startRabbitmq(): Promise<RunningServer> {
  const script = '/usr/lib/rabbitmq/bin/rabbitmq-server';
  if (!existsSync(script))
    throw new Error(
      `cannot start rabbitmq: ${script} is not installed (scripts/setup-system.sh installs it)`,
    );
  const port = await freePort();
  const distPort = await freePort();
  const epmdPort = await freePort();
  const dir = tempDir('rabbitmq');
  mkdirSync(join(dir, 'home'), { recursive: true });
  writeFileSync(join(dir, 'enabled_plugins'), '[].');
  const child = spawnServer(script, [], {
    group: true,
    env: {
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
    },
  });
  const stop = async () => {
    await killAndWait(child);
    spawnSync('epmd', ['-port', String(epmdPort), '-kill'], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('rabbitmq-server', exitedOr(child, tcpProbe(port)), 120_000, child.output);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, pid: child.pid!, dir, stop };
}

/** A probe that fails for good (no more waiting) once the server process has exited. */
function exitedOr(child: ChildProcess & { output: () => string }, probe: () => Promise<void>) {
  return async () => {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${child.output()}`);
    await probe();
  };
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A user to run servers that refuse root (PostgreSQL): `postgres` if present, else nobody. */
async function unprivilegedUser(): Promise<string> {
  try {
    await execFileP('id', ['postgres']);
    return 'postgres';
  } catch {
    return 'nobody';
  }
}

/** PostgreSQL 15: initdb (trust auth) + postgres on 127.0.0.1. Client: `psql -h 127.0.0.1 -p <port> -U postgres`. */
export async function startPostgres(): Promise<RunningServer> {
  const port = await freePort();
  const dir = tempDir('pg');
  const user = await unprivilegedUser();
  await execFileP('chown', [user, dir]);
  const asUser = (cmd: string, args: string[]) => [
    '--reuid',
    user,
    '--regid',
    user === 'nobody' ? 'nogroup' : user,
    '--init-groups',
    cmd,
    ...args,
  ];
  await execFileP(
    'setpriv',
    asUser(`${PG_BIN}/initdb`, [
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]),
  );
  const child = spawnServer(
    'setpriv',
    asUser(`${PG_BIN}/postgres`, [
      '-D',
      join(dir, 'data'),
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '-k',
      dir,
      '-c',
      'fsync=off',
    ]),
  );
  await waitFor(
    'postgres',
    () => execFileP(`${PG_BIN}/pg_isready`, ['-h', '127.0.0.1', '-p', String(port)]),
    30_000,
    child.output,
  );
  return {
    port,
    pid: child.pid!,
    dir,
    stop: async () => {
      await killAndWait(child, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** MariaDB with grant tables skipped (no auth). Client: `mariadb -h 127.0.0.1 -P <port> -u root`. */
export async function startMariadb(): Promise<RunningServer> {
  const port = await freePort();
  const dir = tempDir('mariadb');
  const data = join(dir, 'data');
  await execFileP(
    'mariadb-install-db',
    [
      `--datadir=${data}`,
      '--user=root',
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--no-defaults',
    ],
    { timeout: 60_000 },
  );
  const child = spawnServer('mariadbd', [
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${join(dir, 'sock')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--user=root',
    '--skip-grant-tables',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=16M',
    `--pid-file=${join(dir, 'pid')}`,
    '--skip-log-bin',
    '--innodb-log-file-size=4M',
  ]);
  await waitFor(
    'mariadbd',
    () => execFileP('mariadb', ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-e', 'SELECT 1']),
    60_000,
    child.output,
  );
  return {
    port,
    pid: child.pid!,
    dir,
    stop: async () => {
      await killAndWait(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a Node script in a child process; resolves with its pid once it prints a line starting with READY. */
export async function startNodeScript(
  source: string,
  args: string[] = [],
): Promise<{ pid: number; firstLine: string; child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawnServer(process.execPath, ['-e', source, ...args]);
  const firstLine = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const onData = (b: Buffer) => {
      buf += b.toString();
      const line = buf.split('\n').find((l) => l.startsWith('READY'));
      if (line) {
        child.stdout?.off('data', onData);
        resolve(line);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`cannot start node script: exited ${code}: ${child.output()}`)),
    );
    setTimeout(
      () => reject(new Error(`cannot start node script: no READY line in 20 s: ${child.output()}`)),
      20_000,
    ).unref();
  });
  return { pid: child.pid!, firstLine, child, stop: () => killAndWait(child) };
}

/** A Node HTTP server (child process) answering every request with `body` as JSON. */
export async function startNodeHttp(
  body: string,
  tls?: { key: string; cert: string },
): Promise<RunningServer> {
  const source = `
    const mod = require(${JSON.stringify(tls ? 'node:https' : 'node:http')});
    const opts = ${tls ? `{ key: ${JSON.stringify(tls.key)}, cert: ${JSON.stringify(tls.cert)} }` : '{}'};
    const body = ${JSON.stringify(body)};
    const s = mod.createServer(opts, (req, res) => {
      let n = 0; req.on('data', (d) => { n += d.length; });
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
    });
    s.keepAliveTimeout = 60000;
    s.listen(0, '127.0.0.1', () => console.log('READY ' + s.address().port));`;
  const s = await startNodeScript(source);
  return { port: Number(s.firstLine.split(' ')[1]), pid: s.pid, dir: '', stop: s.stop };
}

/** A self-signed certificate for 127.0.0.1/localhost made by openssl, in `dir`. */
export async function selfSignedCert(
  dir: string,
): Promise<{ key: string; cert: string; keyPath: string; certPath: string }> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await execFileP('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  const { readFileSync } = await import('node:fs');
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), keyPath, certPath };
}

/**
 * `openssl s_server` in its plain mode, where it calls SSL_read/SSL_write itself (its -www mode goes
 * through an SSL BIO that bypasses those functions). It prints what it reads; after each request's
 * header block this helper writes `response` to its stdin, which it sends to the client.
 */
export async function startOpensslServer(
  cert: { keyPath: string; certPath: string },
  response: string,
): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn(
    'openssl',
    ['s_server', '-accept', `127.0.0.1:${port}`, '-key', cert.keyPath, '-cert', cert.certPath, '-quiet'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let pending = '';
  let errors = '';
  child.stderr.on('data', (b: Buffer) => {
    errors = (errors + b.toString()).slice(-4000);
  });
  child.stdout.on('data', (b: Buffer) => {
    pending += b.toString('latin1');
    if (pending.includes('\r\n\r\n')) {
      pending = '';
      child.stdin.write(response);
    }
  });
  await waitFor('openssl s_server', tcpProbe(port), 20_000, () => errors);
  return { port, pid: child.pid!, dir: '', stop: () => killAndWait(child) };
}

/**
 * nginx with a generated config on a free port returning `body` for every request (benchmarks); with
 * `http2` it speaks cleartext HTTP/2 with prior knowledge (`curl --http2-prior-knowledge`, h2load) and
 * answers `/missing` with 404.
 */
export async function startNginx(
  body: string,
  workers = 1,
  opts: { http2?: boolean } = {},
): Promise<RunningServer> {
  const port = await freePort();
  const dir = tempDir('nginx');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port}${opts.http2 ? ' http2' : ''};
    location / { default_type text/plain; return 200 '${body}'; }
    location = /missing { return 404; }
  }
}
`,
  );
  const child = spawnServer('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir]);
  await waitFor('nginx', tcpProbe(port), 20_000, child.output);
  return {
    port,
    pid: child.pid!,
    dir,
    stop: async () => {
      await killAndWait(child, 'SIGQUIT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
