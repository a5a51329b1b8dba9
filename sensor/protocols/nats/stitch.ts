import type { ApiCall, ConnectionMeta, StitchResult } from '../contract.ts';
import type { NatsFrame, NatsState } from './types.ts';

/**
 * NATS is not request/response: every PUB/HPUB and SUB is a call when sent, every MSG/HMSG a call when
 * delivered. With `verbose` the server acknowledges each client message (+OK or -ERR), and a PUB/SUB call
 * waits for its acknowledgement. Otherwise a -ERR (permissions, parser errors) is an error call of its own.
 * PING/PONG keepalives, INFO and CONNECT make no calls. The headers of an HPUB or HMSG are the call's
 * `reqHeaders` (for a delivery, the message delivered is the call's request), so a `traceparent` the
 * producer sent puts both the publish and every delivery into its trace.
 */
const MAX_QUEUE = 4096;
const ACKED = new Set(['CONNECT', 'PUB', 'HPUB', 'SUB', 'UNSUB', 'PING', 'PONG']);

export function stitchNats(
  requests: NatsFrame[],
  responses: NatsFrame[],
  state: NatsState,
  meta: ConnectionMeta,
): StitchResult {
  const calls: ApiCall[] = [];
  let errors = 0;
  // Deliveries and unsolicited errors first, in order.
  for (let i = 0; i < responses.length; ) {
    const r = responses[i]!;
    if (r.op === 'MSG' || r.op === 'HMSG') {
      calls.push(makeCall('MSG', r.subject ?? '', r, r, 0, r.size, undefined, meta, r));
      responses.splice(i, 1);
    } else if (r.op === 'INFO' || r.op === 'PING' || r.op === 'PONG') {
      responses.splice(i, 1);
    } else if (!state.verbose) {
      if (r.op === '-ERR') calls.push(makeCall('ERR', '', r, r, 0, r.size, r.text, meta, r));
      responses.splice(i, 1);
    } else i++;
  }
  while (requests.length > 0) {
    const req = requests[0]!;
    const counted = req.op === 'PUB' || req.op === 'HPUB' || req.op === 'SUB';
    if (state.verbose && ACKED.has(req.op) && req.op !== 'PING' && req.op !== 'PONG') {
      const ack = responses[0];
      if (ack === undefined) break;
      responses.shift();
      requests.shift();
      if (counted)
        calls.push(
          makeCall(
            req.op === 'SUB' ? 'SUB' : 'PUB',
            req.subject ?? '',
            req,
            ack,
            req.size,
            ack.size,
            ack.op === '-ERR' ? ack.text : undefined,
            meta,
            req,
          ),
        );
      else if (ack.op === '-ERR')
        calls.push(makeCall(req.op, '', req, ack, req.size, ack.size, ack.text, meta, req));
      continue;
    }
    requests.shift();
    if (counted)
      calls.push(
        makeCall(
          req.op === 'SUB' ? 'SUB' : 'PUB',
          req.subject ?? '',
          req,
          req,
          req.size,
          0,
          undefined,
          meta,
          req,
        ),
      );
  }
  if (responses.length > MAX_QUEUE) errors += responses.splice(0, responses.length).length;
  return { calls, errors };
}

function makeCall(
  method: string,
  resource: string,
  start: NatsFrame,
  end: NatsFrame,
  reqBytes: number,
  respBytes: number,
  err: string | undefined,
  meta: ConnectionMeta,
  subjectFrame: NatsFrame,
): ApiCall {
  const attributes: Record<string, string | number | boolean> = {};
  if (subjectFrame.replyTo) attributes['messaging.nats.reply_to'] = subjectFrame.replyTo;
  if (subjectFrame.queue) attributes['messaging.nats.queue'] = subjectFrame.queue;
  if (subjectFrame.sid) attributes['messaging.nats.sid'] = subjectFrame.sid;
  if (subjectFrame.payloadSize !== undefined)
    attributes['messaging.message.body.size'] = subjectFrame.payloadSize;
  if (err) attributes['error.message'] = err;
  const call: ApiCall = {
    protocol: 'nats',
    role: 'unknown',
    method,
    resource,
    status: err === undefined ? 'OK' : errorStatus(err),
    error: err !== undefined,
    startNs: start.tsNs,
    endNs: end.tsNs,
    reqBytes,
    respBytes,
    attributes,
  };
  if (subjectFrame.headers) call.reqHeaders = subjectFrame.headers;
  if (meta.client) call.client = meta.client;
  if (meta.server) call.server = meta.server;
  if (meta.pid !== undefined) call.pid = meta.pid;
  return call;
}

/** A low-cardinality status from an -ERR text: the words before any quoted subject, lower case. */
function errorStatus(text: string): string {
  const q = text.search(/["']/);
  const head = (q < 0 ? text : text.slice(0, q)).replace(/\b(to|for)\s*$/i, '').trim();
  return head.slice(0, 64).toLowerCase() || 'error';
}
