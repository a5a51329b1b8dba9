import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Ports tried below the ephemeral range: [start - QUIET_SPAN, start). */
const QUIET_SPAN = 12_000;

/** The first port of the kernel's ephemeral range (outgoing connections and port-0 listeners use it). */
export function ephemeralStart(path = '/proc/sys/net/ipv4/ip_local_port_range'): number {
  try {
    const first = Number(readFileSync(path, 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 1024 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A TCP port that was free a moment ago on `host`, for a server started right after (tests, local
 * defaults). Picked at random just below the ephemeral range, not by the OS: a port-0 pick lies inside
 * that range, where any outgoing connection can take it before the caller binds it (CI lost runs to that
 * race). Still racy against other listeners; falls back to the OS's pick when nothing below is free.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const end = ephemeralStart();
  const start = Math.max(1025, end - QUIET_SPAN);
  for (let i = 0; i < 100 && end > start; i++) {
    const port = start + Math.floor(Math.random() * (end - start));
    if (await portIsFree(port, host)) return port;
  }
  return osPickedPort(host);
}

function osPickedPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** True when nothing listens on host:port (we can bind it ourselves). */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Stop waiting early (e.g. the process died): return a reason to give up. */
  abortReason?: () => string | undefined;
}

/** Polls `url` until it answers 2xx. Throws with the last error when the time is up or `abortReason` fires. */
export async function waitForHttp(url: string, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const reason = opts.abortReason?.();
    if (reason) throw new Error(`cannot reach ${url}: ${reason}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
  throw new Error(`cannot reach ${url} within ${opts.timeoutMs} ms: ${last}`);
}
