import {
  type CaptureEvent,
  type ConnectionEvent,
  type DataEvent,
  type Direction,
  EventBatch,
  FLAG_RESYNC,
  FLAG_TLS,
  FLAG_UNATTRIBUTED,
  KIND_DATA,
  type RecordCursor,
} from '../capture/events.ts';
import type { ApiCall, ProtocolName, ProtocolSpec } from '../protocols/contract.ts';
import {
  type ConnectionInfo,
  ConnectionTracker,
  type TrackedConnection,
  type TrackerOptions,
  type TrackerStats,
} from '../protocols/tracker/connectionTracker.ts';

/**
 * The eBPF source: capture events -> per-connection byte streams -> the same ConnectionTracker (and so the
 * same parsers and stitchers) that the pcap source feeds.
 *
 * A connection is one socket of one process seen through one channel: key = pid, fd, plaintext or TLS, and
 * the tuple. The tuple is part of the key so a reused fd (close event lost in a ring overflow) or an
 * unconnected UDP socket talking to many peers gives separate streams; TLS plaintext from the OpenSSL
 * uprobes gets its own stream beside the socket's ciphertext (which detection then ignores as unknown).
 *
 * Truncation: the kernel copies only the first `dataCap`/`msgStartCap` bytes of a read or write but reports
 * the size it moved. The missing rest is handed to the tracker either as zero bytes (protocols whose parsers
 * skip bodies by length: an HTTP/1.x or HTTP/2 body keeps its byte count, so the next message starts where it
 * should) or as a gap (every other protocol: the tracker's connection restarts, so nothing queued before the
 * hole is paired with what comes after it, and the parser resynchronises on the next bytes). Zeros
 * never form a valid HTTP head or frame boundary, so a fill that lands outside a body makes the parser
 * resynchronise too. Fills are bounded (`maxFillBytes` per event; past it: a gap).
 *
 * Cost: a capture batch is walked with its allocation-free cursor; a data record of a known TCP socket is
 * found by a numeric (pid, fd, channel) key and handed to the tracker's connection handle, so the per-read
 * path builds no event object, decodes no tuple and does no string-keyed lookup. New sockets and UDP take
 * the slow path through a full event object.
 *
 * Threading: everything runs on the JavaScript thread that receives capture batches. Events (and their
 * `data` views) are only read during `consume`; the tracker copies what it keeps.
 */
export interface LiveSourceOptions {
  specs: readonly ProtocolSpec[];
  onCall: (call: ApiCall) => void;
  /** Tracker bounds (buffer per direction, queued frames, connections, idle expiry, decodeAs). */
  tracker?: Partial<Omit<TrackerOptions, 'specs' | 'onCall'>>;
  /** Protocols whose missing (truncated) bytes are filled with zeros rather than declared a gap. */
  fillProtocols?: readonly ProtocolName[];
  /**
   * Protocols whose missing bytes are filled only in requests (the client's writes, the server's reads):
   * their parsers read a request from its prefix by its length, but their replies are many small messages
   * a fill would garble, so a cut reply stays a gap (closed as `db.response.truncated`, see releaseHeld).
   */
  fillRequestProtocols?: readonly ProtocolName[];
  /** Largest fill per event; a bigger hole is a gap. Default 1 MiB. */
  maxFillBytes?: number;
}

/** Data events of one process seen by user space and left out by the kernel (load shedding). */
export interface PidShedCount {
  seen: number;
  shed: number;
}

export interface LiveSourceStats {
  events: number;
  dataEvents: number;
  /** TLS plaintext the kernel could not tie to a socket: no connection to give it to. */
  unattributed: number;
  /** Data events without a usable tuple (not TCP/UDP over IPv4/IPv6). */
  noTuple: number;
  truncatedEvents: number;
  /** Bytes the kernel reported but did not copy. */
  missingBytes: number;
  filledBytes: number;
  gaps: number;
  /** Connections dropped because the kernel left some of their bytes out (load shedding). */
  resyncs: number;
  /** Empty RESYNC events: the kernel's note that it starts leaving a connection out (in `dataEvents`). */
  markers: number;
  closes: number;
  exits: number;
  /** Connections opened by this source (the tracker may also evict or expire them). */
  connectionsOpened: number;
  connectionsExpired: number;
  connectionsEvicted: number;
}

