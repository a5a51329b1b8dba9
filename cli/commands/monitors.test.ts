import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ChdbStore } from '../../incloud/clickhouse/chdbStore.ts';
import { migrate } from '../../incloud/clickhouse/migrations.ts';
import { generateKeyFileContent } from '../../incloud/monitors/targetSecrets.ts';
import { freePort, waitForHttp } from '../../lib/net.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

describe('understory monitors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understory-monitors-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the rules file, serves the receiver, stays healthy without vmalert and exits on SIGTERM', async () => {
    const chDir = join(dir, 'ch');
    const store = new ChdbStore(chDir);
    store.open();
    await migrate(store);
    await store.close();
    const [adminPort, alertsPort] = [await freePort(), await freePort()];
    const rulesFile = join(dir, 'rules', 'rules.json');
    const keyFile = join(dir, 'secrets.key');
    writeFileSync(keyFile, generateKeyFileContent());
    const child = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', 'cli/main.ts', 'monitors', '--clickhouse', chDir],
        ...[
          '--vm-url',
          'http://127.0.0.1:9',
          '--vmalert-url',
          'http://127.0.0.1:9',
          '--rules-file',
          rulesFile,
        ],
        ...['--alerts-port', String(alertsPort), '--admin-port', String(adminPort)],
      ],
      {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, UNDERSTORY_MONITORS_SECRETS_KEY_FILE: keyFile },
      },
    );
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    try {
      await waitForHttp(`http://127.0.0.1:${adminPort}/healthz`, { timeoutMs: 30_000, intervalMs: 200 });
      const health = (await (await fetch(`http://127.0.0.1:${adminPort}/healthz`)).json()) as {
        components: { monitors: { ok: boolean; detail: string } };
      };
      expect(health.components.monitors.ok).toBe(true);
      expect(health.components.monitors.detail).toMatch(/cannot update vmalert/);
      expect(existsSync(rulesFile)).toBe(true);
      const res = await fetch(`http://127.0.0.1:${alertsPort}/api/v2/alerts`, { method: 'POST', body: '[]' });
      expect(res.status).toBe(200);
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited, stderr).toBe(0);
    }
  }, 60_000);

  it.each([
    [[], 'required option', /--secrets-key-file <file>' not specified/],
    [
      ['--secrets-key-file', '/nonexistent/key'],
      'a missing file',
      /cannot read the monitors secrets key file/,
    ],
  ])(
    'refuses to start without a readable secrets key (%#: %s)',
    async (extra, _what, message) => {
      const child = spawn(
        process.execPath,
        [
          ...['--import', 'tsx', 'cli/main.ts', 'monitors', '--clickhouse', join(dir, 'unused')],
          ...['--vm-url', 'http://127.0.0.1:9', '--vmalert-url', 'http://127.0.0.1:9'],
          ...['--rules-file', join(dir, 'unused.json'), ...extra],
        ],
        { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(code).not.toBe(0);
      expect(stderr).toMatch(message);
    },
    60_000,
  );
});
