import type { CaptureEvent, DataEvent } from '../capture/events.ts';

/* The --debug event printer of `understory sensor`. */

/** One line per event for --debug: time, kind, pid/tid, fd, tuple, direction, length and a payload preview. */
export function formatEvent(ev: CaptureEvent): string {
  const head = `${ev.tsNs} ${ev.kind} pid=${ev.pid} tid=${ev.tid}`;
  switch (ev.kind) {
    case 'data': {
      const t = ev.tuple;
      const flags = [ev.tls ? 'tls' : '', ev.truncated ? 'truncated' : '', ev.messageStart ? 'start' : '']
        .filter(Boolean)
        .join(',');
      return `${head} fd=${ev.fd} ${ev.syscall} ${ev.direction} ${t.transport} ${t.local.ip}:${t.local.port} ${
        ev.direction === 'egress' ? '->' : '<-'
      } ${t.remote.ip}:${t.remote.port} role=${ev.role} len=${ev.length}${flags ? ` [${flags}]` : ''} ${preview(ev)}`;
    }
    case 'connect':
    case 'accept':
    case 'close': {
      const t = ev.tuple;
      return `${head} fd=${ev.fd} ${t.transport} ${t.local.ip}:${t.local.port} ${t.remote.ip}:${t.remote.port} role=${ev.role} result=${ev.result}`;
    }
    default:
      return `${head} comm=${ev.comm}${ev.kind === 'fork' ? ` parent=${ev.parentPid} child=${ev.childPid}` : ''}${
        ev.kind === 'exit' ? ` status=${ev.exitCode}` : ''
      }`;
  }
}

/** Printable ASCII as is, everything else as '.', at most 80 characters. */
function preview(ev: DataEvent): string {
  const d = ev.data;
  let s = '';
  for (let i = 0; i < Math.min(d.length, 80); i++) {
    const c = d[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  }
  return JSON.stringify(s);
}

/**
 * With --pid, the kernel filters data and connection events but still reports every process's exec, fork and
 * exit (the sensor tracks them all); --debug shows only those of the chosen processes and their descendants
 * forked while it watches. No pids: everything is shown.
 */
export class DebugProcessFilter {
  private readonly pids: Set<number>;

  constructor(pids: readonly number[]) {
    this.pids = new Set(pids);
  }

  shows(ev: CaptureEvent): boolean {
    if (this.pids.size === 0) return true;
    switch (ev.kind) {
      case 'fork':
        if (!this.pids.has(ev.parentPid)) return false;
        this.pids.add(ev.childPid);
        return true;
      case 'exec':
        return this.pids.has(ev.pid);
      case 'exit':
        return this.pids.has(ev.pid);
      default:
        return true;
    }
  }
}
