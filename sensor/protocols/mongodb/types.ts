import type { Frame } from '../contract.ts';
import type { SkipState } from '../prefixSkip.ts';

/**
 * MongoDB wire protocol (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/): a 16-byte
 * header (length, requestID, responseTo, opCode) then the body. Commands are OP_MSG (2013) in current
 * drivers; legacy OP_QUERY (2004) / OP_REPLY (1) still open many connections (the first `isMaster`).
 */
export interface MongoFrame extends Frame {
  requestId: number;
  responseTo: number;
  opCode: number;
  /** Request: first key of the command document (`find`, `insert`, `isMaster`). */
  command?: string;
  /** Request: the collection named by the command's first value, or OP_QUERY's full collection name. */
  collection?: string;
  /** Request: `$db` of an OP_MSG. */
  db?: string;
  /** Reply: the `ok` field (1 or 0), `code` and `errmsg` when present. */
  ok?: number;
  code?: number;
  errmsg?: string;
  /** Sent as OP_COMPRESSED with this compressor (`snappy`, `zlib`, `zstd`, `noop`). */
  compressor?: string;
  /** Why an OP_COMPRESSED message could not be decompressed (zstd, damaged, too large). */
  compressError?: string;
  /** OP_MSG flag moreToCome: no reply will follow this request. */
  moreToCome?: boolean;
  /** Parsed from its first bytes only (the rest skipped or not captured): fields past them are unknown. */
  truncated?: boolean;
}

/** Per connection: the bytes of the current request / response still to skip (parsed from its prefix). */
export type MongoState = SkipState;

export const OP = {
  REPLY: 1,
  UPDATE: 2001,
  INSERT: 2002,
  QUERY: 2004,
  GET_MORE: 2005,
  DELETE: 2006,
  KILL_CURSORS: 2007,
  COMPRESSED: 2012,
  MSG: 2013,
} as const;

export const KNOWN_OPCODES = new Set<number>(Object.values(OP));
/** maxMessageSizeBytes of every MongoDB server since 3.6. */
export const MAX_MESSAGE = 48_000_000;
export const MAX_TEXT = 256;
export const MAX_PENDING = 4096;
