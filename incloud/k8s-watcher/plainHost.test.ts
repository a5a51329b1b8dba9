import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { K8sMetadataClient } from './client/sensorClient.ts';
import { EntryLog } from './entryLog.ts';
import { PlainHostScanner, parseCgroup } from './plainHost.ts';
import { until } from './testing/shopCluster.ts';

const ID = 'a'.repeat(64);

describe('parseCgroup', () => {
  it.each([
    [`12:memory:/docker/${ID}\n0::/`, { containerId: ID, runtime: 'docker' }],
    [`0::/system.slice/docker-${ID}.scope`, { containerId: ID, runtime: 'docker' }],
    [
      `0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-${ID}.scope`,
      { containerId: ID, runtime: 'containerd' },
    ],
    [`0::/machine.slice/libpod-${ID}.scope/container`, { containerId: ID, runtime: 'podman' }],
    [`0::/kubepods.slice/kubepods-pod1.slice/crio-${ID}.scope`, { containerId: ID, runtime: 'cri-o' }],
    [`4:cpu:/kubepods/burstable/pod0c9e/${ID}`, { containerId: ID, runtime: 'kubernetes' }],
    ['1:name=systemd:/system.slice/nginx.service\n0::/', { unit: 'nginx' }],
    ['0::/user.slice/user-1000.slice/session-2.scope', {}],
    ['0::/', {}],
    ['', {}],
  ])('%s', (text, want) => {
    expect(parseCgroup(text)).toEqual(want);
  });
});

describe('plain-host scanner on a fake /proc tree', () => {
  const root = mkdtempSync(join(tmpdir(), 'understory-proc-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const proc = (pid: number, comm: string, cgroup: string, cmdline = `${comm}\0--flag\0`) => {
    mkdirSync(join(root, String(pid)), { recursive: true });
    writeFileSync(join(root, String(pid), 'comm'), `${comm}\n`);
    writeFileSync(join(root, String(pid), 'cgroup'), cgroup);
    writeFileSync(join(root, String(pid), 'cmdline'), cmdline);
  };

  it('publishes processes, containers and the host, and drops exited processes', async () => {
    proc(100, 'nginx', `0::/system.slice/docker-${ID}.scope\n`);
    proc(200, 'postgres', '0::/system.slice/postgresql@16-main.service\n');
    proc(300, 'bash', '0::/user.slice/user-1000.slice/session-2.scope\n');
    proc(2, 'kthreadd', '0::/\n', '');
    mkdirSync(join(root, 'self'), { recursive: true });
    const log = new EntryLog();
    const scanner = new PlainHostScanner(log, { procRoot: root, scanIntervalMs: 60_000, maxProcesses: 100 });
    await scanner.scan();
    expect(log.get('process/100')).toEqual({
      type: 'process',
      pid: 100,
      comm: 'nginx',
      containerId: ID,
      workload: { kind: 'Container', name: ID.slice(0, 12), namespace: '' },
    });
    expect(log.get(`container/${ID}`)).toMatchObject({ runtime: 'docker' });
    expect(log.get('process/200')).toMatchObject({
      workload: { kind: 'SystemdUnit', name: 'postgresql@16-main' },
    });
    expect(log.get('process/300')).toMatchObject({ workload: { kind: 'Process', name: 'bash' } });
    expect(log.get('process/2')).toBeUndefined();
    const rev = log.rev;
    await scanner.scan();
    expect(log.rev).toBe(rev); // nothing changed: no changes published
    rmSync(join(root, '300'), { recursive: true });
    rmSync(join(root, '100'), { recursive: true });
    await scanner.scan();
    expect(log.get('process/300')).toBeUndefined();
    expect(log.get(`container/${ID}`)).toBeUndefined();
    expect(log.rev).toBe(rev + 3);
  });

  it('reports an unreadable proc root in health instead of throwing', async () => {
    const scanner = new PlainHostScanner(new EntryLog(), {
      procRoot: join(root, 'missing'),
      scanIntervalMs: 60_000,
      maxProcesses: 10,
    });
    await scanner.scan();
    expect(scanner.lastError).toMatch(/cannot read .*missing/);
  });
});

describe('`understory k8s-watcher --plain-host` on this machine', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('serves this test process as a workload and stops cleanly on SIGTERM', async () => {
    // Only this command is registered: the full `understory` program loads every component (chdb
    // included), which takes tens of seconds on a loaded machine.
    const main =
      "import { Command } from 'commander'; import { register } from './cli/commands/k8s-watcher.ts';" +
      'const program = new Command(); register(program);' +
      "await program.parseAsync(process.argv.slice(1), { from: 'user' });";
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        main,
        '--',
        'k8s-watcher',
        '--plain-host',
        '--port',
        '0',
        '--admin-port',
        '0',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, UNDERSTORY_K8S_WATCHER_TOKEN: 'local-token' },
      },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await until('watcher serving', () => /"msg":"k8s-watcher serving"/.test(stderr), 60_000).catch((err) => {
      throw new Error(`${(err as Error).message}; stderr: ${stderr}`);
    });
    const port = Number(/"port":(\d+)/.exec(stderr)?.[1]);
    const client = new K8sMetadataClient({ url: `http://127.0.0.1:${port}`, token: 'local-token' });
    client.start();
    await client.ready();
    expect(client.lookupPid(process.pid)).toMatchObject({ type: 'process', pid: process.pid, comm: 'node' });
    expect(client.lookupPid(child.pid!)).toMatchObject({ type: 'process' });
    await client.stop();
    // the token is enforced even on loopback once configured
    const res = await fetch(`http://127.0.0.1:${port}/v1/snapshot`);
    expect(res.status).toBe(401);
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
  }, 90_000);
});
