/**
 * A Worker from a wrangler config, run locally for tests and benchmarks, in one of two runtimes:
 * - `wrangler-dev`: `wrangler dev` as developers and `understory up` run it (a ProxyWorker in its own workerd
 *   process sits in front of the worker's workerd and relays every request);
 * - `miniflare`: the same bundled worker and bindings on Miniflare directly (one workerd, no relay); see
 *   miniflareEdge.mjs. Both use the real workerd with local D1 and Durable Objects.
 * State (D1, Durable Objects) lives in `stateDir`; `stop()` kills the whole process group (workerd is a child).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, WRANGLER_OFFLINE_ENV } from '../../../cli/up/plan.ts';
import { freePort, waitForHttp } from '../../testing/ports.ts';

const run = promisify(execFile);
export const wranglerBin = join(REPO_ROOT, 'node_modules', '.bin', 'wrangler');
const miniflareRunner = join(REPO_ROOT, 'incloud', 'portal', 'testing', 'miniflareEdge.mjs');

export type WorkerRuntime = 'wrangler-dev' | 'miniflare';

export interface LocalWorker {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const wranglerEnv = () => ({ ...process.env, ...WRANGLER_OFFLINE_ENV, CI: 'true' });

/** Starts the worker of `config` and waits until `readyPath` answers. `vars` override its [vars]. */
export async function startLocalWorker(o: {
  config: string;
  stateDir: string;
  runtime: WorkerRuntime;
  vars?: Record<string, string>;
  readyPath: string;
}): Promise<LocalWorker> {
  const env = wranglerEnv();
  const vars = o.vars ?? {};
  const [port, inspector] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    }
  };
  try {
    if (o.runtime === 'miniflare') {
      const bundle = join(o.stateDir, 'bundle');
      await run(wranglerBin, ['deploy', '--dry-run', '--outdir', bundle, '--config', o.config], {
        env,
        cwd: REPO_ROOT,
      });
      const args = {
        // Named after the config's main module (index.ts -> index.js).
        script: join(bundle, readdirSync(bundle).find((f) => f.endsWith('.js')) ?? 'index.js'),
        config: o.config,
        persistRoot: join(o.stateDir, 'v3'),
        port,
        vars,
      };
      child = spawn(process.execPath, [miniflareRunner, JSON.stringify(args)], {
        env,
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      await readyLine(child);
    } else {
      child = spawn(
        wranglerBin,
        ['dev', '--config', o.config, '--persist-to', o.stateDir, '--ip', '127.0.0.1', '--port', String(port)]
          .concat(['--inspector-port', String(inspector)])
          .concat(Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]))
          .concat(['--show-interactive-dev-session=false']),
        { env, cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'ignore'], detached: true },
      );
    }
    await waitForHttp(url + o.readyPath, 45_000, () => child?.exitCode === null);
    return { url, port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Waits for the Miniflare runner's `ready` line (or its exit); its output is drained afterwards. */
async function readyLine(child: ChildProcess): Promise<void> {
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString('utf8')).slice(-2000);
  });
  const ready = new Promise<void>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (out.includes('ready ')) resolve();
    });
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`cannot start the worker on Miniflare: the runner exited with ${code}: ${err.trim()}`);
  });
  await Promise.race([ready, exited]);
  exited.catch(() => {});
}
