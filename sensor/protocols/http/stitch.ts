import type { ApiCall, ConnectionMeta, Endpoint, ProtocolName, Role, StitchResult } from '../contract.ts';

import { HEADER_LIMIT, HEADER_VALUE_LIMIT, type HttpFrame, type HttpState } from './types.ts';

/**
 * HTTP/1.x answers in request order (pipelining included), so frames pair first-in first-out. A response
 * older than the oldest request belongs to a request sent before the capture started: it is dropped.
 */
const NOTHING: StitchResult = Object.freeze({ calls: Object.freeze([]) as unknown as ApiCall[], errors: 0 });
/** One result for every stitch (see the contract: the tracker takes the calls out before stitching again). */
const RESULT: StitchResult = { calls: [], errors: 0 };
const EMPTY_CALLS = NOTHING.calls;
/** The calls of a stitch that made exactly one (the common case), reused like RESULT. */
const ONE_CALL: ApiCall[] = [];

export function stitchHttp(
  requests: HttpFrame[],
  responses: HttpFrame[],
  state: HttpState,
  meta: ConnectionMeta,
): StitchResult {
  if (state.released.length > 0) mergeReleased(requests, responses, state);
  if (responses.length === 0 && state.lostResponses === 0) return NOTHING; // a request waiting for its answer
  // No array per stitch: one call goes out in the shared ONE_CALL, more in a fresh array (clearing one
  // with `length = 0` is a runtime call, dearer than allocating).
  let calls = EMPTY_CALLS;
  let errors = 0;
  let used = 0;
  // A response lost in a capture gap answered the oldest request: that request gets no call.
  while (state.lostResponses > 0 && used < requests.length) {
    state.lostResponses--;
    used++;
    errors++;
  }
  let r = 0;
  while (used < requests.length && r < responses.length) {
    const req = requests[used]!;
    const resp = responses[r]!;
    if (resp.tsNs < req.tsNs) {
      errors++;
      r++;
      continue;
    }
    const call = new HttpCall(req, resp);
    if (calls === EMPTY_CALLS) {
      ONE_CALL[0] = call;
      calls = ONE_CALL;
    } else if (calls === ONE_CALL) calls = [ONE_CALL[0]!, call];
    else calls.push(call);
    if (resp.status === 101) {
      // RFC 9113 3.2 (h2c): the upgraded request is answered on HTTP/2 stream 1.
      const headers = call.reqHeaders;
      if (headers.upgrade?.toLowerCase() === 'h2c') {
        meta.upgradedRequest = {
          method: req.method,
          resource: req.target,
          authority: headers.host ?? '',
          tsNs: req.tsNs,
        };
      }
    }
    used++;
    r++;
  }
  // One pair per stitch is the common case (one message per read): shift() is cheaper than splice there.
  if (used === 1) requests.shift();
  else if (used > 0) requests.splice(0, used);
  if (r === 1) responses.shift();
  else if (r > 0) responses.splice(0, r);
  RESULT.calls = calls;
  RESULT.errors = errors;
  return RESULT;
}

/**
 * An HTTP/1.x call. Headers and body prefixes are decoded on first read (getters on the prototype), since
 * most calls only feed metrics; read them as properties, do not rely on object spread to copy them.
 */
class HttpCall implements ApiCall {
  // `declare`: plain assignments in the constructor, not class-field definitions (one define per field per
  // call showed in the replay profile).
  declare readonly protocol: ProtocolName;
  declare role: Role; // the tracker fills in the connection's role
  declare readonly method: string;
  declare readonly resource: string;
  declare readonly status: string;
  /** 5xx: the server failed. 4xx are the caller's mistakes; the metrics stage decides from role and status. */
  declare readonly error: boolean;
  declare readonly startNs: bigint;
  declare readonly endNs: bigint;
  declare readonly reqBytes: number;
  declare readonly respBytes: number;
  declare client?: Endpoint;
  declare server?: Endpoint;
  declare pid?: number;
  declare private readonly req: HttpFrame;
  declare private readonly resp: HttpFrame;

