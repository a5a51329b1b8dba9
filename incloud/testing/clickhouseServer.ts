import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHttp } from './ports.ts';

/**
 * A private ClickHouse server from Debian's `clickhouse-server` package (18.16 on Debian 12) for tests of the
 * `@clickhouse/client` path: temp data dir, free ports, loopback only, stopped by `stop()`.
 * Fails loudly when the binary is missing (scripts/setup-system.sh installs it).
 */
export class ClickhouseServerProcess {
  private child: ChildProcess | undefined;
  private dir = '';
  url = '';

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'understory-chserver-'));
    const [http, tcp] = [await freePort(), await freePort()];
    writeFileSync(
      join(this.dir, 'config.xml'),
      `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${http}</http_port>
  <tcp_port>${tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${this.dir}/data/</path>
  <tmp_path>${this.dir}/tmp/</tmp_path>
  <format_schema_path>${this.dir}/format_schemas/</format_schema_path>
  <users_config>${this.dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>104857600</mark_cache_size>
</yandex>
`,
    );
    writeFileSync(
      join(this.dir, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`,
    );
    const child = spawn('clickhouse-server', [`--config-file=${join(this.dir, 'config.xml')}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    let stderr = '';
    let spawnError: Error | undefined;
    child.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    child.once('error', (err) => {
      spawnError = err;
    });
    this.url = `http://127.0.0.1:${http}`;
    try {
      await waitForHttp(`${this.url}/ping`, 30_000, () => child.exitCode === null && !spawnError);
    } catch (err) {
      await this.stop();
      throw new Error(
        `cannot start clickhouse-server: ${spawnError?.message ?? (err as Error).message}\n${stderr}`,
      );
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
