import type { ApiCall, ConnectionMeta, StitchResult } from '../contract.ts';
import type { HttpFrame, HttpState } from './types.ts';

/**
 * HTTP/1.x answers in request order (pipelining included), so frames pair first-in first-out. A response
 * older than the oldest request belongs to a request sent before the capture started: it is dropped.
 */
export function stitchHttp(
  requests: HttpFrame[],
  responses: HttpFrame[],
  state: HttpState,
  meta: ConnectionMeta,
): StitchResult {
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
    calls.push(toCall(req, resp, meta));
    used++;
    r++;
  }
  if (used > 0) requests.splice(0, used);
  if (r > 0) responses.splice(0, r);
  return { calls, errors };
}

function toCall(req: HttpFrame, resp: HttpFrame, _meta: ConnectionMeta): ApiCall {
  return {
    protocol: 'http',
    role: 'unknown', // the tracker fills in the connection's role
    method: req.method,
    resource: req.target,
    status: String(resp.status),
    // 5xx: the server failed. 4xx are the caller's mistakes and count as errors only where the caller's
    // view is wanted, which the metrics stage decides from role and status.
    error: resp.status >= 500,
    startNs: req.tsNs,
    endNs: resp.tsNs,
    reqBytes: req.size,
    respBytes: resp.size,
    reqHeaders: req.headers,
    respHeaders: resp.headers,
    reqBody: req.bodyPrefix,
    respBody: resp.bodyPrefix,
  };
}
