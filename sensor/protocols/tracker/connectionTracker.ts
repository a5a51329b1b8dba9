import type {
  ApiCall,
  ConnectionMeta,
  Endpoint,
  Frame,
  MessageType,
  ProtocolName,
  ProtocolSpec,
  Role,
  Unfinished,
} from '../contract.ts';
import { detectProtocol, MIN_DETECT_BYTES } from './detection.ts';
import { DirectionBuffer } from './directionBuffer.ts';

/**
 * The generic connection tracker: one per capture source (eBPF or pcap), driven from one thread.
 * Per connection it detects the protocol from the first bytes, buffers each direction (bounded), runs the
 * protocol's parse loop with resynchronisation, stitches frames into API calls and hands them to `onCall`.
 *
 * Directions are seen from the observed endpoint (`local`): `egress` = bytes it sent. For the eBPF source
 * that is the traced process; for a pcap, the side that sent the SYN (or the first packet seen).
 */
export type Direction = 'egress' | 'ingress';

const MAX_PROTOCOL_SWITCHES = 4;

export interface TrackerOptions {
  specs: readonly ProtocolSpec[];
  onCall: (call: ApiCall) => void;
  /** Bytes kept per direction while a frame is incomplete; past it the partial frame is dropped. */
  maxBufferBytes?: number;
  /** Connections tracked at once; past it the one opened first is evicted. */
  maxConnections?: number;
  /** A connection idle this long is dropped by `expire()`. */
  idleTimeoutNs?: bigint;
  /** Chunks per direction that detection looks at before the connection is declared unknown. */
  detectAttempts?: number;
  /** Frames queued per direction waiting for their peer; the oldest are dropped past it. */
  maxQueuedFrames?: number;
  /** Port -> protocol, like tshark's decode_as: skips detection for connections on that port. */
  decodeAs?: ReadonlyMap<number, ProtocolName>;
}

export interface ConnectionInfo {
  local: Endpoint;
  remote: Endpoint;
  transport: 'tcp' | 'udp';
  /** Known from connect/accept or from a SYN; `unknown` lets detection decide. */
  role: Role;
  pid?: number;
  fd?: number;
}

export interface TrackerStats {
  connections: number;
  connectionsOpened: number;
  connectionsUnknown: number;
  connectionsEvicted: number;
  connectionsExpired: number;
  framesParsed: number;
  framesInvalid: number;
  framesDroppedQueue: number;
  bytesDropped: number;
  bufferOverflows: number;
  gaps: number;
  stitchErrors: number;
  calls: number;
  callsByProtocol: Record<string, number>;
}

/**
 * A tracked connection, for a source that keeps it to skip the key lookup on every read
 * (`connection()`, `dataOn()`). Opaque outside the tracker; `closed` turns true once the tracker has
 * forgotten it (close, expiry, eviction, flush), after which the source must ask `connection()` again.
 */
export interface TrackedConnection {
  readonly key: string;
  readonly closed: boolean;
}

interface Conn extends TrackedConnection {
  closed: boolean;
  info: ConnectionInfo;
  meta: ConnectionMeta;
  role: Role;
  /** 'detecting' until a spec claims it; 'unknown' connections only cost their map entry. */
  phase: 'detecting' | 'tracking' | 'unknown';
  spec: ProtocolSpec | undefined;
  state: unknown;
  attempts: number;
  /** Protocol changes so far (HTTP Upgrade, CONNECT), bounded by MAX_PROTOCOL_SWITCHES. */
  switches: number;
  lastNs: bigint;
  egress: DirectionBuffer;
  ingress: DirectionBuffer;
  /** While detecting: the first bytes of a direction when they were too few to judge (< MIN_DETECT_BYTES). */
  detectEgress: Uint8Array | undefined;
  detectIngress: Uint8Array | undefined;
  /** A gap or an overflow happened: the next bytes may start mid-frame. */
  resyncEgress: boolean;
  resyncIngress: boolean;
  requests: Frame[];
  responses: Frame[];
}

