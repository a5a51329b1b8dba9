import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { waitForHttp } from '../../lib/net.ts';

/** One child process that `understory up` runs and watches. */
export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Polled until it answers 2xx; the component counts as up only then. */
  healthUrl: string;
  /** What the user opens or points clients at (shown in the table). */
  url: string;
  startTimeoutMs?: number;
  /** One-off preparation run before each start (e.g. applying migrations). */
  prepare?: () => Promise<void>;
  /** Run after each start once healthy (e.g. bootstrapping an account); a failure fails the start. */
  ready?: () => Promise<void>;
}

export interface RunningProcess {
  spec: ProcessSpec;
  pid: number;
  restarts: number;
  log: string;
}

const STOP_GRACE_MS = 10_000;
const MAX_RESTARTS = 5;

/**
 * Starts child processes in order, waits for each to be healthy, restarts one that dies (with backoff, at
 * most MAX_RESTARTS times), and stops them all: SIGTERM to each process group, SIGKILL after a grace period.
 *
 * Children are spawned `detached` so each leads its own process group: stopping the group also stops what
 * the child started itself (wrangler's workerd). With util-linux `setpriv --pdeathsig` the kernel also sends
 * SIGTERM to a child if `up` itself is killed without a chance to clean up.
 */
export class Supervisor {
  private readonly running = new Map<
    string,
    { child: ChildProcess; info: RunningProcess; log: WriteStream }
  >();
  private stopping = false;
  /** Components given up on with `drop` (never restarted). */
  private readonly dropped = new Set<string>();
  private readonly usePdeathsig = existsSync('/usr/bin/setpriv');

  constructor(
    private readonly logDir: string,
    private readonly onEvent: (msg: string) => void = () => {},
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  processes(): RunningProcess[] {
    return [...this.running.values()].map((r) => r.info);
  }

  async start(spec: ProcessSpec, restarts = 0): Promise<RunningProcess> {
    await spec.prepare?.();
    const logPath = join(this.logDir, `${spec.name}.log`);
    const log = createWriteStream(logPath, { flags: 'a' });
    log.write(`\n--- ${new Date().toISOString()} starting ${spec.command} ${spec.args.join(' ')}\n`);
    const [cmd, args] = this.usePdeathsig
      ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGTERM', '--', spec.command, ...spec.args]]
      : [spec.command, spec.args];
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...spec.env },
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    if (child.pid === undefined) {
      throw new Error(`cannot start ${spec.name}: ${spec.command} did not spawn`);
    }
    const info: RunningProcess = { spec, pid: child.pid, restarts, log: logPath };
    this.running.set(spec.name, { child, info, log });

    let exited: string | undefined;
    child.once('error', (err) => {
      exited = err.message;
    });
    child.once('exit', (code, signal) => {
      exited = `exited with ${signal ?? `code ${code}`}`;
      log.write(`--- ${new Date().toISOString()} ${exited}\n`);
      void this.onExit(spec, restarts, exited);
    });

    try {
      await waitForHttp(spec.healthUrl, {
        timeoutMs: spec.startTimeoutMs ?? 30_000,
        abortReason: () => exited,
      });
    } catch (err) {
      throw new Error(`cannot start ${spec.name}: ${(err as Error).message}\n${tail(logPath, 15)}`);
    }
    await spec.ready?.();
    return info;
  }

  private async onExit(spec: ProcessSpec, restarts: number, why: string): Promise<void> {
    const entry = this.running.get(spec.name);
    if (this.stopping || this.dropped.has(spec.name) || !entry || entry.info.restarts !== restarts) return;
    this.running.delete(spec.name);
    entry.log.end();
    if (restarts >= MAX_RESTARTS) {
      this.onEvent(`${spec.name} ${why}; gave up after ${restarts} restarts (log: ${entry.info.log})`);
      return;
    }
    const delay = Math.min(30_000, 1000 * 2 ** restarts);
    this.onEvent(`${spec.name} ${why}; restarting in ${delay} ms (log: ${entry.info.log})`);
    await new Promise((r) => setTimeout(r, delay));
    if (this.stopping || this.dropped.has(spec.name)) return;
    try {
      await this.start(spec, restarts + 1);
      this.onEvent(`${spec.name} is back (pid ${this.running.get(spec.name)?.info.pid})`);
    } catch (err) {
      this.onEvent((err as Error).message);
    }
  }

  /** Stops one component for good (an optional one that failed to start): no restart follows. */
  async drop(name: string): Promise<void> {
    this.dropped.add(name);
    const entry = this.running.get(name);
    if (!entry) return;
    this.running.delete(name);
    await stopGroup(entry.child);
    entry.log.end();
  }

  /** Last resort when the user insists: SIGKILL every child's process group now. */
  killAll(): void {
    this.stopping = true;
    for (const { child } of this.running.values()) {
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    }
  }

  /** Stops everything in reverse start order. Safe to call twice. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const [name, entry] of [...this.running.entries()].reverse()) {
      await stopGroup(entry.child);
      entry.log.end();
      this.running.delete(name);
    }
  }
}

async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const gone = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  signalGroup(pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), STOP_GRACE_MS);
  await gone;
  clearTimeout(timer);
  // The leader is gone; anything it left in its group goes too. Wait until the kernel has removed them so
  // callers can rely on "stopped" meaning gone (ports free, data directory unlocked).
  signalGroup(pid, 'SIGKILL');
  const deadline = Date.now() + 5000;
  while (groupExists(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: the group is already empty.
  }
}

function tail(path: string, lines: number): string {
  try {
    const all = readFileSync(path, 'utf8').trimEnd().split('\n');
    return all
      .slice(-lines)
      .map((l) => `  | ${l}`)
      .join('\n');
  } catch {
    return '';
  }
}
