/**
 * The one contract every protocol implements (after Pixie's socket tracer):
 *   1. parse frames from the byte stream of one direction: success | needs-more-data | invalid | ignored | eos
 *   2. on invalid input, find the next frame boundary to resynchronise (captures may start mid-stream)
 *   3. stitch request frames to response frames into API calls, counting what could not be paired.
 *
 * A protocol is one folder `sensor/protocols/<name>/` exporting a `ProtocolSpec`. The generic connection
 * tracker owns buffering, bounds and expiry; a spec only reads bytes and keeps per-connection state
 * (HPACK tables, prepared statements, ...) in the state object it creates.
 */

export type ProtocolName =
  | 'http'
  | 'http2'
  | 'grpc'
  | 'dns'
  | 'postgres'
  | 'mysql'
  | 'redis'
  | 'kafka'
  | 'mongodb'
  | 'amqp'
  | 'nats';

/** Which side of the conversation a stream of bytes is. */
export type MessageType = 'request' | 'response';

/** The observed process's role on the connection; `unknown` until connect/accept or detection says. */
export type Role = 'client' | 'server' | 'unknown';

/**
 * `eos`: this protocol ended on the connection (e.g. after an HTTP Upgrade); the tracker stitches what is
 * queued and detects the protocol of the bytes after `consumed` afresh.
 */
export type ParseState = 'success' | 'needs-more-data' | 'invalid' | 'ignored' | 'eos';

export interface Frame {
  /** Capture time of the first byte of the frame, in nanoseconds (monotonic or epoch: same clock per source). */
  tsNs: bigint;
  /** Bytes on the wire this frame covered. */
  size: number;
}

export interface ParseResult<F extends Frame> {
  state: ParseState;
  /** Bytes consumed from `offset` (also for `ignored`, so the tracker can skip them). */
  consumed: number;
  /** Present when `state === 'success'`. Some protocols yield several frames for one read (e.g. HTTP/2). */
  frames?: F[];
}

/** The start of a message still being assembled when its connection ended (a close, or a capture gap). */
export interface PartialMessage {
  tsNs: bigint;
  /** Bytes buffered so far (a lower bound of the message's size). */
  bytes: number;
  /** Its first bytes (at most 16, copied). */
  head: Uint8Array;
}

/** Per message type, what `releaseHeld` learns about messages cut off by the connection's end. */
export interface Unfinished {
  request?: PartialMessage;
  response?: PartialMessage;
}

export interface Endpoint {
  ip: string;
  port: number;
}

/** Facts about the connection known outside the byte stream. */
export interface ConnectionMeta {
  pid?: number;
  fd?: number;
  transport: 'tcp' | 'udp';
  /** Client and server once the role is known; from connect/accept or from detection. */
  client?: Endpoint;
  server?: Endpoint;
  /**
   * Set by a protocol that hands the connection over (HTTP/1.1 `Upgrade: h2c`): the request that the next
   * protocol answers first (HTTP/2 stream 1). The next spec's `newState` consumes it.
   */
  upgradedRequest?: { method: string; resource: string; authority: string; tsNs: bigint };
}

export interface StitchResult {
  calls: ApiCall[];
  /** Frames that could not be paired or made no sense together. */
  errors: number;
}

/** Context for detection: the first bytes seen in one direction, plus hints that never decide alone. */
export interface DetectInput {
  data: Uint8Array;
  /** Which way the bytes went relative to the observed process (`egress` = it wrote them). */
  direction: 'egress' | 'ingress';
  role: Role;
  localPort?: number;
  remotePort?: number;
  transport: 'tcp' | 'udp';
}

export interface DetectResult {
  /** 0 = not this protocol; 1 = certain. Ports may only raise a score that the bytes already support. */
  score: number;
  /** What the bytes are, when the detector can tell (a request when role is unknown tells the role). */
  messageType?: MessageType;
}

