import type { Frame } from '../contract.ts';

/**
 * Redis serialization protocol, RESP2 and RESP3 (https://redis.io/docs/latest/develop/reference/protocol-spec/).
 * A frame is one complete top-level value: a command (array of bulk strings, or an inline command) on the
 * request side, a reply or an out-of-band push on the response side.
 */
export interface RedisFrame extends Frame {
  /** Type byte of the top-level value (`*`, `+`, `-`, `$`, `>`, ...); `i` for an inline command. */
  type: number;
  /** Requests: the command name (upper case) and the second argument (key, channel), both bounded. */
  command?: string;
  arg1?: string;
  argc?: number;
  /** Replies: simple string or error text (bounded); for aggregates, their first element when a string. */
  text?: string;
  /** Aggregates: the second element when a string (a pub/sub channel), and the third when an integer. */
  second?: string;
  third?: number;
  /** Number of elements of an aggregate. */
  length?: number;
  /** Made up by `releaseCut`: a reply whose end the capture never saw. */
  cut?: boolean;
}

export interface RedisState {
  /** The connection is in (RESP2) subscribed mode: arrays starting with `message` are pushes. */
  subscriptions: number;
}

/** Values nested deeper than this are treated as garbage. */
export const MAX_DEPTH = 32;
/** Aggregate lengths and bulk string sizes beyond these are treated as garbage. */
export const MAX_ELEMENTS = 1 << 20;
export const MAX_BULK = 512 << 20;
/** Copied strings are cut to this many bytes. */
export const MAX_TEXT = 256;