export class ConnectionTracker {
  private readonly conns = new Map<string, Conn>();
  private readonly opts: Required<Omit<TrackerOptions, 'decodeAs'>> & {
    decodeAs?: ReadonlyMap<number, ProtocolName>;
  };
  readonly stats: TrackerStats = {
    connections: 0,
    connectionsOpened: 0,
    connectionsUnknown: 0,
    connectionsEvicted: 0,
    connectionsExpired: 0,
    framesParsed: 0,
    framesInvalid: 0,
    framesDroppedQueue: 0,
    bytesDropped: 0,
    bufferOverflows: 0,
    gaps: 0,
    stitchErrors: 0,
    calls: 0,
    callsByProtocol: {},
  };

  constructor(options: TrackerOptions) {
    this.opts = {
      maxBufferBytes: 256 * 1024,
      maxConnections: 65_536,
      idleTimeoutNs: 300_000_000_000n,
      detectAttempts: 6,
      maxQueuedFrames: 1024,
      ...options,
    };
  }

  /** Bytes seen on a connection. `data` is only read during the call (the caller may reuse it). */
  onData(key: string, info: ConnectionInfo, direction: Direction, data: Uint8Array, tsNs: bigint): void {
    this.dataOn(this.conns.get(key) ?? this.open(key, info, tsNs), direction, data, tsNs);
  }

  /** The connection under `key`, opened (with `info`) when new: a handle for `dataOn`. */
  connection(key: string, info: ConnectionInfo, tsNs: bigint): TrackedConnection {
    return this.conns.get(key) ?? this.open(key, info, tsNs);
  }

  /**
   * `onData` on a handle from `connection()`, which must not be `closed`. `data` is only read during the
   * call. The live source's per-read path: no key lookup.
   */
  dataOn(handle: TrackedConnection, direction: Direction, data: Uint8Array, tsNs: bigint): void {
    const conn = handle as Conn;
    conn.lastNs = tsNs;
    if (conn.phase === 'unknown' || data.length === 0) return;
    if (conn.phase === 'detecting') {
      const bytes = this.detectionBytes(conn, direction, data);
      if (!this.detect(conn, direction, bytes)) return;
      this.feed(conn, direction, bytes, tsNs);
      return;
    }
    this.feed(conn, direction, data, tsNs);
  }

  /** Bytes were lost in one direction (capture drop, reassembly gap): resynchronise on the next bytes. */
  onGap(key: string, direction: Direction): void {
    const conn = this.conns.get(key);
    if (conn === undefined) return;
    this.stats.gaps++;
    const buf = direction === 'egress' ? conn.egress : conn.ingress;
    if (conn.phase === 'tracking')
      conn.spec!.onGap?.(this.messageType(conn, direction), conn.state, buf.length > 0);
    this.stats.bytesDropped += buf.length;
    buf.clear();
    if (direction === 'egress') conn.resyncEgress = true;
    else conn.resyncIngress = true;
  }

  /** The connection closed: stitch what is left and forget it. */
  onClose(key: string): void {
    const conn = this.conns.get(key);
    if (conn === undefined) return;
    this.finish(conn);
    this.conns.delete(key);
    conn.closed = true;
    this.stats.connections = this.conns.size;
  }

  /**
   * Drops connections idle since before `nowNs - idleTimeout`. Call it periodically (every second or so):
   * it walks every connection, which keeps the per-read path free of bookkeeping.
   */
  expire(nowNs: bigint): void {
    const cutoff = nowNs - this.opts.idleTimeoutNs;
    for (const [key, conn] of this.conns) {
      if (conn.lastNs >= cutoff) continue;
      this.finish(conn);
      this.conns.delete(key);
      conn.closed = true;
      this.stats.connectionsExpired++;
    }
    this.stats.connections = this.conns.size;
  }

