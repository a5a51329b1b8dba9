import type { ApiCall, ConnectionMeta, StitchResult } from '../contract.ts';
import { type AmqpFrame, type AmqpState, methodName, SYNC_REQUESTS } from './types.ts';

/**
 * Turns AMQP frames into calls:
 * - synchronous client methods (declare, bind, consume, get, qos, ...) pair with their reply on the same
 *   channel, or with the channel.close / connection.close the broker answers a failure with (status = its
 *   reply code, e.g. 404);
 * - basic.publish (client), basic.deliver and basic.return (broker) are calls once the content header
 *   that follows them on their channel is queued too: its properties give the message's headers table
 *   (`reqHeaders`, where a `traceparent` travels; for a delivery, the delivered message is the request), id,
 *   correlation id and body size. When the next frame of that channel in that direction is something else,
 *   64 frames of other channels came first, a frame a second newer is queued, or the connection ends
 *   (`releaseHeld`), the call goes out without them: a call waits briefly, never forever;
 * - the client's basic.ack / nack / reject are calls when seen;
 * - a broker channel.close or connection.close nobody waited for (an asynchronous error, e.g. publishing to
 *   a missing exchange) is an error call of its own;
 * - content header/body frames, heartbeats and the connection handshake make no calls; channel.open/close
 *   and connection.close from the client are paired but make no calls either (lifecycle, not API traffic).
 */
const MAX_QUEUE = 4096;
const LIFECYCLE = new Set(['20.10', '20.40', '10.50']);
const CLIENT_EVENTS = new Set(['60.40', '60.80', '60.90', '60.120', '60.100']);
const BROKER_EVENTS = new Set(['60.60', '60.50']);

/** Frames of other channels looked past for a message's content header before giving up on it. */
const MAX_LOOKAHEAD = 64;
/** A message whose direction carried frames this much newer gets no content header any more. */
const MAX_WAIT_NS = 1_000_000_000n;
/** basic.get-ok: the answer to basic.get that carries a message. */
const GET_OK = '60.71';
/** Methods whose message content (header, then body) follows on their channel. */
const CARRIES_CONTENT = new Set(['60.40', '60.60', '60.50']);

const key = (f: AmqpFrame) => `${f.classId}.${f.methodId}`;
const isMethod = (f: AmqpFrame) => f.type === 1 && f.classId !== undefined;
const isClose = (f: AmqpFrame) =>
  isMethod(f) && ((f.classId === 20 && f.methodId === 40) || (f.classId === 10 && f.methodId === 50));

/** Whether `reply` answers the synchronous `req`. */
function answers(req: AmqpFrame, reply: AmqpFrame): boolean {
  if (!isMethod(reply)) return false;
  if (req.classId === 10) return reply.channel === 0 && reply.classId === 10 && reply.methodId === 51;
  if (reply.channel !== req.channel) return false;
  if (isClose(reply)) return true;
  if (reply.classId !== req.classId) return false;
  if (req.classId === 60 && req.methodId === 70) return reply.methodId === 71 || reply.methodId === 72;
  return reply.methodId === req.methodId! + 1;
}

export function stitchAmqp(
  requests: AmqpFrame[],
  responses: AmqpFrame[],
  state: AmqpState,
  meta: ConnectionMeta,
): StitchResult {
  const calls: ApiCall[] = [];
  let errors = 0;
  for (let i = 0; i < requests.length; ) {
    const req = requests[i]!;
    const k = key(req);
    if (!isMethod(req)) {
      requests.splice(i, 1);
    } else if (CLIENT_EVENTS.has(k)) {
      const content = CARRIES_CONTENT.has(k) ? contentHeaderOf(requests, i, state) : undefined;
      if (content === 'wait') {
        i++;
        continue;
      }
      calls.push(makeCall(req, undefined, meta, content));
      requests.splice(i, 1);
    } else if (SYNC_REQUESTS.has(k)) {
      const j = responses.findIndex((r) => r.tsNs >= req.tsNs && answers(req, r));
      if (j < 0) {
        i++; // wait for the reply; later requests on other channels may be answered already
        continue;
      }
      // basic.get-ok carries the message fetched: its content header follows on the channel.
      const content = key(responses[j]!) === GET_OK ? contentHeaderOf(responses, j, state) : undefined;
      if (content === 'wait') {
        i++;
        continue;
      }
      const [reply] = responses.splice(j, 1);
      requests.splice(i, 1);
      if (!LIFECYCLE.has(k) || (k === '20.10' && isClose(reply!)))
        calls.push(makeCall(req, reply, meta, content));
    } else {
      requests.splice(i, 1); // handshake (start-ok, tune-ok, open), close-ok, flow-ok
    }
  }
  const waiting = new Set(requests.filter((r) => SYNC_REQUESTS.has(key(r))).map((r) => r.channel));
  for (let i = 0; i < responses.length; ) {
    const r = responses[i]!;
    if (isMethod(r) && BROKER_EVENTS.has(key(r))) {
      const content = contentHeaderOf(responses, i, state);
      if (content === 'wait') {
        i++;
        continue;
      }
      calls.push(makeCall(r, undefined, meta, content));
      responses.splice(i, 1);
    } else if (isClose(r) && !waiting.has(r.channel) && !(r.channel === 0 && waiting.size > 0)) {
      calls.push(makeCall(r, r, meta));
      responses.splice(i, 1);
    } else if (
      isMethod(r) &&
      waiting.has(r.channel) &&
      (r.methodId! % 2 === 1 || isClose(r) || key(r) === '60.72')
    ) {
      i++; // a reply whose request is still queued
    } else {
      responses.splice(i, 1);
    }
  }
  if (requests.length > MAX_QUEUE) errors += requests.splice(0, requests.length - MAX_QUEUE).length;
  if (responses.length > MAX_QUEUE) errors += responses.splice(0, responses.length - MAX_QUEUE).length;
  return { calls, errors };
}

