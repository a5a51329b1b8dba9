import type { Frame } from '../contract.ts';

/**
 * NATS client protocol (https://docs.nats.io/reference/reference-protocols/nats-protocol): CRLF-terminated
 * text control lines, some followed by a payload of a stated size. A frame is one protocol message.
 */
export type NatsOp =
  | 'INFO'
  | 'CONNECT'
  | 'PUB'
  | 'HPUB'
  | 'SUB'
  | 'UNSUB'
  | 'MSG'
  | 'HMSG'
  | 'PING'
  | 'PONG'
  | '+OK'
  | '-ERR';

export interface NatsFrame extends Frame {
  op: NatsOp;
  subject?: string;
  replyTo?: string;
  sid?: string;
  queue?: string;
  /** Payload bytes (the headers not included for HPUB/HMSG). */
  payloadSize?: number;
  /** HPUB/HMSG headers (bounded); `traceparent` here links the span into the producer's trace. */
  headers?: Record<string, string>;
  /** -ERR text; CONNECT: whether the client asked for verbose +OK acknowledgements. */
  text?: string;
  verbose?: boolean;
}

export interface NatsState {
  /** The client sent `"verbose":true`: the server acknowledges every message with +OK or -ERR. */
  verbose: boolean;
}

/** Control lines longer than this are garbage (the server's own limit is 4 KB by default). */
export const MAX_CONTROL_LINE = 4096;
/** The server's max_payload default is 1 MB; allow a configured maximum up to 64 MB. */
export const MAX_PAYLOAD = 64 << 20;
export const MAX_TEXT = 256;
/** Headers kept per message, and the longest header name. */
export const MAX_HEADERS = 32;
export const MAX_HEADER_NAME = 128;