interface LiveConn {
  key: string;
  /** The tracker's side of this connection; replaced when the tracker restarted it (after a gap). */
  tracked: TrackedConnection;
  /** Numeric (pid, fd, channel) of a TCP stream, its key in the fast index. */
  socket?: number;
  info: ConnectionInfo;
  pid: number;
  fd: number;
  lastNs: bigint;
}

const FILL_CHUNK = 64 * 1024;
/** Shared and never written: the tracker only reads `data` during onData. */
const ZEROS = new Uint8Array(FILL_CHUNK);
/** Fill views kept by length (a workload's truncated writes miss the same few sizes); emptied when full. */
const FILL_VIEWS_MAX = 1024;
const EXPIRE_EVERY_NS = 1_000_000_000n;
/** fds below this get a numeric fast-path key (Linux's default nr_open is 2^20). */
const FD_LIMIT = 1 << 20;

export class LiveSource {
  readonly tracker: ConnectionTracker;
  readonly stats: LiveSourceStats = {
    events: 0,
    dataEvents: 0,
    unattributed: 0,
    noTuple: 0,
    truncatedEvents: 0,
    missingBytes: 0,
    filledBytes: 0,
    gaps: 0,
    resyncs: 0,
    markers: 0,
    closes: 0,
    exits: 0,
    connectionsOpened: 0,
    connectionsExpired: 0,
    connectionsEvicted: 0,
  };
  /** Every live connection by key, in opening order (the oldest is evicted first). */
  private readonly conns = new Map<string, LiveConn>();
  /** TCP streams by numeric (pid, fd, channel): the per-event lookup that needs no tuple decoding. */
  private readonly tcpBySocket = new Map<number, LiveConn>();
  /** pid -> fd -> connections of that socket (several for UDP peers or TLS plaintext beside ciphertext). */
  private readonly byPid = new Map<number, Map<number, Set<LiveConn>>>();
  private readonly fill: ReadonlySet<ProtocolName>;
  private readonly fillRequests: ReadonlySet<ProtocolName>;
  private readonly maxFillBytes: number;
  private readonly maxConnections: number;
  private readonly idleTimeoutNs: bigint;
  private lastExpireNs = 0n;
  private readonly fillViews = new Map<number, Uint8Array>();
  /** Per-process data events seen and left out, while the capture sheds load (countShedPerPid). */
  private shedCounts: Map<number, PidShedCount> | undefined;

  constructor(options: LiveSourceOptions) {
    this.maxConnections = options.tracker?.maxConnections ?? 65_536;
    this.idleTimeoutNs = options.tracker?.idleTimeoutNs ?? 300_000_000_000n;
    this.maxFillBytes = options.maxFillBytes ?? 1024 * 1024;
    // Kafka and MongoDB too: their parsers read a message's prefix and skip the rest, so a zero fill costs
    // nothing and keeps the call of a message larger than the copied prefix (a gap lost it whole).
    this.fill = new Set(options.fillProtocols ?? ['http', 'http2', 'grpc', 'kafka', 'mongodb']);
    // A big INSERT or SET: the request is one length-prefixed message (a PostgreSQL Query or Bind, a MySQL
    // packet, a RESP array whose last bulk string is cut), so zeros in place of its tail keep it, and its
    // reply, where a gap lost both.
    this.fillRequests = new Set(options.fillRequestProtocols ?? ['postgres', 'mysql', 'redis']);
    if (!Number.isInteger(this.maxConnections) || this.maxConnections < 1)
      throw new Error(`cannot configure live source: maxConnections is ${this.maxConnections}, want >= 1`);
    if (!Number.isInteger(this.maxFillBytes) || this.maxFillBytes < 0)
      throw new Error(`cannot configure live source: maxFillBytes is ${this.maxFillBytes}, want >= 0`);
    this.tracker = new ConnectionTracker({
      ...options.tracker,
      specs: options.specs,
      onCall: options.onCall,
      // One more than ours: this source evicts first, so the tracker never forgets a key behind our back.
      maxConnections: this.maxConnections + 1,
    });
  }