  /** End of input (end of a capture file): stitch and drop every connection. */
  flush(): void {
    for (const conn of this.conns.values()) {
      this.finish(conn);
      conn.closed = true;
    }
    this.conns.clear();
    this.stats.connections = 0;
  }

  /** What the tracker holds right now: buffered bytes and queued frames over all connections. */
  footprint(): { connections: number; bufferedBytes: number; queuedFrames: number } {
    let bufferedBytes = 0;
    let queuedFrames = 0;
    for (const c of this.conns.values()) {
      bufferedBytes += c.egress.length + c.ingress.length;
      bufferedBytes += (c.detectEgress?.length ?? 0) + (c.detectIngress?.length ?? 0);
      queuedFrames += c.requests.length + c.responses.length;
    }
    return { connections: this.conns.size, bufferedBytes, queuedFrames };
  }

  /** Protocol chosen for a connection, for tests and introspection. */
  protocolOf(key: string): ProtocolName | 'unknown' | 'detecting' | undefined {
    const c = this.conns.get(key);
    return c === undefined ? undefined : this.protocolOn(c);
  }

  /** Protocol of a connection handle (see `connection()`). */
  protocolOn(handle: TrackedConnection): ProtocolName | 'unknown' | 'detecting' {
    const c = handle as Conn;
    return c.phase === 'tracking' ? c.spec!.protocol : c.phase;
  }

  private open(key: string, info: ConnectionInfo, tsNs: bigint): Conn {
    if (this.conns.size >= this.opts.maxConnections) {
      // Full: evict the connection opened first (insertion order), a cheap stand-in for least recent.
      const oldest = this.conns.values().next().value as Conn;
      this.finish(oldest);
      this.conns.delete(oldest.key);
      oldest.closed = true;
      this.stats.connectionsEvicted++;
    }
    const conn: Conn = {
      key,
      closed: false,
      info,
      meta: { transport: info.transport, pid: info.pid, fd: info.fd },
      role: info.role,
      phase: 'detecting',
      spec: undefined,
      state: undefined,
      attempts: 0,
      switches: 0,
      lastNs: tsNs,
      egress: new DirectionBuffer(),
      ingress: new DirectionBuffer(),
      detectEgress: undefined,
      detectIngress: undefined,
      resyncEgress: false,
      resyncIngress: false,
      requests: [],
      responses: [],
    };
    this.setRole(conn, info.role);
    this.conns.set(key, conn);
    this.stats.connectionsOpened++;
    this.stats.connections = this.conns.size;
    return conn;
  }

  private setRole(conn: Conn, role: Role): void {
    conn.role = role;
    if (role === 'client') {
      conn.meta.client = conn.info.local;
      conn.meta.server = conn.info.remote;
    } else if (role === 'server') {
      conn.meta.client = conn.info.remote;
      conn.meta.server = conn.info.local;
    }
  }

  /** Joins a chunk to the few bytes kept from earlier tiny chunks of the same direction. */
  private detectionBytes(conn: Conn, direction: Direction, data: Uint8Array): Uint8Array {
    const kept = direction === 'egress' ? conn.detectEgress : conn.detectIngress;
    if (kept === undefined) return data;
    const joined = new Uint8Array(kept.length + data.length);
    joined.set(kept);
    joined.set(data, kept.length);
    return joined;
  }

  /** Returns true when the connection is now tracked and `data` should be parsed. */
  private detect(conn: Conn, direction: Direction, data: Uint8Array): boolean {
    const found = detectProtocol(this.opts.specs, conn.info, conn.role, direction, data, this.opts.decodeAs);
    if (found === undefined) {
      // Too few bytes to judge (a peer writing byte by byte): keep them and look again with the next chunk.
      const keep = data.length < MIN_DETECT_BYTES ? data.slice() : undefined;
      if (direction === 'egress') conn.detectEgress = keep;
      else conn.detectIngress = keep;
      if (keep === undefined && ++conn.attempts >= this.opts.detectAttempts) {
        conn.phase = 'unknown';
        conn.egress.clear();
        conn.ingress.clear();
        conn.detectEgress = undefined;
        conn.detectIngress = undefined;
        this.stats.connectionsUnknown++;
      }
      return false;
    }
    conn.detectEgress = undefined;
    conn.detectIngress = undefined;
    conn.spec = found.spec;
    conn.state = found.spec.newState(conn.meta);
    conn.phase = 'tracking';
    if (conn.role === 'unknown') this.setRole(conn, found.role);
    return true;
  }

