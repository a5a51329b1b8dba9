import type { DetectInput, DetectResult, MessageType, ProtocolSpec } from '../contract.ts';
import { readU24, readU32, startsWithAscii } from '../tracker/bytes.ts';
import { parseH2 } from './frames.ts';
import { HpackDecoder } from './hpack.ts';
import { closeH2, stitchH2 } from './streams.ts';
import { type H2DirectionState, type H2Event, type H2State, HEADERS, PREFACE } from './types.ts';

/**
 * HTTP/2 (RFC 9113) with HPACK (RFC 7541), and gRPC on it (calls with content-type application/grpc are
 * reported as protocol `grpc`). Works from the connection preface or from the middle of a connection.
 */

/** Max payload a frame may have before SETTINGS raise it; mid-stream detection only trusts this size. */
const DEFAULT_MAX_FRAME = 16_384;

/** Flags defined per frame type (RFC 9113 6.x): a frame using others is unlikely to be HTTP/2. */
const ALLOWED_FLAGS = [0x09, 0x2d, 0x00, 0x00, 0x01, 0x0c, 0x01, 0x00, 0x00, 0x04];

/** Checks a frame header at `at`; returns the offset after the frame, or -1 when it is not plausible. */
function plausibleFrame(d: Uint8Array, at: number): number {
  if (d.length - at < 9) return -1;
  const len = readU24(d, at);
  const type = d[at + 3]!;
  const flags = d[at + 4]!;
  const word = readU32(d, at + 5);
  if (type > 9 || (flags & ~ALLOWED_FLAGS[type]!) !== 0 || len > DEFAULT_MAX_FRAME || word > 0x7fffffff)
    return -1;
  const connectionLevel = type === 4 || type === 6 || type === 7;
  if (connectionLevel !== (word === 0) && type !== 8) return -1;
  if (type === 4 && len % 6 !== 0) return -1;
  if (
    (type === 6 && len !== 8) ||
    (type === 3 && len !== 4) ||
    (type === 8 && len !== 4) ||
    (type === 2 && len !== 5)
  )
    return -1;
  return at + 9 + len;
}

/** What the first field of a HEADERS block says: request pseudo-headers or :status. */
function headersKind(d: Uint8Array, at: number): 'request' | 'response' | undefined {
  const flags = d[at + 4]!;
  let p = at + 9;
  if (flags & 0x08) p += 1;
  if (flags & 0x20) p += 5;
  const b = d[p];
  if (b === undefined) return undefined;
  if (b >= 0x82 && b <= 0x87) return 'request'; // indexed :method / :path / :scheme
  if (b >= 0x88 && b <= 0x8e) return 'response'; // indexed :status
  const nameIndex = b & 0x40 ? b & 0x3f : b & 0x0f;
  if (nameIndex >= 1 && nameIndex <= 7) return 'request';
  if (nameIndex === 8) return 'response';
  return undefined;
}

function detect(input: DetectInput): DetectResult {
  const d = input.data;
  if (input.transport !== 'tcp' || d.length < 9) return { score: 0 };
  if (
    d[0] === 0x50 &&
    startsWithAscii(d, 0, d.length, PREFACE.slice(0, Math.min(d.length, PREFACE.length)))
  ) {
    return { score: d.length >= 14 ? 1 : 0.6, messageType: 'request' };
  }
  // Mid-connection: every frame in the chunk must be plausible and the chunk must end on a frame boundary.
  let at = 0;
  let frames = 0;
  let kind: 'request' | 'response' | undefined;
  let sawHeaders = false;
  while (at < d.length && frames < 64) {
    const next = plausibleFrame(d, at);
    if (next < 0 || next > d.length) return { score: 0 };
    if (d[at + 3] === HEADERS) {
      sawHeaders = true;
      kind ??= headersKind(d, at);
    }
    at = next;
    frames++;
  }
  // A lone frame header could be anything binary; HEADERS with pseudo-headers are telling.
  let score = frames >= 2 ? 0.55 : 0.3;
  if (sawHeaders && kind !== undefined) score += 0.3;
  return { score, messageType: kind };
}

function findFrameBoundary(_type: MessageType, buf: Uint8Array, offset: number, _state: H2State): number {
  for (let i = offset; i + 9 <= buf.length; i++) {
    const next = plausibleFrame(buf, i);
    if (next < 0) continue;
    // Trust a candidate only when the frame after it is plausible too, or it ends the buffer exactly.
    if (next === buf.length || (next + 9 <= buf.length && plausibleFrame(buf, next) >= 0)) return i;
  }
  return -1;
}

function direction(): H2DirectionState {
  return {
    hpack: new HpackDecoder(),
    pendingBlock: undefined,
    pendingStream: 0,
    pendingEndStream: false,
    pendingTs: 0n,
    skipRemaining: 0,
    skipDataLeft: 0,
    skipStream: 0,
    grpcMessagesSeen: 0,
    grpcRemaining: new Map(),
    prefaceSeen: false,
  };
}

export const spec: ProtocolSpec<H2Event, H2State> = {
  protocol: 'http2',
  detect,
  newState: (meta) => {
    const state: H2State = { request: direction(), response: direction(), streams: new Map() };
    const up = meta.upgradedRequest;
    if (up !== undefined) {
      // After an h2c upgrade the HTTP/1.1 request is stream 1: seed it so its HTTP/2 response pairs.
      meta.upgradedRequest = undefined;
      state.streams.set(1, {
        id: 1,
        startNs: up.tsNs,
        endNs: up.tsNs,
        request: [
          [':method', up.method],
          [':path', up.resource],
          [':authority', up.authority],
        ],
        unknownHeaders: 0,
        reqBytes: 0,
        respBytes: 0,
        reqMessages: 0,
        respMessages: 0,
        requestEnded: true,
      });
    }
    return state;
  },
  parseFrame: parseH2,
  findFrameBoundary,
  stitch: (requests, responses, state) => stitchH2(requests, responses, state),
  onClose: (state) => closeH2(state),
};
