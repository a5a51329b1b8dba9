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