  /** The messages being assembled in either direction (bytes buffered, not a frame yet); undefined if none. */
  private unfinished(conn: Conn): Unfinished | undefined {
    if (conn.egress.length === 0 && conn.ingress.length === 0) return undefined;
    const out: Unfinished = {};
    for (const direction of ['egress', 'ingress'] as const) {
      const buffer = direction === 'egress' ? conn.egress : conn.ingress;
      // A direction resynchronising after garbage holds no message start.
      const resync = direction === 'egress' ? conn.resyncEgress : conn.resyncIngress;
      if (buffer.length === 0 || resync) continue;
      const { buf, offset, end } = buffer.view();
      out[this.messageType(conn, direction)] = {
        tsNs: buffer.tsAt(offset),
        bytes: end - offset,
        head: buf.slice(offset, Math.min(end, offset + 16)),
      };
    }
    return out;
  }

  private messageType(conn: Conn, direction: Direction): MessageType {
    // With the role still unknown (detection could not tell), treat the observed side as the client.
    const client = conn.role !== 'server';
    return (direction === 'egress') === client ? 'request' : 'response';
  }

  private feed(conn: Conn, direction: Direction, data: Uint8Array, tsNs: bigint): void {
    const spec = conn.spec!;
    const type = this.messageType(conn, direction);
    const buffer = direction === 'egress' ? conn.egress : conn.ingress;
    const queue = type === 'request' ? conn.requests : conn.responses;
    let resync = direction === 'egress' ? conn.resyncEgress : conn.resyncIngress;
    if (conn.meta.transport === 'udp') buffer.clear(); // a datagram is parsed on its own

    let buf: Uint8Array;
    let offset: number;
    let end: number;
    const direct = buffer.length === 0;
    if (direct) {
      // Fast path: nothing pending, parse the caller's bytes in place and copy only a leftover tail.
      buf = data;
      offset = 0;
      end = data.length;
    } else {
      buffer.append(data, 0, tsNs);
      ({ buf, offset, end } = buffer.view());
    }
    const begin = offset;
    // Parsers see exactly the unconsumed bytes.
    const view = end === buf.length ? buf : buf.subarray(0, end);
    while (offset < end) {
      const ts = direct ? tsNs : buffer.tsAt(offset);
      const r = spec.parseFrame(type, view, offset, ts, conn.state);
      if (r.state === 'success') {
        resync = false;
        if (r.frames !== undefined) {
          // Indexed loops on the per-read path: a for-of there showed as an iterator per frame in profiles.
          const frames = r.frames;
          for (let i = 0; i < frames.length; i++) queue.push(frames[i]!);
          this.stats.framesParsed += r.frames.length;
        }
        offset += r.consumed > 0 ? r.consumed : end - offset;
      } else if (r.state === 'needs-more-data') {
        if (r.consumed > 0) offset += r.consumed;
        break;
      } else if (r.state === 'eos') {
        // The protocol ended on this connection (HTTP Upgrade, CONNECT tunnel): detect what follows.
        offset += Math.max(0, r.consumed);
        this.switchProtocol(conn, direction, view.subarray(offset, end), direct ? tsNs : buffer.tsAt(offset));
        return;
      } else if (r.state === 'ignored') {
        if (r.consumed <= 0) {
          offset = end; // a parser that skips nothing would loop forever
          break;
        }
        offset += r.consumed;
      } else {
        // invalid: skip to the next plausible frame start, or drop the rest.
        if (!resync) this.stats.framesInvalid++;
        resync = true;
        const next = spec.findFrameBoundary(type, view, offset + 1, conn.state);
        const to = next > offset && next <= end ? next : end;
        this.stats.bytesDropped += to - offset;
        offset = to;
      }
    }
    if (direction === 'egress') conn.resyncEgress = resync;
    else conn.resyncIngress = resync;

    if (direct) {
      if (offset < end && conn.meta.transport === 'tcp') buffer.append(data, offset, tsNs);
    } else {
      buffer.consume(offset - begin);
    }
    if (buffer.length > this.opts.maxBufferBytes) {
      this.stats.bufferOverflows++;
      this.stats.bytesDropped += buffer.length;
      buffer.clear();
      spec.onGap?.(type, conn.state, true); // the frame being assembled is lost, as in a capture gap
      if (direction === 'egress') conn.resyncEgress = true;
      else conn.resyncIngress = true;
    }
    this.boundQueue(queue);
    if (conn.requests.length > 0 || conn.responses.length > 0) this.stitch(conn);
  }

