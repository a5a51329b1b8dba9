import type { Frame } from '../contract.ts';

/**
 * PostgreSQL frontend/backend protocol 3.0 messages
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html).
 * A frame is one message; only the fields the stitcher needs are copied out of the buffer.
 */
export interface PgFrame extends Frame {
  /** The message type byte, or 0 for the untyped startup-phase messages (startup, SSLRequest, cancel). */
  tag: number;
  /** For tag 0: which untyped message; for the one-byte SSL answer: `ssl-answer`. */
  untyped?: 'startup' | 'ssl-request' | 'gss-request' | 'cancel' | 'ssl-answer';
  /** Query (Q, P), command tag (C), error message (E), SSL answer letter. */
  text?: string;
  /** Statement name (P, B, Describe/Close target), portal name (Execute). */
  name?: string;
  /** Portal name of a Bind. */
  portal?: string;
  /** SQLSTATE of an ErrorResponse. */
  code?: string;
  severity?: string;
  /** Startup parameters (`user`, `database`, `application_name`). */
  params?: Record<string, string>;
  /** Made up by `releaseCut`: the end of an answer whose last bytes were never seen. */
  cut?: boolean;
}

export interface PgState {
  /** Prepared statements by name (from Parse): name -> query text. Bounded. */
  statements: Map<string, string>;
  /** Portals by name (from Bind): portal -> statement name. Bounded. */
  portals: Map<string, string>;
  /** An SSLRequest or GSSENCRequest went out: the next backend byte is the one-letter answer. */
  awaitingSslAnswer: boolean;
  /** An ErrorResponse completed a simple query before its ReadyForQuery arrived: skip that one. */
  skipReadyForQuery: boolean;
  /** Encryption was accepted: the rest of the connection is TLS. */
  encrypted: boolean;
  user?: string;
  database?: string;
}

export const MSG = {
  // frontend
  Query: 0x51, // Q
  Parse: 0x50, // P
  Bind: 0x42, // B
  Execute: 0x45, // E (frontend)
  Describe: 0x44, // D (frontend)
  Close: 0x43, // C (frontend)
  Sync: 0x53, // S (frontend)
  Flush: 0x48, // H
  Terminate: 0x58, // X
  FunctionCall: 0x46, // F
  Password: 0x70, // p
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyFail: 0x66, // f
  // backend
  Authentication: 0x52, // R
  ParameterStatus: 0x53, // S (backend)
  BackendKeyData: 0x4b, // K
  ReadyForQuery: 0x5a, // Z
  CommandComplete: 0x43, // C (backend)
  ErrorResponse: 0x45, // E (backend)
  NoticeResponse: 0x4e, // N
  EmptyQueryResponse: 0x49, // I
  PortalSuspended: 0x73, // s
  DataRow: 0x44, // D (backend)
} as const;

/** Message type bytes each side may send. */
export const FRONTEND_TAGS = new Set([...'QPBEDCSHXFpdcf'].map((c) => c.charCodeAt(0)));
export const BACKEND_TAGS = new Set([...'RSKZCEN123ItTnDsVdcGHWAv'].map((c) => c.charCodeAt(0)));

/** Messages longer than this are treated as garbage: a real one this large would be bulk COPY data. */
export const MAX_MESSAGE = 64 << 20;
/** Copied text (queries, tags, messages) is cut to this many bytes. */
export const MAX_TEXT = 4096;
/** Prepared statements and portals remembered per connection. */
export const MAX_STATEMENTS = 1024;
