import type { Frame } from '../contract.ts';

/** One HTTP/1.x message head (the body is skipped, only a bounded prefix is kept). */
export interface HttpFrame extends Frame {
  kind: 'request' | 'response';
  /** Request method (requests only). */
  method: string;
  /** Request target as sent: origin form with query, or absolute form through proxies. */
  target: string;
  /** Response status code (responses only). */
  status: number;
  /**
   * `raw[rawStart, rawEnd)`: a copy of the header lines (bounded) followed by the body prefix, decoded only
   * when a consumer reads the call's headers or body (most calls only feed metrics). `raw` is a shared slab.
   */
  raw: Uint8Array;
  rawStart: number;
  /** Bytes of header lines from `rawStart`. */
  headLength: number;
  /** Where the body prefix starts in `raw` (equals `rawEnd` when none was kept). */
  bodyStart: number;
  rawEnd: number;
  /** Body length when known (Content-Length), else the bytes seen with the head. */
  bodySize: number;
  /** The request asked to switch protocols (Upgrade) or tunnel (CONNECT). */
  upgrade: boolean;
}

/** How the rest of a message body is skipped when it did not arrive with the head. */
export const BodyMode = { None: 0, Length: 1, Chunked: 2, UntilClose: 3 } as const;
export type BodyMode = (typeof BodyMode)[keyof typeof BodyMode];

export interface HttpDirectionState {
  body: BodyMode;
  /** Bytes of body (Length) or of the current chunk (Chunked) still to skip. */
  remaining: number;
  /** Chunked: 0 = expecting a size line, 1 = in chunk data, 2 = expecting CRLF after data, 3 = trailers. */
  chunkPhase: number;
  /**
   * Bytes of an incomplete head already searched for its end (from the frame start): a head that arrives
   * in many small reads is searched once, not from the start on every read.
   */
  headSearched: number;
}

export interface HttpState {
  request: HttpDirectionState;
  response: HttpDirectionState;
  /** Methods of requests whose responses have not been parsed yet (HEAD responses have no body). */
  pendingMethods: string[];
  /** Responses lost in capture gaps: their requests are dropped instead of pairing with later responses. */
  lostResponses: number;
  /** After a 101 or a CONNECT 2xx the bytes are no longer HTTP. */
  switched: boolean;
}

export const HEADER_LIMIT = 32;
/** Header bytes kept per message for the record (the rest of a longer head is parsed, not kept). */
export const HEAD_KEEP_LIMIT = 4096;
export const HEADER_VALUE_LIMIT = 256;
export const BODY_PREFIX_LIMIT = 256;
/** A head larger than this is not HTTP we can follow (servers reject far less). */
export const MAX_HEAD_BYTES = 64 * 1024;