  private switchProtocol(conn: Conn, direction: Direction, rest: Uint8Array, tsNs: bigint): void {
    this.stitch(conn);
    this.finish(conn);
    conn.requests.length = 0;
    conn.responses.length = 0;
    conn.egress.clear();
    conn.ingress.clear();
    conn.resyncEgress = false;
    conn.resyncIngress = false;
    conn.spec = undefined;
    conn.state = undefined;
    conn.attempts = 0;
    // A real connection upgrades once or twice; a spec that keeps ending its protocol would recurse forever.
    if (++conn.switches > MAX_PROTOCOL_SWITCHES) {
      conn.phase = 'unknown';
      this.stats.connectionsUnknown++;
      return;
    }
    conn.phase = 'detecting';
    if (rest.length > 0 && this.detect(conn, direction, rest)) this.feed(conn, direction, rest.slice(), tsNs);
  }

  private boundQueue(queue: Frame[]): void {
    const excess = queue.length - this.opts.maxQueuedFrames;
    if (excess > 0) {
      queue.splice(0, excess);
      this.stats.framesDroppedQueue += excess;
    }
  }

  private stitch(conn: Conn): void {
    const spec = conn.spec!;
    const r = spec.stitch(conn.requests, conn.responses, conn.state, conn.meta);
    this.stats.stitchErrors += r.errors;
    const calls = r.calls;
    for (let i = 0; i < calls.length; i++) this.emit(conn, calls[i]!);
  }

  private finish(conn: Conn): void {
    if (conn.phase !== 'tracking') return;
    conn.spec!.releaseHeld?.(conn.requests, conn.responses, conn.state, this.unfinished(conn));
    if (conn.requests.length > 0 || conn.responses.length > 0) {
      this.stitch(conn);
      // What is still queued never found its peer.
      this.stats.stitchErrors += conn.requests.length + conn.responses.length;
    }
    const closed = conn.spec!.onClose?.(conn.state, conn.meta);
    if (closed !== undefined) {
      this.stats.stitchErrors += closed.errors;
      for (const call of closed.calls) this.emit(conn, call);
    }
  }

  private emit(conn: Conn, call: ApiCall): void {
    if (call.role === 'unknown' && conn.role !== 'unknown') call.role = conn.role;
    if (call.client === undefined && conn.meta.client !== undefined) call.client = conn.meta.client;
    if (call.server === undefined && conn.meta.server !== undefined) call.server = conn.meta.server;
    if (call.pid === undefined && conn.info.pid !== undefined) call.pid = conn.info.pid;
    this.stats.calls++;
    this.stats.callsByProtocol[call.protocol] = (this.stats.callsByProtocol[call.protocol] ?? 0) + 1;
    this.opts.onCall(call);
  }
}
