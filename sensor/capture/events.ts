import type { Endpoint, Role } from '../protocols/contract.ts';
import { L, RECORD_PREFIX } from './layout.ts';

/**
 * Captured events, decoded lazily from one batch: iterating a batch creates one small object per record,
 * and a field is read from the bytes only when asked for. Timestamps are CLOCK_MONOTONIC nanoseconds
 * (the same clock as `process.hrtime.bigint()`); see `monotonicToEpochNs`.
 *
 * Lifetime: an event, and above all `DataEvent.data`, is valid only during the batch callback that
 * delivered it. The bytes may be reused afterwards. Copy (`data.slice()`) what must outlive the callback.
 */
export type EventKind = 'data' | 'connect' | 'accept' | 'close' | 'exec' | 'exit' | 'fork';
export type Direction = 'egress' | 'ingress';
export type Transport = 'tcp' | 'udp';
export type SyscallName =
  | 'read'
  | 'write'
  | 'readv'
  | 'writev'
  | 'recvfrom'
  | 'sendto'
  | 'recvmsg'
  | 'sendmsg'
  | 'SSL_read'
  | 'SSL_write'
  | 'recvmmsg'
  | 'sendmmsg'
  | 'sendfile'
  | 'splice';

/** A connection seen from the observed process: `local` is its end, `remote` the peer. */
export interface Tuple {
  /** 4 or 6. IPv4-mapped IPv6 addresses (a dual-stack server's view of an IPv4 client) are reported as 4. */
  family: 4 | 6 | 0;
  transport: Transport;
  local: Endpoint;
  remote: Endpoint;
}

interface EventBase {
  readonly kind: EventKind;
  /** CLOCK_MONOTONIC nanoseconds. */
  readonly tsNs: bigint;
  readonly pid: number;
  readonly tid: number;
}

export interface DataEvent extends EventBase {
  readonly kind: 'data';
  /** The socket; -1 for TLS plaintext whose socket was never found (`unattributed`). */
  readonly fd: number;
  /** egress: the process wrote the bytes; ingress: it read them. */
  readonly direction: Direction;
  readonly tuple: Tuple;
  /** From connect (client) or accept (server); unknown for connections older than the sensor. */
  readonly role: Role;
  /** Bytes the call moved (may be more than `data.length`). */
  readonly length: number;
  /** The first bytes moved. A view valid ONLY during the batch callback: copy to keep. */
  readonly data: Uint8Array;
  readonly truncated: boolean;
  /** Plaintext from an OpenSSL uprobe rather than a socket syscall. */
  readonly tls: boolean;
  /** TLS plaintext that could not be tied to a socket (fd -1, tuple empty). */
  readonly unattributed: boolean;
  /** First event in this direction after the other direction: likely the start of a message. */
  readonly messageStart: boolean;
  /**
   * Bytes of this connection before this event were not captured (load shedding): what is held for it is
   * stale. An event with `length` 0 and this flag only says the connection is being left out from now on.
   */
  readonly resync: boolean;
  /**
   * Data calls of this thread the kernel left out (load shedding) since its previous event: what this
   * process did that was not seen (absent: 0).
   */
  readonly shedBefore?: number;
  readonly syscall: SyscallName;
}

export interface ConnectionEvent extends EventBase {
  readonly kind: 'connect' | 'accept' | 'close';
  readonly fd: number;
  readonly tuple: Tuple;
  readonly role: Role;
  /** connect: 0 or -115 (EINPROGRESS, non-blocking); accept: the new fd; close: 0. */
  readonly result: number;
}

export interface ProcessEvent extends EventBase {
  readonly kind: 'exec' | 'exit' | 'fork';
  /** The task's command name (at most 15 characters). */
  readonly comm: string;
  /** fork: the parent; otherwise 0. */
  readonly parentPid: number;
  /** fork: the new process; otherwise 0. */
  readonly childPid: number;
  /** exit: raw wait status (exit code << 8 | signal). */
  readonly exitCode: number;
}

export type CaptureEvent = DataEvent | ConnectionEvent | ProcessEvent;