export interface ProtocolSpec<F extends Frame = Frame, S = unknown> {
  readonly protocol: ProtocolName;
  /** Cheap check on the first bytes of a direction; must not allocate for a clear "no". */
  detect(input: DetectInput): DetectResult;
  /** Per-connection parser state (HPACK dynamic tables, prepared statements, pending pub/sub, ...). */
  newState(meta: ConnectionMeta): S;
  /**
   * Parses at most one frame (or one read's worth of frames) starting at `offset`.
   * Must not keep a reference to `buf` after returning: the tracker reuses it. Copy what the record needs.
   * A spec may return the same result object (and frames array) from every call: callers must take the
   * frames out before calling again (the tracker does).
   */
  parseFrame(type: MessageType, buf: Uint8Array, offset: number, tsNs: bigint, state: S): ParseResult<F>;
  /** Index of the next plausible frame start at or after `offset`, or -1. Used after `invalid`. */
  findFrameBoundary(type: MessageType, buf: Uint8Array, offset: number, state: S): number;
  /**
   * Pairs queued frames. Consumes (splices out) the frames it used or discarded from both arrays and
   * leaves the rest for later (e.g. a request whose response has not arrived).
   * Like `parseFrame`, a spec may return the same result object (and calls array) from every call: the
   * caller takes the calls out before stitching again (the tracker does).
   */
  stitch(requests: F[], responses: F[], state: S, meta: ConnectionMeta): StitchResult;
  /**
   * Optional: bytes of one direction were lost (capture drop, TCP gap). `partial` is true when a frame was
   * being assembled, i.e. that message is lost. Lets the spec reset per-direction parse state and account
   * for the lost message in its pairing (e.g. HTTP/1.x drops the request whose response was lost).
   */
  onGap?(type: MessageType, state: S, partial: boolean): void;
  /**
   * Optional: the connection ends (close, expiry, end of capture, protocol switch), before the last
   * `stitch`. A spec that holds frames back until the message is complete (an HTTP/1.x body whose length is
   * only known when it ends, e.g. read until close) pushes them into the queues here.
   */
  releaseHeld?(requests: F[], responses: F[], state: S, unfinished?: Unfinished): void;
  /**
   * Optional: the connection ended (close, expiry, end of capture) after a last `stitch`. Returns calls that
   * can still be reported from what the state holds (e.g. HTTP/2 streams whose end was never seen).
   */
  onClose?(state: S, meta: ConnectionMeta): StitchResult;
}

/** One observed API call: the unit of RED metrics and traces. */
export interface ApiCall {
  protocol: ProtocolName;
  role: Role;
  /** HTTP method, gRPC method, SQL verb, Redis command, Kafka API name, DNS qtype, AMQP method, NATS op. */
  method: string;
  /** Path, query text, command key, topic, qname, collection, exchange/queue, subject. */
  resource: string;
  /** HTTP status, grpc-status, SQLSTATE or MySQL error code, Redis error prefix, DNS rcode, Kafka error code. */
  status: string;
  error: boolean;
  startNs: bigint;
  endNs: bigint;
  reqBytes: number;
  respBytes: number;
  client?: Endpoint;
  server?: Endpoint;
  pid?: number;
  /** Bounded copies; redaction happens before anything leaves the sensor. */
  reqHeaders?: Record<string, string>;
  respHeaders?: Record<string, string>;
  reqBody?: string;
  respBody?: string;
  /** Protocol-specific extras (e.g. `db.name`, `rpc.service`, `messaging.destination`). */
  attributes?: Record<string, string | number | boolean>;
  /**
   * W3C trace contexts of the messages a call carries when it carries several (a Kafka record batch): its
   * span links to each. A call with one message gives that message's headers as `reqHeaders` instead, so
   * its `traceparent` makes the span a child. Bounded by the parser.
   */
  links?: { traceparent: string; tracestate?: string }[];
}