  constructor(req: HttpFrame, resp: HttpFrame) {
    this.protocol = 'http';
    this.role = 'unknown';
    this.method = req.method;
    this.resource = req.target;
    this.status = statusText(resp.status);
    this.error = resp.status >= 500;
    this.startNs = req.tsNs;
    this.endNs = resp.tsNs;
    this.reqBytes = req.size;
    this.respBytes = resp.size;
    // Every call gets the same fields in the same order (one hidden class); the tracker fills these.
    this.client = undefined;
    this.server = undefined;
    this.pid = undefined;
    this.req = req;
    this.resp = resp;
  }

  get reqHeaders(): Record<string, string> {
    return decodeHeaders(this.req);
  }

  get respHeaders(): Record<string, string> {
    return decodeHeaders(this.resp);
  }

  /** One request header by lower-case name, without decoding the others (the sampler's force header). */
  reqHeader(name: string): string | undefined {
    return findHeader(this.req, name);
  }

  get reqBody(): string {
    return bodyText(this.req);
  }

  get respBody(): string {
    return bodyText(this.resp);
  }

  toJSON(): ApiCall {
    const { req: _req, resp: _resp, ...own } = this;
    return {
      ...own,
      reqHeaders: this.reqHeaders,
      respHeaders: this.respHeaders,
      reqBody: this.reqBody,
      respBody: this.respBody,
    };
  }
}

/**
 * Moves frames released from `state.released` (held while their body streamed, then cut short) into the
 * queues at their place in time, so FIFO pairing sees them where their head was.
 */
export function mergeReleased(requests: HttpFrame[], responses: HttpFrame[], state: HttpState): void {
  for (const f of state.released) {
    const queue = f.kind === 'request' ? requests : responses;
    let i = queue.length;
    while (i > 0 && queue[i - 1]!.tsNs > f.tsNs) i--;
    queue.splice(i, 0, f);
  }
  state.released.length = 0;
}

/** The body prefix kept in `raw` (Latin-1, one char per byte) decoded as UTF-8. */
function bodyText(f: HttpFrame): string {
  if (f.bodyStart >= f.raw.length) return '';
  return Buffer.from(f.raw.substring(f.bodyStart), 'latin1').toString('utf8');
}

/** Header lines kept in `raw` -> bounded record, names lower-case. */
function decodeHeaders(f: HttpFrame): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  const raw = f.raw;
  const end = f.headStart + f.headLength;
  let kept = 0;
  let at = f.headStart;
  while (at < end && kept < HEADER_LIMIT) {
    let eol = raw.indexOf('\r\n', at);
    if (eol < 0 || eol > end) eol = end;
    const colon = raw.indexOf(':', at);
    if (colon > at && colon < eol) {
      out[raw.substring(at, colon).toLowerCase()] = headerValue(raw, colon + 1, eol);
      kept++;
    }
    at = eol + 2;
  }
  return out;
}

/** The value of header `name` (lower-case) in `raw`, as `decodeHeaders` would give it, or undefined. */
function findHeader(f: HttpFrame, name: string): string | undefined {
  const raw = f.raw;
  const end = f.headStart + f.headLength;
  let at = f.headStart;
  let found: string | undefined; // the last one wins, as in decodeHeaders
  for (let kept = 0; at < end && kept < HEADER_LIMIT; ) {
    let eol = raw.indexOf('\r\n', at);
    if (eol < 0 || eol > end) eol = end;
    const colon = raw.indexOf(':', at);
    if (colon > at && colon < eol) {
      kept++;
      if (colon - at === name.length && raw.substring(at, colon).toLowerCase() === name)
        found = headerValue(raw, colon + 1, eol);
    }
    at = eol + 2;
  }
  return found;
}

function headerValue(raw: string, from: number, eol: number): string {
  let vs = from;
  while (vs < eol && (raw.charCodeAt(vs) === 32 || raw.charCodeAt(vs) === 9)) vs++;
  return raw.substring(vs, Math.min(eol, vs + HEADER_VALUE_LIMIT));
}

/** Status codes as shared strings (no allocation per call for the codes servers use). */
const STATUS_TEXT: string[] = Array.from({ length: 600 }, (_, i) => String(i));

function statusText(code: number): string {
  return STATUS_TEXT[code] ?? String(code);
}
