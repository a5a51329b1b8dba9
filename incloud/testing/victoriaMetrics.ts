import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHttp } from './ports.ts';

/** One PromQL instant-query result. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * A private VictoriaMetrics single-node from Debian's `victoria-metrics` package, for tests and benchmarks:
 * temp data dir, free port, loopback only. `stop()` + `start()` restart it on the same port and data (to
 * test outages); `close()` stops it and removes the data. Queries see fresh data: `-search.latencyOffset=0s`
 * and `-search.disableCache`, and `flush()` makes just-written samples searchable.
 * Fails loudly when the binary is missing (scripts/setup-system.sh installs it).
 */
export class VictoriaMetricsProcess {
  private child: ChildProcess | undefined;
  readonly dataDir: string;
  port = 0;

  constructor(private readonly extraArgs: string[] = []) {
    this.dataDir = mkdtempSync(join(tmpdir(), 'understory-vm-'));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.child) return;
    if (this.port === 0) this.port = await freePort();
    const child = spawn(
      'victoria-metrics',
      [
        `-storageDataPath=${this.dataDir}`,
        `-httpListenAddr=127.0.0.1:${this.port}`,
        '-retentionPeriod=100y',
        '-search.latencyOffset=0s',
        '-search.disableCache',
        '-loggerLevel=ERROR',
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    let stderr = '';
    let spawnError: Error | undefined;
    child.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    child.once('error', (err) => {
      spawnError = err;
    });
    try {
      await waitForHttp(`${this.url}/health`, 30_000, () => child.exitCode === null && !spawnError);
    } catch (err) {
      await this.stop();
      throw new Error(
        `cannot start victoria-metrics: ${spawnError?.message ?? (err as Error).message}\n${stderr}`,
      );
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Makes recently ingested samples visible to queries. */
  async flush(): Promise<void> {
    const res = await fetch(`${this.url}/internal/force_flush`);
    if (!res.ok) throw new Error(`cannot flush victoria-metrics: HTTP ${res.status}`);
  }

  /** PromQL instant query at `timeS` (seconds; default now). */
  async query(expr: string, timeS?: number): Promise<PromSample[]> {
    const params = new URLSearchParams({ query: expr });
    if (timeS !== undefined) params.set('time', String(timeS));
    const res = await fetch(`${this.url}/api/v1/query?${params}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
    if (body.status !== 'success')
      throw new Error(`cannot query victoria-metrics for ${expr}: ${body.error}`);
    return body.data?.result ?? [];
  }

  /** Raw samples of the series matching `selector` (/api/v1/export), timestamps in ms. */
  async export(
    selector: string,
  ): Promise<{ metric: Record<string, string>; values: number[]; timestamps: number[] }[]> {
    const res = await fetch(`${this.url}/api/v1/export?${new URLSearchParams({ 'match[]': selector })}`);
    if (!res.ok) throw new Error(`cannot export ${selector} from victoria-metrics: HTTP ${res.status}`);
    return (await res.text())
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l));
  }
}