const KINDS: (EventKind | undefined)[] = [
  undefined,
  'data',
  'connect',
  'accept',
  'close',
  'exec',
  'exit',
  'fork',
];
const SYSCALLS: SyscallName[] = [
  'read',
  'read',
  'write',
  'readv',
  'writev',
  'recvfrom',
  'sendto',
  'recvmsg',
  'sendmsg',
  'SSL_read',
  'SSL_write',
  'recvmmsg',
  'sendmmsg',
  'sendfile',
  'splice',
];
const ROLES: Role[] = ['unknown', 'client', 'server'];
const KIND_EXEC = 5;
const KIND_EXIT = 6;
/** Bits of a record's flags byte (capture.h). */
export const FLAG_TLS = 1;
export const FLAG_UNATTRIBUTED = 2;
export const FLAG_MSG_START = 4;
export const FLAG_TRUNCATED = 8;
/** Earlier bytes of this connection were left out (load shedding): drop what is held for it. */
export const FLAG_RESYNC = 16;
const AF_INET = 2;
const AF_INET6 = 10;
const latin1 = new TextDecoder('latin1');

/** One batch handed over by the addon. Iterate it; do not keep it or its events past the callback. */
export class EventBatch implements Iterable<CaptureEvent> {
  private readonly view: DataView;
  private readonly bytes: Uint8Array;

  constructor(
    readonly buffer: ArrayBuffer,
    /** Number of records in the batch. */
    readonly size: number,
  ) {
    this.view = new DataView(buffer);
    this.bytes = new Uint8Array(buffer);
  }

  *[Symbol.iterator](): Iterator<CaptureEvent> {
    const c = this.cursor();
    while (c.next()) yield c.event();
  }

  /**
   * An allocation-free walk over the records, for the hot consumer (the live source): one cursor whose
   * fields read the record it stands on. Valid during the batch callback, each record until `next()`.
   */
  cursor(): RecordCursor {
    return new RecordCursor(this.view, this.bytes);
  }

  /**
   * Calls `fn` for each exec and exit record, reading nothing but the kind byte of the others: the
   * process bookkeeping pass over every batch must not allocate per event.
   */
  forEachProcessChange(fn: (kind: 'exec' | 'exit', pid: number) => void): void {
    const c = this.cursor();
    while (c.next()) {
      const kind = c.kind;
      if (kind === KIND_EXEC || kind === KIND_EXIT) fn(kind === KIND_EXEC ? 'exec' : 'exit', c.pid);
    }
  }
}

/** Raw record kinds (capture.h `enum event_kind`), as `RecordCursor.kind` gives them. */
export const KIND_DATA = 1;
export const KIND_CONNECT = 2;
export const KIND_ACCEPT = 3;
export const KIND_CLOSE = 4;

/** Smallest record of each kind (by raw kind code); 0 = not a kind this decoder knows. */
const MIN_SIZE = [0, L.dataSize, L.connSize, L.connSize, L.connSize, L.procSize, L.procSize, L.procSize];

/**
 * Walks one batch's records without creating objects: `next()` moves to the next record this decoder
 * knows (too short, unknown or overrunning records are skipped, as the iterator skips them) and the
 * getters read that record's bytes. `event()` makes the usual event object for the current record.
 * JavaScript thread only; nothing here outlives the batch callback.
 */
export class RecordCursor {
  /** Raw kind of the current record (`KIND_DATA`, ...); 0 before the first and after the last. */
  kind = 0;
  /** Offset of the current record in the batch. */
  private at = 0;
  /** Offset of the next record's prefix. */
  private off = 0;

  constructor(
    private readonly v: DataView,
    private readonly b: Uint8Array,
  ) {}

  next(): boolean {
    const v = this.v;
    const total = v.byteLength;
    while (this.off + RECORD_PREFIX <= total) {
      const len = v.getUint32(this.off, true);
      const at = this.off + RECORD_PREFIX;
      this.off = at + ((len + 7) & ~7);
      if (len < L.headerSize || at + len > total) continue;
      const kind = v.getUint8(at + L['header.kind']);
      if (len < (MIN_SIZE[kind] ?? 0) || (MIN_SIZE[kind] ?? 0) === 0) continue;
      this.at = at;
      this.kind = kind;
      return true;
    }
    this.kind = 0;
    return false;
  }