  /** One capture batch (or any iterable of events). Events are read only during the call. */
  consume(events: Iterable<CaptureEvent>): void {
    let last = 0n;
    if (events instanceof EventBatch) last = this.consumeBatch(events.cursor());
    else {
      for (const ev of events) {
        this.stats.events++;
        this.dispatch(ev);
        last = ev.tsNs;
      }
    }
    if (last - this.lastExpireNs >= EXPIRE_EVERY_NS) this.expire(last);
  }

  event(ev: CaptureEvent): void {
    this.stats.events++;
    this.dispatch(ev);
  }

  /** The per-batch hot loop: data records straight from the batch bytes; the rest as event objects. */
  private consumeBatch(c: RecordCursor): bigint {
    let last = 0n;
    while (c.next()) {
      this.stats.events++;
      if (c.kind === KIND_DATA) {
        last = c.tsNs;
        this.dataRecord(c, last);
      } else {
        const ev = c.event();
        last = ev.tsNs;
        this.dispatch(ev);
      }
    }
    return last;
  }

  private dispatch(ev: CaptureEvent): void {
    switch (ev.kind) {
      case 'data':
        this.data(ev);
        return;
      case 'close':
        this.close(ev);
        return;
      case 'connect':
      case 'accept':
        // A new connection on this fd: whatever was tracked under it belongs to an earlier one whose close
        // was lost (ring overflow). Without this the fast path would carry it on under the old tuple.
        this.closeFd(ev.pid, ev.fd);
        return;
      case 'exit':
        this.exit(ev.pid);
        return;
      default:
        // exec/fork change nothing for existing sockets (a forked child's inherited connections are new
        // streams under its own pid).
        return;
    }
  }

  /** Forgets connections idle for the idle timeout (stitching what they hold). Called from `consume`. */
  expire(nowNs: bigint): void {
    this.lastExpireNs = nowNs;
    const cutoff = nowNs - this.idleTimeoutNs;
    for (const conn of this.conns.values()) {
      if (conn.lastNs >= cutoff) continue;
      this.forget(conn);
      this.stats.connectionsExpired++;
    }
    this.tracker.expire(nowNs);
  }

  /** End of capture: stitch and drop every connection. */
  flush(): void {
    for (const conn of [...this.conns.values()]) this.forget(conn);
    this.tracker.flush();
  }

  /** Connections held right now (this source's index; the tracker's footprint says the bytes). */
  get connections(): number {
    return this.conns.size;
  }

  trackerStats(): TrackerStats {
    return this.tracker.stats;
  }

  /**
   * Starts (true) or stops counting, per process, the data events seen and those the kernel left out
   * (`shedBefore`): while the capture sheds load, what RED counts of each process are scaled by.
   */
  countShedPerPid(on: boolean): void {
    if (!on) this.shedCounts = undefined;
    else this.shedCounts ??= new Map();
  }

  /**
   * The per-process counts since the last call (empty when not counting); a process with events left out
   * but none seen keeps its count for the next call, so none is lost to an interval it happened to miss.
   */
  takeShedCounts(): Map<number, PidShedCount> {
    const counts = this.shedCounts;
    if (counts === undefined) return new Map();
    const next = new Map<number, PidShedCount>();
    for (const [pid, c] of counts) if (c.seen === 0 && c.shed > 0) next.set(pid, { seen: 0, shed: c.shed });
    this.shedCounts = next;
    return counts;
  }

  private countShed(pid: number, shedBefore: number, length: number): void {
    const counts = this.shedCounts!;
    let c = counts.get(pid);
    if (c === undefined) {
      c = { seen: 0, shed: 0 };
      counts.set(pid, c);
    }
    c.shed += shedBefore;
    if (length > 0) c.seen++; // an empty event is a marker: it carries no traffic
  }

