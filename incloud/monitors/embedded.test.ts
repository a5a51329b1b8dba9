import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../cli/up/plan.ts';
import { freePort, waitForHttp } from '../../lib/net.ts';
import { VictoriaMetricsProcess } from '../testing/victoriaMetrics.ts';
import { TargetSecretKeys } from './targetSecrets.ts';
import { until } from './testing/stack.ts';
import { monitorsPlan } from './upPlan.ts';

/**
 * The shape `understory up` runs: `understory incloud` with the monitors flags of monitorsPlan() (the evaluator
 * on the process's own chdb) and vmalert started from the plan's spec. Checks the wiring: the evaluator writes
 * the rules file, reloads the real vmalert, listens for its alerts, and reports healthy.
 */
let vm: VictoriaMetricsProcess;
let dir: string;
let adminPort: number;
let incloud: ChildProcess | undefined;
let vmalert: ChildProcess | undefined;
let plan: ReturnType<typeof monitorsPlan>;

async function stop(child: ChildProcess | undefined) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

beforeAll(async () => {
  vm = new VictoriaMetricsProcess();
  await vm.start();
  dir = mkdtempSync(join(tmpdir(), 'understory-monitors-up-'));
  adminPort = await freePort();
  plan = monitorsPlan({ dataDir: dir, vmUrl: vm.url, adminPort });
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  await plan.prepareIncloud(); // `up` runs it before the in-cluster process: it generates the secrets key
  incloud = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bin', 'understory.mjs'),
      'incloud',
      ...['--data-dir', dir, '--admin-port', String(adminPort), '--vm-url', vm.url],
      ...['--collector-port', String(ports[0]), '--ingester-port', String(ports[1])],
      ...['--watcher-port', String(ports[2]), ...plan.incloudArgs],
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  await waitForHttp(`http://127.0.0.1:${adminPort}/healthz`, { timeoutMs: 60_000, intervalMs: 200 });
  await plan.vmalert.prepare?.();
  vmalert = spawn(plan.vmalert.command, plan.vmalert.args, { stdio: ['ignore', 'ignore', 'ignore'] });
  await waitForHttp(plan.vmalert.healthUrl!, { timeoutMs: 30_000, intervalMs: 200 });
}, 120_000);

afterAll(async () => {
  await stop(vmalert);
  await stop(incloud);
  await vm?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('monitors in understory up', () => {
  it('runs the evaluator in incloud against the real vmalert from the plan', async () => {
    const health = async () =>
      (await (await fetch(`http://127.0.0.1:${adminPort}/healthz`)).json()) as {
        ok: boolean;
        components: Record<string, { ok: boolean; detail?: string }>;
      };
    // The first syncs ran before vmalert was up; a later one reloads it and clears the error.
    await until(
      'the evaluator to reach vmalert',
      async () => {
        const m = (await health()).components.monitors;
        return m?.ok === true && !/vmalert/.test(m.detail ?? '');
      },
      30_000,
    );
    expect((await health()).ok).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'vmalert', 'rules.json'), 'utf8'))).toEqual({ groups: [] });
    const alertsPort = Number(plan.incloudArgs[plan.incloudArgs.indexOf('--alerts-port') + 1]);
    const posted = await fetch(`http://127.0.0.1:${alertsPort}/api/v2/alerts`, {
      method: 'POST',
      body: '[]',
    });
    expect(posted.status).toBe(200);
    expect(
      (await fetch(`http://127.0.0.1:${alertsPort}/api/v2/alerts`, { method: 'POST', body: '{' })).status,
    ).toBe(400);
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    expect(metrics).toMatch(/monitors_rule_reloads_total\{result="ok"[^}]*\} [1-9]/);
  }, 60_000);

  it('refuses a key file it cannot read as a usage error naming the file', async () => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'understory.mjs'), 'incloud', '--data-dir', join(dir, 'unused')],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, UNDERSTORY_MONITORS_SECRETS_KEY_FILE: join(dir, 'missing.key') },
      },
    );
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    expect(stderr).toContain(`cannot read the monitors secrets key file ${join(dir, 'missing.key')}: ENOENT`);
    expect(stderr).not.toMatch(/TargetSecretError|\.ts:\d+/); // a message, not a stack trace
  }, 60_000);

  it('generates the target secrets key once, readable by its owner only, and keeps it', async () => {
    const keyFile = plan.incloudArgs[plan.incloudArgs.indexOf('--secrets-key-file') + 1]!;
    expect(keyFile).toBe(join(dir, 'monitors', 'secrets.key'));
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, 'utf8');
    expect(TargetSecretKeys.fromFile(keyFile).ids).toHaveLength(1);
    await plan.prepareIncloud();
    expect(readFileSync(keyFile, 'utf8')).toBe(key);
  });
});
