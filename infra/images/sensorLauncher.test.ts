import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SENSOR_NODE_FLAGS } from '../../sensor/nodeFlags.ts';

// The sensor image's `understory` is infra/images/sensor-launcher.sh. No container engine runs here, so the
// launcher runs as it is, against this checkout (UNDERSTORY_ROOT), with a `node` on PATH that records its
// arguments before handing over to the real one.
const HERE = fileURLToPath(new URL('./', import.meta.url));
const ROOT = resolve(HERE, '../..');
const LAUNCHER = join(HERE, 'sensor-launcher.sh');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function runLauncher(args: string[]): Promise<{ code: number; out: string; nodeArgs: string[] }> {
  const bin = mkdtempSync(join(tmpdir(), 'understory-launcher-'));
  dirs.push(bin);
  const log = join(bin, 'node-args');
  writeFileSync(
    join(bin, 'node'),
    `#!/bin/sh\nprintf '%s\\n' "$@" > '${log}'\nexec '${process.execPath}' "$@"\n`,
  );
  chmodSync(join(bin, 'node'), 0o755);
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      [LAUNCHER, ...args],
      { env: { PATH: `${bin}:/usr/bin:/bin`, UNDERSTORY_ROOT: ROOT }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const nodeArgs = readFileSync(log, 'utf8').split('\n').slice(0, -1);
        resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr, nodeArgs });
      },
    );
  });
}

describe('the sensor image launcher', () => {
  it('runs understory under exactly the flags of sensor/nodeFlags.ts', async () => {
    const r = await runLauncher(['sensor', '--help']);
    expect(r.out).toContain('Usage: understory sensor');
    expect(r.code).toBe(0);
    expect(r.nodeArgs).toEqual([...SENSOR_NODE_FLAGS, join(ROOT, 'bin/understory.mjs'), 'sensor', '--help']);
  });

  it('passes a failing command status through', async () => {
    const r = await runLauncher(['no-such-command']);
    expect(r.code).not.toBe(0);
  });

  it('is what the image installs as understory, and the build context ships it', () => {
    const dockerfile = readFileSync(join(HERE, 'sensor.Dockerfile'), 'utf8');
    expect(dockerfile).toContain(
      'COPY --chmod=755 infra/images/sensor-launcher.sh /usr/local/bin/understory\n',
    );
    expect(dockerfile).toMatch(/^ENTRYPOINT \["understory"\]$/m);
    const ignore = readFileSync(join(HERE, 'sensor.Dockerfile.dockerignore'), 'utf8').split('\n');
    // The later exception wins over the `infra` exclusion.
    expect(ignore.indexOf('!infra/images/sensor-launcher.sh')).toBeGreaterThan(ignore.indexOf('infra'));
  });
});