  /** A data record read through the cursor; known TCP sockets never build an event object. */
  private dataRecord(c: RecordCursor, ts: bigint): void {
    this.stats.dataEvents++;
    const flags = c.flags;
    const fd = c.fd;
    if (this.shedCounts !== undefined) this.countShed(c.pid, c.shedBefore, c.length);
    if ((flags & FLAG_UNATTRIBUTED) !== 0 || fd < 0) {
      this.stats.unattributed++;
      return;
    }
    const length = c.length;
    if ((flags & FLAG_RESYNC) !== 0) this.resync(c.pid, fd, (flags & FLAG_TLS) !== 0, length);
    if (length === 0) return;
    const fast = fd < FD_LIMIT ? (c.pid * FD_LIMIT + fd) * 2 + ((flags & FLAG_TLS) !== 0 ? 1 : 0) : -1;
    const conn =
      (fast >= 0 ? this.tcpBySocket.get(fast) : undefined) ?? this.find(c.event() as DataEvent, fast);
    if (conn === undefined) return;
    this.deliver(conn, c.egress ? 'egress' : 'ingress', c.data(), length, ts);
  }

  private data(ev: DataEvent): void {
    this.stats.dataEvents++;
    if (this.shedCounts !== undefined) this.countShed(ev.pid, ev.shedBefore ?? 0, ev.length);
    if (ev.unattributed || ev.fd < 0) {
      this.stats.unattributed++;
      return;
    }
    const length = ev.length;
    if (ev.resync) this.resync(ev.pid, ev.fd, ev.tls, length);
    if (length === 0) return;
    const fd = ev.fd;
    const fast = fd < FD_LIMIT ? (ev.pid * FD_LIMIT + fd) * 2 + (ev.tls ? 1 : 0) : -1;
    const conn = (fast >= 0 ? this.tcpBySocket.get(fast) : undefined) ?? this.find(ev, fast);
    if (conn === undefined) return;
    this.deliver(conn, ev.direction, ev.data, length, ev.tsNs);
  }

  /**
   * Slow path: the connection of a socket not in the fast index (new sockets, UDP: one stream per peer),
   * keyed by its tuple (decoding the tuple costs more than the rest of an event); opened when new.
   */
  private find(ev: DataEvent, fast: number): LiveConn | undefined {
    const t = ev.tuple;
    if (t.family === 0) {
      this.stats.noTuple++;
      return undefined;
    }
    const key = `${ev.pid} ${ev.fd} ${ev.tls ? 's' : 'p'} ${t.transport} ${t.local.ip} ${t.local.port} ${t.remote.ip} ${t.remote.port}`;
    const conn = this.conns.get(key) ?? this.open(key, ev, ev.tsNs);
    if (t.transport === 'tcp' && fast >= 0) {
      conn.socket = fast;
      this.tcpBySocket.set(fast, conn);
    }
    return conn;
  }

  /** Hands one read or write to the tracker, then its missing (not copied) bytes as a fill or a gap. */
  private deliver(conn: LiveConn, direction: Direction, bytes: Uint8Array, length: number, ts: bigint): void {
    conn.lastNs = ts;
    const tracker = this.tracker;
    let tracked = conn.tracked;
    if (tracked.closed) tracked = conn.tracked = tracker.connection(conn.key, conn.info, ts);
    tracker.dataOn(tracked, direction, bytes, ts);
    const missing = length - bytes.length;
    if (missing <= 0) return;
    this.countMissing(missing);
    // A UDP datagram is parsed on its own: a truncated one simply yields what its prefix holds.
    if (conn.info.transport !== 'tcp') return;
    const proto = tracker.protocolOn(tracked);
    const role = conn.info.role;
    const request = role === 'client' ? direction === 'egress' : role === 'server' && direction === 'ingress';
    if (
      proto !== 'unknown' &&
      proto !== 'detecting' &&
      (this.fill.has(proto) || (request && this.fillRequests.has(proto)))
    ) {
      if (missing <= this.maxFillBytes) {
        for (let left = missing; left > 0; left -= FILL_CHUNK) {
          // A fill can end the connection's HTTP (eos, protocol switch) but never forget it.
          tracker.dataOn(tracked, direction, left >= FILL_CHUNK ? ZEROS : this.zeros(left), ts);
        }
        this.stats.filledBytes += missing;
        return;
      }
    }
    if (proto === 'unknown') return; // nothing is parsed there: a gap would only count
    // Most parsers pair requests and responses in order and cannot tell which message a hole swallowed, so
    // a gap restarts the connection: what is queued is stitched or counted as unpaired, and the next bytes
    // are detected and parsed afresh, as when a capture starts mid-connection (stitchers drop responses
    // older than every pending request). The price is per-connection parser state (prepared statements).
    tracker.onClose(conn.key);
    this.stats.gaps++;
  }

