import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { effectiveCapabilities, missingCapabilities } from '../../sensor/capture/errors.ts';
import { SENSOR_NODE_FLAGS } from '../../sensor/nodeFlags.ts';
import type { ProcessSpec } from './supervisor.ts';

/**
 * The sensor as `understory up` runs it: the real `understory sensor` process pointed at up's own
 * metrics-ingester (remote write), OTLP collector (spans, logs) and k8s-watcher (plain-host workload
 * names), all on loopback where they need no token. It captures every process of the machine except up's
 * own components (so the UI shows the user's services, not the observability stack talking to itself), or
 * only `pids` when given.
 */
export interface UpSensorOptions {
  adminPort: number;
  /** Capture only these processes (and what they fork); empty: every process but up's own. */
  pids: number[];
  /** OpenSSL uprobes need CAP_SYS_ADMIN; without it the sensor runs with --no-tls. */
  tls: boolean;
  /** Pids of up's running components (and their children), read just before each (re)start. */
  excludePids: () => number[];
}

/** Why the sensor cannot run here, or undefined when it can; `tls` says whether TLS uprobes can attach. */
export function sensorPrivilege(
  have: Set<string> = effectiveCapabilities(),
): { ok: true; tls: boolean } | { ok: false; reason: string } {
  const missing = missingCapabilities(have, false);
  if (missing.length > 0)
    return {
      ok: false,
      reason: `it needs root, or CAP_BPF and CAP_PERFMON (missing here: ${missing.join(', ')})`,
    };
  return { ok: true, tls: have.has('CAP_SYS_ADMIN') };
}

export function sensorSpec(
  o: UpSensorOptions,
  ports: { ingesterPort: number; collectorPort: number; watcherPort: number },
  dataDir: string,
  launcher: string,
): ProcessSpec {
  const base = [
    // The sensor's Node flags (young generation size, V8 work on the JavaScript thread): sensor/nodeFlags.ts.
    ...SENSOR_NODE_FLAGS,
    launcher,
    'sensor',
    '--remote-write-url',
    `http://127.0.0.1:${ports.ingesterPort}/api/v1/write`,
    '--otlp-url',
    `http://127.0.0.1:${ports.collectorPort}`,
    '--k8s-watcher-url',
    `http://127.0.0.1:${ports.watcherPort}`,
    '--data-dir',
    dataDir,
    '--admin-host',
    '127.0.0.1',
    '--admin-port',
    String(o.adminPort),
    '--stats-interval',
    '60',
    ...(o.tls ? [] : ['--no-tls']),
    ...o.pids.flatMap((p) => ['--pid', String(p)]),
  ];
  const spec: ProcessSpec = {
    name: 'sensor',
    command: process.execPath,
    args: base,
    healthUrl: `http://127.0.0.1:${o.adminPort}/healthz`,
    url: `http://127.0.0.1:${o.adminPort}/metrics`,
    startTimeoutMs: 90_000,
    // The components' pids change when the supervisor restarts one: read them again before each start.
    prepare: async () => {
      const exclude = o.pids.length > 0 ? [] : o.excludePids();
      spec.args = exclude.length > 0 ? [...base, '--exclude-pid', exclude.join(',')] : base;
    },
  };
  return spec;
}

/** `roots` and every process descending from them now (from /proc/<pid>/stat's parent pid). */
export function processTree(roots: readonly number[], proc = '/proc'): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync(proc);
  } catch {
    return [...roots];
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(join(proc, name, 'stat'), 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so parse after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out = new Set<number>();
  const todo = [...roots];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (out.has(pid)) continue;
    out.add(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return [...out].sort((a, b) => a - b);
}