  get tsNs(): bigint {
    return this.v.getBigUint64(this.at + L['header.tsNs'], true);
  }
  get pid(): number {
    return this.v.getUint32(this.at + L['header.pid'], true);
  }
  get fd(): number {
    return this.v.getInt32(this.at + L['header.fd'], true);
  }
  /** `FLAG_*` bits of the current record. */
  get flags(): number {
    return this.v.getUint8(this.at + L['header.flags']);
  }
  /** Data records: calls of this thread left out by load shedding since its previous record. */
  get shedBefore(): number {
    return this.v.getUint16(this.at + L['header.shedBefore'], true);
  }
  /** Data records: bytes the call moved. */
  get length(): number {
    return this.v.getUint32(this.at + L['data.len'], true);
  }
  /** Data records: the process wrote the bytes. */
  get egress(): boolean {
    return this.v.getUint8(this.at + L['data.direction']) === 1;
  }
  /** Data records: the copied bytes, a view into the batch (valid during the batch callback only). */
  data(): Uint8Array {
    const n = Math.min(this.v.getUint32(this.at + L['data.capLen'], true), L.maxData);
    return this.b.subarray(this.at + L.dataSize, this.at + L.dataSize + n);
  }
  /** The current record as an event object (what iterating the batch gives). */
  event(): CaptureEvent {
    return decodeAt(this.v, this.b, this.at, this.kind);
  }
}

/** The event object of a record the cursor accepted (kind known, size checked). */
function decodeAt(view: DataView, bytes: Uint8Array, at: number, kind: number): CaptureEvent {
  const name = KINDS[kind]!;
  switch (name) {
    case 'data':
      return new DataEventView(view, bytes, at);
    case 'connect':
    case 'accept':
    case 'close':
      return new ConnectionEventView(view, bytes, at, name);
    default:
      return new ProcessEventView(view, bytes, at, name);
  }
}

abstract class EventView {
  constructor(
    protected readonly v: DataView,
    protected readonly b: Uint8Array,
    protected readonly at: number,
  ) {}
  get tsNs(): bigint {
    return this.v.getBigUint64(this.at + L['header.tsNs'], true);
  }
  get pid(): number {
    return this.v.getUint32(this.at + L['header.pid'], true);
  }
  get tid(): number {
    return this.v.getUint32(this.at + L['header.tid'], true);
  }
  get fd(): number {
    return this.v.getInt32(this.at + L['header.fd'], true);
  }
  protected get flags(): number {
    return this.v.getUint8(this.at + L['header.flags']);
  }
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let p = Object.getPrototypeOf(this); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) {
        if (d.get && !(k in out) && k !== 'flags') out[k] = (this as unknown as Record<string, unknown>)[k];
      }
    }
    return out;
  }
}

class DataEventView extends EventView implements DataEvent {
  readonly kind = 'data' as const;
  private cachedTuple: Tuple | undefined;
  get direction(): Direction {
    return this.v.getUint8(this.at + L['data.direction']) === 1 ? 'egress' : 'ingress';
  }
  get tuple(): Tuple {
    this.cachedTuple ??= readTuple(this.v, this.b, this.at + L['data.tuple']);
    return this.cachedTuple;
  }
  get role(): Role {
    return ROLES[this.v.getUint8(this.at + L['data.tuple'] + L['tuple.role'])] ?? 'unknown';
  }
  get length(): number {
    return this.v.getUint32(this.at + L['data.len'], true);
  }
  get data(): Uint8Array {
    const n = Math.min(this.v.getUint32(this.at + L['data.capLen'], true), L.maxData);
    return this.b.subarray(this.at + L.dataSize, this.at + L.dataSize + n);
  }
  get truncated(): boolean {
    return (this.flags & FLAG_TRUNCATED) !== 0;
  }
  get tls(): boolean {
    return (this.flags & FLAG_TLS) !== 0;
  }
  get unattributed(): boolean {
    return (this.flags & FLAG_UNATTRIBUTED) !== 0;
  }
  get messageStart(): boolean {
    return (this.flags & FLAG_MSG_START) !== 0;
  }
  get resync(): boolean {
    return (this.flags & FLAG_RESYNC) !== 0;
  }
  get shedBefore(): number {
    return this.v.getUint16(this.at + L['header.shedBefore'], true);
  }
  get syscall(): SyscallName {
    return SYSCALLS[this.v.getUint8(this.at + L['data.syscall'])] ?? 'read';
  }
}