/**
 * The content header of the message whose method is `queue[i]`: the next frame of its channel in the same
 * direction (the spec forbids other frames of that channel in between). Undefined when that frame is
 * something else or will not come; 'wait' while it may still arrive.
 */
/** RabbitMQ's default negotiated frame size (connection.tune). */
const FRAME_MAX = 131_072;

function contentHeaderOf(queue: AmqpFrame[], i: number, state: AmqpState): AmqpFrame | undefined | 'wait' {
  const m = queue[i]!;
  const last = Math.min(queue.length, i + 1 + MAX_LOOKAHEAD);
  for (let j = i + 1; j < last; j++) {
    const f = queue[j]!;
    if (f.channel === m.channel) return f.type === 2 ? f : undefined;
  }
  if (state.ended || last - i > MAX_LOOKAHEAD) return undefined;
  return queue[queue.length - 1]!.tsNs - m.tsNs > MAX_WAIT_NS ? undefined : 'wait';
}

function makeCall(
  req: AmqpFrame,
  reply: AmqpFrame | undefined,
  meta: ConnectionMeta,
  content?: AmqpFrame,
): ApiCall {
  const failed = reply !== undefined && isClose(reply) && (reply.replyCode ?? 200) !== 200;
  const returned = key(req) === '60.50';
  const attributes: Record<string, string | number | boolean> = { 'messaging.amqp.channel': req.channel };
  if (req.exchange !== undefined) attributes['messaging.amqp.exchange'] = req.exchange;
  if (req.routingKey !== undefined) attributes['messaging.rabbitmq.destination.routing_key'] = req.routingKey;
  if (req.deliveryTag !== undefined) attributes['messaging.rabbitmq.delivery_tag'] = Number(req.deliveryTag);
  if (req.consumerTag) attributes['messaging.amqp.consumer_tag'] = req.consumerTag;
  const text = failed ? reply?.replyText : returned ? req.replyText : undefined;
  if (text) attributes['error.message'] = text;
  const props = content?.props;
  if (props?.messageId) attributes['messaging.message.id'] = props.messageId;
  if (props?.correlationId) attributes['messaging.message.conversation_id'] = props.correlationId;
  if (content?.bodySize !== undefined) attributes['messaging.message.body.size'] = Number(content.bodySize);
  const call: ApiCall = {
    protocol: 'amqp',
    role: 'unknown',
    method: methodName(req.classId!, req.methodId!),
    resource: resourceOf(req, reply),
    status: failed ? String(reply!.replyCode) : returned ? String(req.replyCode ?? 312) : 'OK',
    error: failed || returned,
    startNs: req.tsNs,
    endNs: reply?.tsNs ?? req.tsNs,
    reqBytes: req.size,
    respBytes: reply && reply !== req ? reply.size : 0,
    attributes,
  };
  // The message's content header and body frames count with the frame that carries it: get-ok's reply,
  // else the method itself (publish, deliver, return). The body frames are not kept (only the header says
  // their size): 8 bytes of framing each, at RabbitMQ's default frame_max of 128 KiB.
  if (content) {
    const body = Number(content.bodySize ?? 0n);
    const bytes = content.size + body + 8 * Math.ceil(body / (FRAME_MAX - 8));
    if (reply && reply !== req && key(reply) === GET_OK) call.respBytes += bytes;
    else call.reqBytes += bytes;
  }
  if (req === reply) {
    // An unsolicited close: the broker's error, e.g. 404 NOT_FOUND for a missing exchange.
    call.status = String(req.replyCode ?? '');
    call.error = (req.replyCode ?? 200) !== 200;
    call.resource = '';
  }
  const headers = messageHeaders(props);
  if (headers) call.reqHeaders = headers;
  if (meta.client) call.client = meta.client;
  if (meta.server) call.server = meta.server;
  if (meta.pid !== undefined) call.pid = meta.pid;
  return call;
}

/** Exchange for exchange methods and publishes (the routing key, i.e. the queue, on the default exchange); queue otherwise. */
function resourceOf(req: AmqpFrame, reply: AmqpFrame | undefined): string {
  switch (req.classId) {
    case 40:
      return req.exchange ?? '';
    case 50:
      // A server-named queue gets its name in declare-ok.
      return req.queue || reply?.queue || '';
    case 60:
      if (req.methodId === 40 || req.methodId === 60 || req.methodId === 50) {
        return req.exchange ? req.exchange : (req.routingKey ?? '');
      }
      return req.queue ?? '';
    default:
      return '';
  }
}

/** The headers table, plus the content type as `content-type` unless the table has its own. */
function messageHeaders(props: AmqpFrame['props']): Record<string, string> | undefined {
  if (!props || (!props.headers && !props.contentType)) return undefined;
  const headers = props.headers ?? {};
  if (props.contentType && !Object.hasOwn(headers, 'content-type'))
    headers['content-type'] = props.contentType;
  return Object.keys(headers).length > 0 ? headers : undefined;
}
