import type { Frame } from '../contract.ts';
import type { HeaderList, HpackDecoder } from './hpack.ts';

/** Frame types (RFC 9113 section 6). */
export const DATA = 0;
export const HEADERS = 1;
export const PRIORITY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PUSH_PROMISE = 5;
export const PING = 6;
export const GOAWAY = 7;
export const WINDOW_UPDATE = 8;
export const CONTINUATION = 9;

export const FLAG_END_STREAM = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

/** The largest frame a peer may allow (2^24-1); we accept that, but never buffer it whole. */
export const MAX_FRAME_PAYLOAD = 0xffffff;
export const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

/** What one HTTP/2 frame contributed to a stream, as queued for the stitcher. */
export interface H2Event extends Frame {
  streamId: number;
  kind: 'headers' | 'data' | 'rst';
  endStream: boolean;
  /** Decoded header block (HEADERS + CONTINUATION), names lower-case. */
  headers?: HeaderList;
  unknownHeaders?: number;
  /** DATA: payload length (without padding). */
  dataLength?: number;
  /** DATA: gRPC message starts seen in this frame (5-byte length-prefixed messages). */
  grpcMessages?: number;
  /** RST_STREAM error code. */
  errorCode?: number;
}

export interface H2DirectionState {
  hpack: HpackDecoder;
  /** Header block being assembled across CONTINUATION frames. */
  pendingBlock: Uint8Array | undefined;
  pendingStream: number;
  pendingEndStream: boolean;
  pendingTs: bigint;
  /** Bytes of the current DATA frame payload still to skip (not buffered). */
  skipRemaining: number;
  /** Of `skipRemaining`, how many are data (the rest is padding), and whose stream they belong to. */
  skipDataLeft: number;
  skipStream: number;
  /** Running count of gRPC message starts seen in this direction. */
  grpcMessagesSeen: number;
  /** Per stream: bytes left of the current gRPC message, to find message starts across frames. */
  grpcRemaining: Map<number, number>;
  prefaceSeen: boolean;
}

export interface H2Stream {
  id: number;
  startNs: bigint;
  endNs: bigint;
  request?: HeaderList;
  response?: HeaderList;
  trailers?: HeaderList;
  unknownHeaders: number;
  reqBytes: number;
  respBytes: number;
  reqMessages: number;
  respMessages: number;
  requestEnded: boolean;
  rstCode?: number;
}

export interface H2State {
  request: H2DirectionState;
  response: H2DirectionState;
  streams: Map<number, H2Stream>;
}

/** Streams open at once per connection; past it the oldest is dropped (servers allow ~100-250). */
export const MAX_OPEN_STREAMS = 1024;