class ConnectionEventView extends EventView implements ConnectionEvent {
  private cachedTuple: Tuple | undefined;
  constructor(
    v: DataView,
    b: Uint8Array,
    at: number,
    readonly kind: 'connect' | 'accept' | 'close',
  ) {
    super(v, b, at);
  }
  get tuple(): Tuple {
    this.cachedTuple ??= readTuple(this.v, this.b, this.at + L['conn.tuple']);
    return this.cachedTuple;
  }
  get role(): Role {
    return ROLES[this.v.getUint8(this.at + L['conn.tuple'] + L['tuple.role'])] ?? 'unknown';
  }
  get result(): number {
    return Number(this.v.getBigInt64(this.at + L['conn.ret'], true));
  }
}

class ProcessEventView extends EventView implements ProcessEvent {
  constructor(
    v: DataView,
    b: Uint8Array,
    at: number,
    readonly kind: 'exec' | 'exit' | 'fork',
  ) {
    super(v, b, at);
  }
  get comm(): string {
    const start = this.at + L['proc.comm'];
    const raw = this.b.subarray(start, start + 16);
    const end = raw.indexOf(0);
    return latin1.decode(end < 0 ? raw : raw.subarray(0, end));
  }
  get parentPid(): number {
    return this.v.getUint32(this.at + L['proc.ppid'], true);
  }
  get childPid(): number {
    return this.v.getUint32(this.at + L['proc.childPid'], true);
  }
  get exitCode(): number {
    return this.v.getInt32(this.at + L['proc.exitCode'], true);
  }
}

function readTuple(v: DataView, b: Uint8Array, at: number): Tuple {
  const family = v.getUint16(at + L['tuple.family'], true);
  const proto = v.getUint8(at + L['tuple.protocol']);
  const transport: Transport = proto === 17 ? 'udp' : 'tcp';
  const local = b.subarray(at + L['tuple.laddr'], at + L['tuple.laddr'] + 16);
  const remote = b.subarray(at + L['tuple.raddr'], at + L['tuple.raddr'] + 16);
  let fam: 4 | 6 | 0 = family === AF_INET ? 4 : family === AF_INET6 ? 6 : 0;
  let lip: string;
  let rip: string;
  if (fam === 6 && isV4Mapped(local) && (isV4Mapped(remote) || isZero(remote))) {
    fam = 4;
    lip = ipv4(local.subarray(12));
    rip = isZero(remote) ? '0.0.0.0' : ipv4(remote.subarray(12));
  } else if (fam === 6) {
    lip = ipv6(local);
    rip = ipv6(remote);
  } else {
    lip = ipv4(local);
    rip = ipv4(remote);
  }
  return {
    family: fam,
    transport,
    local: { ip: lip, port: v.getUint16(at + L['tuple.lport'], true) },
    remote: { ip: rip, port: v.getUint16(at + L['tuple.rport'], true) },
  };
}

function isV4Mapped(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

function isZero(a: Uint8Array): boolean {
  return a.every((x) => x === 0);
}

function ipv4(a: Uint8Array): string {
  return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
}

/** RFC 5952 text form: lower case, longest run of zero groups compressed. */
export function ipv6(a: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a[i]! << 8) | a[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Offset to turn event timestamps (CLOCK_MONOTONIC) into Unix epoch nanoseconds, measured now. */
export function monotonicToEpochNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
}
