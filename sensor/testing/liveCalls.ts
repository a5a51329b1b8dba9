import { spawn } from 'node:child_process';
import { type CaptureOptions, SensorCapture } from '../capture/capture.ts';
import { LiveSource } from '../live/liveSource.ts';
import type { ApiCall } from '../protocols/contract.ts';
import { protocolSpecs } from '../protocols/registry.ts';

/**
 * Test support for live protocol tests: the real eBPF capture restricted to the processes this test forks
 * from now on (so parallel test files never see each other's traffic), fed through the real LiveSource and
 * tracker. Keeps every API call and the fork tree (from the capture's own fork events) so tests can check
 * which process made a call. Start it BEFORE starting the servers and clients to observe.
 */
export class LiveCalls {
  readonly calls: ApiCall[] = [];
  readonly source: LiveSource;
  readonly capture: SensorCapture;
  /** child pid -> parent pid, from fork events. */
  private readonly parents = new Map<number, number>();

  constructor(options: Partial<Omit<CaptureOptions, 'onBatch'>> = {}) {
    this.source = new LiveSource({ specs: protocolSpecs, onCall: (c) => this.calls.push(c) });
    this.capture = new SensorCapture({
      includePids: [process.pid],
      tls: false,
      ...options,
      onBatch: (batch) => {
        for (const ev of batch) {
          if (ev.kind === 'fork') this.parents.set(ev.childPid, ev.parentPid);
          this.source.event(ev);
        }
      },
    });
  }

  start(): Promise<void> {
    return this.capture.start();
  }

  async stop(): Promise<void> {
    await this.capture.shutdown();
    this.source.flush();
  }

  /** True if `pid` is `ancestor` or was forked (transitively) from it while the capture ran. */
  descends(pid: number | undefined, ancestor: number): boolean {
    for (let p = pid, hops = 0; p !== undefined && hops < 64; p = this.parents.get(p), hops++) {
      if (p === ancestor) return true;
    }
    return false;
  }

  /** Calls of one protocol as `role method resource status` strings. */
  seen(protocol: string | readonly string[], filter: (c: ApiCall) => boolean = () => true): string[] {
    const protocols = typeof protocol === 'string' ? [protocol] : protocol;
    return this.calls
      .filter((c) => protocols.includes(c.protocol) && filter(c))
      .map((c) => `${c.role} ${c.method} ${c.resource} ${c.status}`);
  }

  /** Waits until `pred` holds on the calls seen so far; fails listing what was seen. */
  async waitFor(what: string, pred: (calls: ApiCall[]) => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pred(this.calls)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`live capture: ${what} not seen within ${timeoutMs} ms; calls:\n${this.describe()}`);
  }

  describe(): string {
    return this.calls
      .slice(-60)
      .map(
        (c) => `${c.protocol} ${c.role} pid=${c.pid} ${c.method} ${JSON.stringify(c.resource)} ${c.status}`,
      )
      .join('\n');
  }
}

export interface ClientRun {
  pid: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client program to its end (as a child of this process, so the capture sees it); fails on a bad exit. */
export function runClient(
  cmd: string,
  args: string[],
  opts: { input?: string; allowFailure?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ClientRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    // A client that exits without reading its input (redis-cli with the command in its arguments) closes the
    // pipe: the write then fails with EPIPE, which is not the test's failure (the exit code says that).
    child.stdin.on('error', () => {});
    if (opts.input === undefined) child.stdin.end();
    else child.stdin.end(opts.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const run = { pid: child.pid!, code, stdout, stderr };
      if (code !== 0 && !opts.allowFailure)
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve(run);
    });
  });
}

/** Runs a Node.js script (source text) to its end with the repository's modules resolvable. */
export function runNode(
  source: string,
  opts: { timeoutMs?: number; allowFailure?: boolean } = {},
): Promise<ClientRun> {
  return runClient(process.execPath, ['-e', source], opts);
}
