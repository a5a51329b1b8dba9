import type { ApiCall, ConnectionMeta, StitchResult } from '../contract.ts';
import { API, API_NAMES, type KafkaFrame, type KafkaState } from './types.ts';

/**
 * Pairs requests and responses by correlation id (a broker answers in order, but matching by id also
 * survives lost segments). Produce with acks = 0 is answered by nothing: it is a call of its own. A
 * response whose request was never seen is dropped and counted; requests are kept until answered, bounded.
 */
const MAX_QUEUE = 4096;

export function stitchKafka(
  requests: KafkaFrame[],
  responses: KafkaFrame[],
  _state: KafkaState,
  meta: ConnectionMeta,
): StitchResult {
  const calls: ApiCall[] = [];
  let errors = 0;
  for (let i = 0; i < requests.length; ) {
    const req = requests[i]!;
    if (req.noResponse) {
      calls.push(makeCall(req, undefined, meta));
      requests.splice(i, 1);
    } else i++;
  }
  while (responses.length > 0) {
    const resp = responses.shift()!;
    const i = requests.findIndex((r) => r.correlationId === resp.correlationId);
    if (i < 0) {
      errors++;
      continue;
    }
    const [req] = requests.splice(i, 1);
    calls.push(makeCall(req!, resp, meta));
  }
  if (requests.length > MAX_QUEUE) errors += requests.splice(0, requests.length - MAX_QUEUE).length;
  return { calls, errors };
}

function makeCall(req: KafkaFrame, resp: KafkaFrame | undefined, meta: ConnectionMeta): ApiCall {
  const key = req.apiKey ?? -1;
  const attributes: Record<string, string | number | boolean> = {
    'kafka.api_key': key,
    'kafka.api_version': req.apiVersion ?? -1,
    'kafka.correlation_id': req.correlationId,
  };
  if (req.clientId) attributes['kafka.client_id'] = req.clientId;
  if (req.topicCount !== undefined) attributes['kafka.topic_count'] = req.topicCount;
  if (req.noResponse) attributes['kafka.acks'] = 0;
  if (req.resource !== undefined) {
    const topicApi = key === API.Produce || key === API.Fetch || key === API.Metadata;
    attributes[topicApi ? 'messaging.destination' : 'messaging.consumer_group'] = req.resource;
  }
  const code = resp?.errorCode;
  const call: ApiCall = {
    protocol: 'kafka',
    role: 'unknown',
    method: API_NAMES[key] ?? `api_key=${key}`,
    resource: req.resource ?? '',
    status: code === undefined ? '' : String(code),
    error: code !== undefined && code !== 0,
    startNs: req.tsNs,
    endNs: resp?.tsNs ?? req.tsNs,
    reqBytes: req.size,
    respBytes: resp?.size ?? 0,
    attributes,
  };
  // A Produce carries its records in the request, a Fetch's arrive in the response.
  // A Produce to several partitions has no one partition; its count is over all of them (when known).
  const partition = req.partition ?? resp?.partition;
  if (partition !== undefined && !(req.partitionCount! > 1))
    attributes['messaging.destination.partition.id'] = String(partition);
  const batch = req.batch ?? resp?.batch;
  const messages = key === API.Produce ? req.messageCount : batch?.count;
  if (messages !== undefined && messages > 1) attributes['messaging.batch.message_count'] = messages;
  if (batch) {
    if (batch.key !== undefined && batch.key !== '') attributes['messaging.kafka.message.key'] = batch.key;
    if (batch.compressed) attributes['messaging.kafka.batch.compressed'] = true;
    if (batch.codec) attributes['messaging.kafka.batch.compression'] = batch.codec;
    // One message sent: its headers are the call's (a traceparent makes the span its child). Several, or
    // any received (a pull is not part of the producer's trace, only linked to it): links.
    const single = key === API.Produce && req.messageCount === 1;
    if (single && batch.headers[0] && Object.keys(batch.headers[0]).length > 0)
      call.reqHeaders = batch.headers[0];
    else {
      const links = [];
      for (const h of batch.headers) {
        const tp = h.traceparent;
        if (tp)
          links.push(h.tracestate ? { traceparent: tp, tracestate: h.tracestate } : { traceparent: tp });
      }
      if (links.length > 0) call.links = links;
    }
  }
  if (meta.client) call.client = meta.client;
  if (meta.server) call.server = meta.server;
  if (meta.pid !== undefined) call.pid = meta.pid;
  return call;
}
