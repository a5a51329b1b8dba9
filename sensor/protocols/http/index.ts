import type { DetectInput, DetectResult, MessageType, ProtocolSpec } from '../contract.ts';
import { startsWithAscii } from '../tracker/bytes.ts';
import { parseHttp } from './parse.ts';
import { mergeReleased, stitchHttp } from './stitch.ts';
import { BodyMode, type HttpFrame, type HttpState } from './types.ts';

/** Methods a detector accepts at the very start of a stream (RFC 9110 plus common WebDAV ones). */
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'PROPFIND'];

function methodAt(buf: Uint8Array, at: number, end: number): boolean {
  const c = buf[at];
  // Cheap first-byte filter: every method above starts with one of these letters.
  if (c !== 71 && c !== 80 && c !== 68 && c !== 72 && c !== 79 && c !== 67 && c !== 84) return false;
  for (const m of METHODS) {
    if (startsWithAscii(buf, at, end, m) && buf[at + m.length] === 32) return true;
  }
  return false;
}

function detect(input: DetectInput): DetectResult {
  const d = input.data;
  if (input.transport !== 'tcp' || d.length < 4) return { score: 0 };
  if (startsWithAscii(d, 0, d.length, 'HTTP/1.') && d.length >= 12 && d[8] === 32) {
    return { score: 0.95, messageType: 'response' };
  }
  if (methodAt(d, 0, d.length)) {
    // "PRI * HTTP/2.0" is HTTP/2's preface, not a method we know; seeing "HTTP/1." on the line confirms.
    const line = Math.min(d.length, 8192);
    for (let i = 0; i + 7 < line; i++) {
      if (d[i] === 13) return { score: 0.6, messageType: 'request' };
      if (d[i] === 72 && startsWithAscii(d, i, line, 'HTTP/1.'))
        return { score: 0.95, messageType: 'request' };
    }
    return { score: 0.6, messageType: 'request' };
  }
  return { score: 0 };
}

function findFrameBoundary(type: MessageType, buf: Uint8Array, offset: number, _state: HttpState): number {
  const end = buf.length;
  for (let i = offset; i < end; i++) {
    if (i > 0 && buf[i - 1] !== 10) continue; // messages start at line starts
    if (type === 'response' ? startsWithAscii(buf, i, end, 'HTTP/1.') : methodAt(buf, i, end)) return i;
  }
  return -1;
}

export const spec: ProtocolSpec<HttpFrame, HttpState> = {
  protocol: 'http',
  detect,
  newState: () => ({
    request: { body: BodyMode.None, remaining: 0, chunkPhase: 0, headSearched: 0, held: undefined },
    response: { body: BodyMode.None, remaining: 0, chunkPhase: 0, headSearched: 0, held: undefined },
    pendingMethods: [],
    lostResponses: 0,
    switched: false,
    released: [],
  }),
  parseFrame: parseHttp,
  findFrameBoundary,
  stitch: (requests, responses, state, meta) => stitchHttp(requests, responses, state, meta),
  releaseHeld: (requests, responses, state) => {
    // The connection ends: a body read until close is complete now, a chunked one never will be.
    for (const dir of [state.request, state.response]) {
      if (dir.held !== undefined) state.released.push(dir.held);
      dir.held = undefined;
    }
    mergeReleased(requests, responses, state);
  },
  onGap: (type, state, partial) => {
    const dir = type === 'request' ? state.request : state.response;
    dir.body = BodyMode.None;
    dir.remaining = 0;
    dir.chunkPhase = 0;
    dir.headSearched = 0;
    // A body cut by lost bytes: its message goes out with the bytes seen (a lower bound of its size). The
    // bytes being assembled then belonged to that body, no response was lost.
    const held = dir.held;
    if (held !== undefined) {
      state.released.push(held);
      dir.held = undefined;
    }
    if (held === undefined && partial && type === 'response') {
      state.lostResponses++;
      state.pendingMethods.shift();
    }
  },
};