  /** `n` (< FILL_CHUNK) zero bytes: a view of ZEROS, kept by length so a fill allocates nothing. */
  private zeros(n: number): Uint8Array {
    let view = this.fillViews.get(n);
    if (view === undefined) {
      if (this.fillViews.size >= FILL_VIEWS_MAX) this.fillViews.clear();
      view = ZEROS.subarray(0, n);
      this.fillViews.set(n, view);
    }
    return view;
  }

  private countMissing(missing: number): void {
    this.stats.truncatedEvents++;
    this.stats.missingBytes += missing;
  }

  private open(key: string, ev: DataEvent, ts: bigint): LiveConn {
    if (this.conns.size >= this.maxConnections) {
      const oldest = this.conns.values().next().value as LiveConn;
      this.forget(oldest);
      this.stats.connectionsEvicted++;
    }
    const t = ev.tuple;
    const info: ConnectionInfo = {
      local: t.local,
      remote: t.remote,
      transport: t.transport,
      role: ev.role,
      pid: ev.pid,
      fd: ev.fd,
    };
    const conn: LiveConn = {
      key,
      tracked: this.tracker.connection(key, info, ts),
      info,
      pid: ev.pid,
      fd: ev.fd,
      lastNs: ts,
    };
    this.conns.set(key, conn);
    let fds = this.byPid.get(ev.pid);
    if (fds === undefined) {
      fds = new Map();
      this.byPid.set(ev.pid, fds);
    }
    let set = fds.get(ev.fd);
    if (set === undefined) {
      set = new Set();
      fds.set(ev.fd, set);
    }
    set.add(conn);
    this.stats.connectionsOpened++;
    return conn;
  }

  /**
   * The kernel left bytes of this socket's channel out (load shedding): what the tracker holds for it is
   * stale, so it is stitched as far as it goes (as at a gap) and forgotten; the next bytes open it afresh.
   */
  private resync(pid: number, fd: number, tls: boolean, length: number): void {
    if (length === 0) this.stats.markers++;
    const set = this.byPid.get(pid)?.get(fd);
    if (set === undefined) return;
    const channel = `${pid} ${fd} ${tls ? 's' : 'p'} `;
    for (const conn of [...set]) {
      if (!conn.key.startsWith(channel)) continue;
      this.forget(conn);
      this.stats.resyncs++;
    }
  }

  private close(ev: ConnectionEvent): void {
    this.stats.closes++;
    this.closeFd(ev.pid, ev.fd);
  }

  private closeFd(pid: number, fd: number): void {
    const set = this.byPid.get(pid)?.get(fd);
    if (set === undefined) return;
    for (const conn of [...set]) this.forget(conn);
  }

  private exit(pid: number): void {
    this.stats.exits++;
    const fds = this.byPid.get(pid);
    if (fds === undefined) return;
    for (const set of [...fds.values()]) for (const conn of [...set]) this.forget(conn);
  }

  /** Stitches what the connection holds and removes it from both indexes. */
  private forget(conn: LiveConn): void {
    this.tracker.onClose(conn.key);
    this.conns.delete(conn.key);
    if (conn.socket !== undefined && this.tcpBySocket.get(conn.socket) === conn)
      this.tcpBySocket.delete(conn.socket);
    const fds = this.byPid.get(conn.pid);
    const set = fds?.get(conn.fd);
    if (set === undefined) return;
    set.delete(conn);
    if (set.size === 0) fds!.delete(conn.fd);
    if (fds!.size === 0) this.byPid.delete(conn.pid);
  }
}
