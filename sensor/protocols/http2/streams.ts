import type { ApiCall, StitchResult } from '../contract.ts';
import { type HeaderList, UNKNOWN_HEADER } from './hpack.ts';
import { type H2Event, type H2State, type H2Stream, MAX_OPEN_STREAMS } from './types.ts';

const HEADER_LIMIT = 32;
const HEADER_VALUE_LIMIT = 256;

/**
 * Folds queued frame events into per-stream state and emits a call when the response side ends (END_STREAM)
 * or the stream is reset.
 */
export function stitchH2(requests: H2Event[], responses: H2Event[], state: H2State): StitchResult {
  const calls: ApiCall[] = [];
  let errors = 0;
  // Fold both directions in capture order (a client RST_STREAM after the response head must see it).
  let i = 0;
  let j = 0;
  while (i < requests.length || j < responses.length) {
    const takeRequest =
      j >= responses.length || (i < requests.length && requests[i]!.tsNs <= responses[j]!.tsNs);
    if (takeRequest) errors += foldRequest(state, requests[i++]!);
    else errors += foldResponse(state, responses[j++]!, calls);
  }
  requests.length = 0;
  responses.length = 0;
  return { calls, errors };
}

function foldRequest(state: H2State, ev: H2Event): number {
  const st = stream(state, ev);
  if (ev.kind === 'headers') {
    st.unknownHeaders += ev.unknownHeaders ?? 0;
    if (st.request === undefined) st.request = ev.headers;
    st.requestEnded ||= ev.endStream;
    st.reqBytes += ev.size;
  } else if (ev.kind === 'data') {
    st.reqBytes += ev.size;
    st.reqMessages += ev.grpcMessages ?? 0;
    st.requestEnded ||= ev.endStream;
  } else {
    // A client reset: the server may still answer frames already in flight, so wait for its side or the
    // connection's end before reporting the call.
    st.rstCode = ev.errorCode;
    st.endNs = ev.tsNs;
  }
  return 0;
}

function foldResponse(state: H2State, ev: H2Event, calls: ApiCall[]): number {
  const st = stream(state, ev);
  st.endNs = ev.tsNs;
  if (ev.kind === 'headers') {
    st.unknownHeaders += ev.unknownHeaders ?? 0;
    const status = header(ev.headers, ':status');
    if (st.response === undefined) {
      // 1xx responses are informational; the final response follows on the same stream.
      if (!(status.length === 3 && status[0] === '1')) st.response = ev.headers;
    } else st.trailers = ev.headers;
    st.respBytes += ev.size;
  } else if (ev.kind === 'data') {
    st.respBytes += ev.size;
    st.respMessages += ev.grpcMessages ?? 0;
  } else {
    st.rstCode = ev.errorCode;
  }
  return ev.endStream && !finish(state, st, calls) ? 1 : 0;
}

/** Connection end: streams with both heads seen, or reset, become calls (their ends were not captured). */
export function closeH2(state: H2State): StitchResult {
  const calls: ApiCall[] = [];
  let errors = 0;
  for (const st of [...state.streams.values()]) {
    if (st.request !== undefined && (st.response !== undefined || st.rstCode !== undefined))
      finish(state, st, calls);
    else errors++;
  }
  state.streams.clear();
  return { calls, errors };
}

function stream(state: H2State, ev: H2Event): H2Stream {
  let st = state.streams.get(ev.streamId);
  if (st === undefined) {
    if (state.streams.size >= MAX_OPEN_STREAMS) {
      const oldest = state.streams.keys().next().value as number;
      state.streams.delete(oldest);
    }
    st = {
      id: ev.streamId,
      startNs: ev.tsNs,
      endNs: ev.tsNs,
      unknownHeaders: 0,
      reqBytes: 0,
      respBytes: 0,
      reqMessages: 0,
      respMessages: 0,
      requestEnded: false,
    };
    state.streams.set(ev.streamId, st);
  }
  return st;
}

/** Emits the stream as a call when enough of it was seen; returns false when it had to be dropped. */
function finish(state: H2State, st: H2Stream, calls: ApiCall[]): boolean {
  state.streams.delete(st.id);
  state.request.grpcRemaining.delete(st.id);
  state.response.grpcRemaining.delete(st.id);
  if (st.request === undefined) return false; // its request came before the capture
  calls.push(toCall(st));
  return true;
}

export function header(list: HeaderList | undefined, name: string): string {
  if (list === undefined) return '';
  for (const [n, v] of list) if (n === name) return v;
  return '';
}

function toCall(st: H2Stream): ApiCall {
  const req = st.request ?? [];
  const path = header(req, ':path');
  const httpStatus = header(st.response, ':status');
  const contentType = header(req, 'content-type') || header(st.response, 'content-type');
  const grpc = contentType.startsWith('application/grpc');
  const attributes: Record<string, string | number | boolean> = { 'http2.stream_id': st.id };
  if (httpStatus !== '') attributes['http.status_code'] = Number(httpStatus);
  if (st.unknownHeaders > 0) attributes['hpack.unknown_fields'] = st.unknownHeaders;
  if (st.rstCode !== undefined) attributes['http2.rst_code'] = st.rstCode;
  const call: ApiCall = {
    protocol: grpc ? 'grpc' : 'http2',
    role: 'unknown',
    method: header(req, ':method'),
    resource: path,
    status: httpStatus,
    error: st.rstCode !== undefined && st.rstCode !== 0 ? true : Number(httpStatus) >= 500,
    startNs: st.startNs,
    endNs: st.endNs,
    reqBytes: st.reqBytes,
    respBytes: st.respBytes,
    reqHeaders: toRecord(req),
    respHeaders: toRecord([...(st.response ?? []), ...(st.trailers ?? [])]),
    attributes,
  };
  if (grpc) {
    // Trailers-only responses carry grpc-status in the response headers.
    const grpcStatus = header(st.trailers, 'grpc-status') || header(st.response, 'grpc-status');
    const slash = path.lastIndexOf('/');
    call.method = slash >= 0 ? path.slice(slash + 1) : path;
    call.status = grpcStatus;
    if (grpcStatus !== '' && grpcStatus !== '0') call.error = true;
    attributes['rpc.service'] = slash > 0 ? path.slice(1, slash) : '';
    attributes['rpc.request_messages'] = st.reqMessages;
    attributes['rpc.response_messages'] = st.respMessages;
    const message = header(st.trailers, 'grpc-message') || header(st.response, 'grpc-message');
    if (message !== '') attributes['rpc.grpc.message'] = percentDecode(message).slice(0, HEADER_VALUE_LIMIT);
  }
  return call;
}

function toRecord(list: HeaderList): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  let n = 0;
  for (const [name, value] of list) {
    if (name === UNKNOWN_HEADER || n >= HEADER_LIMIT) continue;
    out[name] = value.length > HEADER_VALUE_LIMIT ? value.slice(0, HEADER_VALUE_LIMIT) : value;
    n++;
  }
  return out;
}

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec); keep the raw text when it is not valid. */
function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
