import type { ApiCall, ConnectionMeta, Endpoint, ProtocolName, Role, StitchResult } from '../contract.ts';
import { indexOfCrlf, latin1String, utf8String } from '../tracker/bytes.ts';
import { HEADER_LIMIT, HEADER_VALUE_LIMIT, type HttpFrame, type HttpState } from './types.ts';

/**
 * HTTP/1.x answers in request order (pipelining included), so frames pair first-in first-out. A response
 * older than the oldest request belongs to a request sent before the capture started: it is dropped.
 */
const NOTHING: StitchResult = Object.freeze({ calls: Object.freeze([]) as unknown as ApiCall[], errors: 0 });

export function stitchHttp(
  requests: HttpFrame[],
  responses: HttpFrame[],
  state: HttpState,
  meta: ConnectionMeta,
): StitchResult {
  if (responses.length === 0 && state.lostResponses === 0) return NOTHING; // a request waiting for its answer
  const calls: ApiCall[] = [];
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
    calls.push(call);
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
  if (used > 0) requests.splice(0, used);
  if (r > 0) responses.splice(0, r);
  return { calls, errors };
}

/**
 * An HTTP/1.x call. Headers and body prefixes are decoded on first read (getters on the prototype), since
 * most calls only feed metrics; read them as properties, do not rely on object spread to copy them.
 */
class HttpCall implements ApiCall {
  readonly protocol: ProtocolName = 'http';
  role: Role = 'unknown'; // the tracker fills in the connection's role
  readonly method: string;
  readonly resource: string;
  readonly status: string;
  /** 5xx: the server failed. 4xx are the caller's mistakes; the metrics stage decides from role and status. */
  readonly error: boolean;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly reqBytes: number;
  readonly respBytes: number;
  client?: Endpoint;
  server?: Endpoint;
  pid?: number;
  private readonly req: HttpFrame;
  private readonly resp: HttpFrame;

  constructor(req: HttpFrame, resp: HttpFrame) {
    this.req = req;
    this.resp = resp;
    this.method = req.method;
    this.resource = req.target;
    this.status = statusText(resp.status);
    this.error = resp.status >= 500;
    this.startNs = req.tsNs;
    this.endNs = resp.tsNs;
    this.reqBytes = req.size;
    this.respBytes = resp.size;
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
    return utf8String(this.req.raw, this.req.bodyStart, this.req.rawEnd);
  }

  get respBody(): string {
    return utf8String(this.resp.raw, this.resp.bodyStart, this.resp.rawEnd);
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

/** Header lines kept in `raw` -> bounded record, names lower-case. */
function decodeHeaders(f: HttpFrame): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  const buf = f.raw;
  const end = f.rawStart + f.headLength;
  let kept = 0;
  let at = f.rawStart;
  while (at < end && kept < HEADER_LIMIT) {
    let eol = indexOfCrlf(buf, at, end);
    if (eol < 0) eol = end;
    let colon = at;
    while (colon < eol && buf[colon] !== 58) colon++;
    if (colon > at && colon < eol) {
      let vs = colon + 1;
      while (vs < eol && (buf[vs] === 32 || buf[vs] === 9)) vs++;
      out[latin1String(buf, at, colon).toLowerCase()] = latin1String(
        buf,
        vs,
        Math.min(eol, vs + HEADER_VALUE_LIMIT),
      );
      kept++;
    }
    at = eol + 2;
  }
  return out;
}

/** The value of header `name` (lower-case) in `raw`, as `decodeHeaders` would give it, or undefined. */
function findHeader(f: HttpFrame, name: string): string | undefined {
  const buf = f.raw;
  const end = f.rawStart + f.headLength;
  let at = f.rawStart;
  let found: string | undefined; // the last one wins, as in decodeHeaders
  for (let kept = 0; at < end && kept < HEADER_LIMIT; ) {
    let eol = indexOfCrlf(buf, at, end);
    if (eol < 0) eol = end;
    let colon = at;
    while (colon < eol && buf[colon] !== 58) colon++;
    if (colon > at && colon < eol) {
      kept++;
      if (colon - at === name.length && sameLowerAscii(buf, at, name)) {
        let vs = colon + 1;
        while (vs < eol && (buf[vs] === 32 || buf[vs] === 9)) vs++;
        found = latin1String(buf, vs, Math.min(eol, vs + HEADER_VALUE_LIMIT));
      }
    }
    at = eol + 2;
  }
  return found;
}

function sameLowerAscii(buf: Uint8Array, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = buf[at + i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Status codes as shared strings (no allocation per call for the codes servers use). */
const STATUS_TEXT: string[] = Array.from({ length: 600 }, (_, i) => String(i));

function statusText(code: number): string {
  return STATUS_TEXT[code] ?? String(code);
}
