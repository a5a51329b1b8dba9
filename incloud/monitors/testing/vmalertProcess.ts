import { type ChildProcess, spawn } from 'node:child_process';
import { freePort, waitForHttp } from '../../testing/ports.ts';
import { vmalertArgs } from '../vmalertArgs.ts';

/**
 * A private vmalert from Debian's `victoria-metrics` package for tests: free port, loopback, the given rules
 * file (which must exist). Fails loudly when the binary is missing (scripts/setup-system.sh installs it).
 */
export class VmalertProcess {
  private child: ChildProcess | undefined;
  port = 0;
  stderr = '';

  constructor(
    private readonly o: { rulesFile: string; datasourceUrl: string; notifierUrl: string; interval: string },
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const { command, args } = vmalertArgs({
      rulesFile: this.o.rulesFile,
      datasourceUrl: this.o.datasourceUrl,
      notifierUrl: this.o.notifierUrl,
      listenAddr: `127.0.0.1:${this.port}`,
      evaluationInterval: this.o.interval,
    });
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let spawnError: Error | undefined;
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString()).slice(-8000);
    });
    child.once('error', (err) => {
      spawnError = err;
    });
    try {
      await waitForHttp(`${this.url}/health`, 30_000, () => child.exitCode === null && !spawnError);
    } catch (err) {
      await this.stop();
      throw new Error(
        `cannot start vmalert: ${spawnError?.message ?? (err as Error).message}\n${this.stderr}`,
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
}
