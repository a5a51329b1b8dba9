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
   * A Latin-1 copy (one char per byte) of the start line, the header lines (bounded) and the body prefix,
   * decoded only when a consumer reads the call's headers or body (most calls only feed metrics). A string
   * rather than bytes: one native slice per message, young-generation garbage, and `target` is a substring.
   */
  raw: string;
  /** Where the header lines start in `raw` (after the start line's CRLF). */
  headStart: number;
  /** Chars of header lines from `headStart`. */
  headLength: number;
  /** Where the body prefix starts in `raw` (equals `raw.length` when none was kept). */
  bodyStart: number;
  /**
   * Body bytes on the wire: Content-Length, or for chunked bodies and bodies read until close every byte
   * of the body framing counted as it streams (the frame is held back until the body ends, see
   * `HttpDirectionState.held`). `size` is the head plus this.
   */
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
  /**
   * A message whose body length is only known at its end (chunked, or read until close): the frame waits
   * here while its body streams, counting the bytes, and is handed to the tracker when the body ends (or
   * to `released` when the framing breaks or bytes are lost; at close by `releaseHeld`).
   */
  held: HttpFrame | undefined;
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
  /** Held frames whose body ended abnormally (broken framing, a gap): stitched in time order. */
  released: HttpFrame[];
}

export const HEADER_LIMIT = 32;
/** Header bytes kept per message for the record (the rest of a longer head is parsed, not kept). */
export const HEAD_KEEP_LIMIT = 4096;
export const HEADER_VALUE_LIMIT = 256;
export const BODY_PREFIX_LIMIT = 256;
/** A head larger than this is not HTTP we can follow (servers reject far less). */
export const MAX_HEAD_BYTES = 64 * 1024;
