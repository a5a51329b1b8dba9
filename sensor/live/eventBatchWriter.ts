import { type CaptureEvent, EventBatch, type SyscallName } from '../capture/events.ts';
import { L, RECORD_PREFIX } from '../capture/layout.ts';

/**
 * Encodes event objects into one capture batch exactly as the addon hands them over (a record prefix,
 * then the capture.h record, padded to 8 bytes), so tests and benchmarks can drive the batch path of
 * consumers (`LiveSource`'s cursor walk) with the same events they give the object path. IPv4 and
 * IPv4-mapped tuples only; that is all the decoder's consumers need here.
 */
const KIND_CODE: Record<CaptureEvent['kind'], number> = {
  data: 1,
  connect: 2,
  accept: 3,
  close: 4,
  exec: 5,
  exit: 6,
  fork: 7,
};
const SYSCALL_CODE: Partial<Record<SyscallName, number>> = {
  read: 1,
  write: 2,
  readv: 3,
  writev: 4,
  recvfrom: 5,
  sendto: 6,
  recvmsg: 7,
  sendmsg: 8,
  SSL_read: 9,
  SSL_write: 10,
};
const ROLE_CODE = { unknown: 0, client: 1, server: 2 } as const;

function recordSize(ev: CaptureEvent): number {
  if (ev.kind === 'data') return L.dataSize + ev.data.length;
  if (ev.kind === 'connect' || ev.kind === 'accept' || ev.kind === 'close') return L.connSize;
  return L.procSize;
}

function ipv4Bytes(ip: string): number[] {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255)))
    throw new Error(`cannot encode address ${ip}: IPv4 only`);
  return parts;
}

export function encodeBatch(events: readonly CaptureEvent[]): EventBatch {
  const total = events.reduce((n, ev) => n + RECORD_PREFIX + ((recordSize(ev) + 7) & ~7), 0);
  const out = Buffer.alloc(total);
  let at = 0;
  for (const ev of events) {
    const size = recordSize(ev);
    out.writeUInt32LE(size, at);
    const r = at + RECORD_PREFIX;
    out.writeBigUInt64LE(ev.tsNs, r + L['header.tsNs']);
    out.writeUInt32LE(ev.pid, r + L['header.pid']);
    out.writeUInt32LE(ev.tid, r + L['header.tid']);
    out[r + L['header.kind']] = KIND_CODE[ev.kind];
    if (ev.kind === 'data' || ev.kind === 'connect' || ev.kind === 'accept' || ev.kind === 'close') {
      out.writeInt32LE(ev.fd, r + L['header.fd']);
      const t = r + (ev.kind === 'data' ? L['data.tuple'] : L['conn.tuple']);
      if (ev.tuple.family !== 0) {
        out.set(ipv4Bytes(ev.tuple.local.ip), t + L['tuple.laddr']);
        out.set(ipv4Bytes(ev.tuple.remote.ip), t + L['tuple.raddr']);
        out.writeUInt16LE(2, t + L['tuple.family']); // AF_INET
      }
      out.writeUInt16LE(ev.tuple.local.port, t + L['tuple.lport']);
      out.writeUInt16LE(ev.tuple.remote.port, t + L['tuple.rport']);
      out[t + L['tuple.protocol']] = ev.tuple.transport === 'udp' ? 17 : 6;
      out[t + L['tuple.role']] = ROLE_CODE[ev.role];
    }
    if (ev.kind === 'data') {
      out[r + L['header.flags']] =
        (ev.tls ? 1 : 0) |
        (ev.unattributed ? 2 : 0) |
        (ev.messageStart ? 4 : 0) |
        (ev.truncated ? 8 : 0) |
        (ev.resync ? 16 : 0);
      out.writeUInt16LE(ev.shedBefore ?? 0, r + L['header.shedBefore']);
      out.writeUInt32LE(ev.length, r + L['data.len']);
      out.writeUInt32LE(ev.data.length, r + L['data.capLen']);
      out[r + L['data.direction']] = ev.direction === 'egress' ? 1 : 2;
      out[r + L['data.syscall']] = SYSCALL_CODE[ev.syscall] ?? 1;
      out.set(ev.data, r + L.dataSize);
    } else if (ev.kind === 'connect' || ev.kind === 'accept' || ev.kind === 'close') {
      out.writeBigInt64LE(BigInt(ev.result), r + L['conn.ret']);
    } else if (ev.kind === 'exec' || ev.kind === 'exit' || ev.kind === 'fork') {
      out.writeUInt32LE(ev.parentPid, r + L['proc.ppid']);
      out.writeUInt32LE(ev.childPid, r + L['proc.childPid']);
      out.writeInt32LE(ev.exitCode, r + L['proc.exitCode']);
      out.write(ev.comm.slice(0, 15), r + L['proc.comm'], 'latin1');
    }
    at += RECORD_PREFIX + ((size + 7) & ~7);
  }
  return new EventBatch(out.buffer.slice(out.byteOffset, out.byteOffset + total), events.length);
}
