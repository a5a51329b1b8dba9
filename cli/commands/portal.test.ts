import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeEdge } from '../../incloud/portal/testing/fakeEdge.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

describe('understory portal', () => {
  const edge = new FakeEdge('ust_cit_cli-test');
  afterAll(() => edge.stop());

  it('dials the edge with the token from the environment, serves, and exits cleanly on SIGTERM', async () => {
    await edge.start();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/main.ts',
        'portal',
        '--edge-url',
        edge.url,
        '--vm-url',
        'http://127.0.0.1:9',
        '--admin-port',
        '0',
      ],
      {
        cwd: REPO,
        env: { ...process.env, UNDERSTORY_INSTALL_TOKEN: 'ust_cit_cli-test' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    try {
      await edge.waitForHellos(1);
      expect(edge.hellos[0]?.capabilities).toContain('prom');
      // VictoriaMetrics is not there: the request fails cleanly, the portal stays up.
      await expect(edge.request('prom', { path: '/api/v1/labels', method: 'GET' })).rejects.toMatchObject({
        code: 'unavailable',
      });
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect(stderr).toContain('tunnel open');
  }, 30_000);
});
