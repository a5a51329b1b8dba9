import type { CaptureEvent, ConnectionEvent, DataEvent } from '../capture/events.ts';
import type { ApiCall, ProtocolName, ProtocolSpec } from '../protocols/contract.ts';
import {
  type ConnectionInfo,
  ConnectionTracker,
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
  /** Largest fill per event; a bigger hole is a gap. Default 1 MiB. */
  maxFillBytes?: number;
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
  closes: number;
  exits: number;
  /** Connections opened by this source (the tracker may also evict or expire them). */
  connectionsOpened: number;
  connectionsExpired: number;
  connectionsEvicted: number;
}

interface LiveConn {
  key: string;
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
  private readonly maxFillBytes: number;
  private readonly maxConnections: number;
  private readonly idleTimeoutNs: bigint;
  private lastExpireNs = 0n;

  constructor(options: LiveSourceOptions) {
    this.maxConnections = options.tracker?.maxConnections ?? 65_536;
    this.idleTimeoutNs = options.tracker?.idleTimeoutNs ?? 300_000_000_000n;
    this.maxFillBytes = options.maxFillBytes ?? 1024 * 1024;
    this.fill = new Set(options.fillProtocols ?? ['http', 'http2', 'grpc']);
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
    for (const ev of events) {
      this.event(ev);
      last = ev.tsNs;
    }
    if (last - this.lastExpireNs >= EXPIRE_EVERY_NS) this.expire(last);
  }

  event(ev: CaptureEvent): void {
    this.stats.events++;
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

  private data(ev: DataEvent): void {
    this.stats.dataEvents++;
    if (ev.unattributed || ev.fd < 0) {
      this.stats.unattributed++;
      return;
    }
    const length = ev.length;
    if (length === 0) return;
    const ts = ev.tsNs;
    const tls = ev.tls;
    // Fast path: a known TCP socket is found by (pid, fd, channel) without decoding the tuple, which costs
    // more than the rest of this function. Slow path: new sockets and UDP (one stream per peer).
    const fd = ev.fd;
    const fast = fd < FD_LIMIT ? (ev.pid * FD_LIMIT + fd) * 2 + (tls ? 1 : 0) : -1;
    let conn = fast >= 0 ? this.tcpBySocket.get(fast) : undefined;
    if (conn === undefined) {
      const t = ev.tuple;
      if (t.family === 0) {
        this.stats.noTuple++;
        return;
      }
      const key = `${ev.pid} ${fd} ${tls ? 's' : 'p'} ${t.transport} ${t.local.ip} ${t.local.port} ${t.remote.ip} ${t.remote.port}`;
      conn = this.conns.get(key) ?? this.open(key, ev, ts);
      if (t.transport === 'tcp' && fast >= 0) {
        conn.socket = fast;
        this.tcpBySocket.set(fast, conn);
      }
    }
    const key = conn.key;
    conn.lastNs = ts;
    const direction = ev.direction;
    const bytes = ev.data;
    this.tracker.onData(key, conn.info, direction, bytes, ts);
    const missing = length - bytes.length;
    if (missing <= 0 || conn.info.transport !== 'tcp') {
      // A UDP datagram is parsed on its own: a truncated one simply yields what its prefix holds.
      if (missing > 0) this.countMissing(missing);
      return;
    }
    this.countMissing(missing);
    const proto = this.tracker.protocolOf(key);
    if (proto !== undefined && proto !== 'unknown' && proto !== 'detecting' && this.fill.has(proto)) {
      if (missing <= this.maxFillBytes) {
        for (let left = missing; left > 0; left -= FILL_CHUNK) {
          this.tracker.onData(
            key,
            conn.info,
            direction,
            left >= FILL_CHUNK ? ZEROS : ZEROS.subarray(0, left),
            ts,
          );
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
    this.tracker.onClose(key);
    this.stats.gaps++;
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
    const conn: LiveConn = {
      key,
      info: {
        local: t.local,
        remote: t.remote,
        transport: t.transport,
        role: ev.role,
        pid: ev.pid,
        fd: ev.fd,
      },
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
