/**
 * Capture events shaped exactly like the eBPF capture's, for LiveSource's tests (liveSource*.test.ts): a
 * shared clock, tuples, data and connection events (`data` may be shorter than `length`, as when the kernel
 * copied only a prefix), and a source that records its calls, fed either as event objects or through a
 * capture batch (the cursor walk of the real sensor).
 */
import type { CaptureEvent, ConnectionEvent, DataEvent, Direction, Tuple } from '../capture/events.ts';
import { encodeBatch } from '../live/eventBatchWriter.ts';
import { LiveSource } from '../live/liveSource.ts';
import type { ApiCall } from '../protocols/contract.ts';
import { protocolSpecs } from '../protocols/registry.ts';

/** Both ways of feeding a source, for `describe.each`. */
export const FEEDS = [
  ['event objects', false],
  ['capture batches', true],
] as const;

let clock = 1_000_000_000n;
/** The next event's time, 1 ms after the last one. */
export const tick = () => (clock += 1_000_000n);
/** Moves the clock on (idle expiry). */
export const advanceClock = (ns: bigint) => {
  clock += ns;
};

export function tuple(lport: number, rport: number, transport: 'tcp' | 'udp' = 'tcp'): Tuple {
  return {
    family: 4,
    transport,
    local: { ip: '127.0.0.1', port: lport },
    remote: { ip: '127.0.0.1', port: rport },
  };
}

export function data(
  pid: number,
  fd: number,
  t: Tuple,
  direction: Direction,
  text: string | Uint8Array,
  opts: {
    length?: number;
    role?: 'client' | 'server';
    tls?: boolean;
    unattributed?: boolean;
    resync?: boolean;
    shedBefore?: number;
  } = {},
): DataEvent {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  return {
    kind: 'data',
    tsNs: tick(),
    pid,
    tid: pid,
    fd,
    direction,
    tuple: t,
    role: opts.role ?? 'unknown',
    length: opts.length ?? bytes.length,
    data: bytes,
    truncated: (opts.length ?? bytes.length) > bytes.length,
    tls: opts.tls ?? false,
    unattributed: opts.unattributed ?? false,
    messageStart: true,
    resync: opts.resync ?? false,
    shedBefore: opts.shedBefore ?? 0,
    syscall: direction === 'egress' ? 'write' : 'read',
  };
}

export function conn(
  kind: 'close' | 'accept' | 'connect',
  pid: number,
  fd: number,
  t: Tuple,
): ConnectionEvent {
  return { kind, tsNs: tick(), pid, tid: pid, fd, tuple: t, role: 'unknown', result: 0 };
}

/** `batched`: events go through a capture batch (the cursor walk of the real sensor), else as objects. */
export function makeSource(opts: Partial<ConstructorParameters<typeof LiveSource>[0]>, batched: boolean) {
  const calls: ApiCall[] = [];
  const src = new LiveSource({ specs: protocolSpecs, onCall: (c) => calls.push(c), ...opts });
  const feed = (...events: CaptureEvent[]) => src.consume(batched ? encodeBatch(events) : events);
  const keys = () =>
    calls.map((c) => `${c.protocol} ${c.role} ${c.method} ${c.resource} ${c.status} ${c.pid}`);
  return { src, calls, feed, keys };
}

export const body = (n: number) => 'x'.repeat(n);
export const response = (n: number) => `HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n\r\n${body(n)}`;
