import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runClient } from '../testing/liveCalls.ts';
import { type RunningServer, startNodeHttp } from '../testing/servers.ts';

/**
 * `understory sensor` as a user runs it: --debug-calls prints the API calls of the captured process as JSON
 * lines; bad configuration (flag, variable or file) exits with status 2 and a message naming the problem
 * before anything is loaded. Needs root for the capture.
 */
const repo = new URL('../../', import.meta.url).pathname;
let server: RunningServer | undefined;
let sensor: ChildProcess | undefined;

afterAll(async () => {
  if (sensor && sensor.exitCode === null) {
    sensor.kill('SIGTERM');
    await new Promise((r) => sensor!.once('exit', r));
  }
  await server?.stop();
});

function cli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['bin/understory.mjs', 'sensor', ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

async function exitOf(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, stderr };
}

describe('understory sensor (CLI)', () => {
  it('--debug-calls prints one JSON line per API call of the captured process', async () => {
    server = await startNodeHttp('{"ok":true}');
    sensor = cli(['--debug-calls', '--pid', String(server.pid), '--no-admin', '--stats-interval', '0'], {
      UNDERSTORY_NO_TLS: 'true',
    });
    let stdout = '';
    let stderr = '';
    sensor.stdout!.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    sensor.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const deadline = Date.now() + 60_000;
    while (!stderr.includes('capture started')) {
      if (Date.now() > deadline || sensor.exitCode !== null)
        throw new Error(`sensor did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = `http://127.0.0.1:${server.port}`;
    await runClient('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-o',
      '/dev/null',
      `${url}/orders/17?x=1`,
      `${url}/health`,
    ]);
    while (stdout.split('\n').filter(Boolean).length < 2) {
      if (Date.now() > deadline) throw new Error(`no calls printed: ${stdout} ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const calls = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(calls.map((c) => [c.pid, c.protocol, c.role, c.method, c.resource, c.status])).toEqual([
      [server.pid, 'http', 'server', 'GET', '/orders/17?x=1', '200'],
      [server.pid, 'http', 'server', 'GET', '/health', '200'],
    ]);
    expect(calls[0]).toMatchObject({ server: `127.0.0.1:${server.port}`, error: false });
    expect(typeof calls[0]!.duration_ns).toBe('number');
    sensor.kill('SIGTERM');
    expect(await new Promise((r) => sensor!.once('exit', r))).toBe(0);
    expect(stderr).toMatch(/sensor: events=\d+ .*calls=2 http=2/);
  });

  // One case per source of a value; every kind of file problem is covered by sensorConfig.test.ts.
  it('refuses bad flags and variables with status 2 before loading anything', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--data-cap', 'lots'], {}, /--data-cap.*not a non-negative integer: lots/],
      [
        [],
        { UNDERSTORY_REMOTE_WRITE_URL: 'not a url' },
        /remoteWriteUrl \(from UNDERSTORY_REMOTE_WRITE_URL\): Invalid URL/,
      ],
      [
        [],
        { UNDERSTORY_DEBUG_CALLS: 'sometimes' },
        /cannot read UNDERSTORY_DEBUG_CALLS: "sometimes" is not a boolean/,
      ],
    ];
    const results = await Promise.all(cases.map(([args, env]) => exitOf(cli(args, env))));
    for (const [i, r] of results.entries()) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(cases[i]![2]);
      expect(r.stderr).not.toContain('capture started');
    }
  }, 150_000);

  it('--check-config: the ingest token from the file or UNDERSTORY_INGEST_TOKEN, shown only as "set"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'understory-sensor-cli-'));
    const token = 'tok-7f3a9c1e5b';
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    const run = async (args: string[], env: Record<string, string>) => {
      const child = cli(['--check-config', ...args], env);
      let stdout = '';
      child.stdout!.on('data', (b: Buffer) => {
        stdout += b.toString();
      });
      const { code, stderr } = await exitOf(child);
      return { code, stdout, stderr };
    };
    const remote = ['--remote-write-url', 'http://ingester.example:9091/api/v1/write'];
    const [fromEnv, none, bad] = await Promise.all([
      run(remote, { UNDERSTORY_INGEST_TOKEN: token }),
      run(remote, {}),
      run(['--ingest-token-file', empty], {}),
    ]);
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(JSON.parse(fromEnv.stdout).sensor.ingestToken).toBe('set');
    expect(fromEnv.stdout + fromEnv.stderr).not.toContain(token);
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout).sensor.ingestToken).toBe('none');
    expect(none.stderr).toMatch(/no ingest token .*ingester\.example:9091.* will refuse the data/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot use ingest token file .*empty: it is empty/);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('--check-config: load shedding on ring drops by default, with a CPU budget, or off (flag, variable, file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'understory-sensor-cli-'));
    const config = join(dir, 'sensor.json');
    writeFileSync(config, JSON.stringify({ sensor: { loadShedding: false } }));
    const shedding = async (args: string[], env: Record<string, string> = {}) => {
      const child = cli(['--check-config', ...args], env);
      let stdout = '';
      child.stdout!.on('data', (b: Buffer) => {
        stdout += b.toString();
      });
      const { code, stderr } = await exitOf(child);
      expect(code, stderr).toBe(0);
      return (JSON.parse(stdout) as { sensor: { loadShedding: string } }).sensor.loadShedding;
    };
    const got = await Promise.all([
      shedding(['--cpu-limit', '0']),
      shedding(['--cpu-limit', '0.5']),
      shedding(['--no-load-shedding']),
      shedding(['--cpu-limit', '0'], { UNDERSTORY_NO_LOAD_SHEDDING: 'true' }),
      shedding(['--cpu-limit', '0'], { UNDERSTORY_NO_LOAD_SHEDDING: 'false' }),
      shedding(['--cpu-limit', '0', '--config', config]),
    ]);
    expect(got).toEqual(['ring drops', 'cpu budget and ring drops', 'off', 'off', 'ring drops', 'off']);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
