import type { Frame } from '../contract.ts';

/**
 * MySQL/MariaDB client/server protocol (https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html).
 * A frame is one packet (3-byte length, sequence id, payload). Which packets form one response depends on
 * the command that asked, so the stitcher, not the parser, groups response packets.
 */
export interface MyFrame extends Frame {
  seq: number;
  payloadLen: number;
  /** Payload bytes 0..15, copied (the first byte tells OK/ERR/EOF/column count). */
  head: Uint8Array;
  /** Request: the command byte (when `seq === 0`). */
  command?: number;
  /** COM_QUERY / COM_STMT_PREPARE text, COM_INIT_DB schema; ERR message. */
  text?: string;
  /** ERR: error code and SQLSTATE. */
  errorCode?: number;
  sqlState?: string;
  /** Initial handshake from the server (protocol version 10). */
  greeting?: { capabilities: number; version: string };
  /** Handshake response from the client; `ssl` when it is the short SSLRequest. */
  login?: { capabilities: number; user: string; database?: string; ssl: boolean };
  /** The packet is 0xffffff bytes long: the next packet continues its payload. */
  continued?: boolean;
  /** Made up by `releaseCut`: the end of an answer whose last packets were never seen. */
  cut?: boolean;
}

export interface MyState {
  /** Prepared statements by id (from COM_STMT_PREPARE answers): id -> query text. Bounded. */
  statements: Map<number, string>;
  serverCapabilities: number;
  clientCapabilities: number;
  /** Between the server greeting and the OK/ERR that ends authentication. */
  inLogin: boolean;
  encrypted: boolean;
  /** The capture started after the handshake and the packets' framing is the compressed protocol's. */
  compressedFraming: boolean;
  /** Compressed protocol: ordinary packet bytes decompressed but not parsed yet, per direction. */
  plain: { request: Uint8Array; response: Uint8Array };
  user?: string;
  database?: string;
}

export const COM = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  STATISTICS: 0x09,
  PING: 0x0e,
  CHANGE_USER: 0x11,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  RESET_CONNECTION: 0x1f,
} as const;

export const COMMAND_NAMES: Record<number, string> = {
  0: 'SLEEP',
  1: 'QUIT',
  2: 'INIT_DB',
  3: 'QUERY',
  4: 'FIELD_LIST',
  5: 'CREATE_DB',
  6: 'DROP_DB',
  7: 'REFRESH',
  8: 'SHUTDOWN',
  9: 'STATISTICS',
  10: 'PROCESS_INFO',
  11: 'CONNECT',
  12: 'PROCESS_KILL',
  13: 'DEBUG',
  14: 'PING',
  15: 'TIME',
  16: 'DELAYED_INSERT',
  17: 'CHANGE_USER',
  18: 'BINLOG_DUMP',
  19: 'TABLE_DUMP',
  20: 'CONNECT_OUT',
  21: 'REGISTER_SLAVE',
  22: 'STMT_PREPARE',
  23: 'STMT_EXECUTE',
  24: 'STMT_SEND_LONG_DATA',
  25: 'STMT_CLOSE',
  26: 'STMT_RESET',
  27: 'SET_OPTION',
  28: 'STMT_FETCH',
  29: 'DAEMON',
  30: 'BINLOG_DUMP_GTID',
  31: 'RESET_CONNECTION',
};

export const CLIENT_PROTOCOL_41 = 0x200;
export const CLIENT_SSL = 0x800;
export const CLIENT_CONNECT_WITH_DB = 0x8;
export const CLIENT_DEPRECATE_EOF = 1 << 24;
export const SERVER_MORE_RESULTS_EXISTS = 0x0008;

/** Copied text is cut to this many bytes. */
export const MAX_TEXT = 4096;
export const MAX_STATEMENTS = 1024;
export const MAX_PACKET = 0xffffff;
