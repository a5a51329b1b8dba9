import type { ApiCall } from '../contract.ts';

/**
 * Test-only: what `live.test.ts` publishes with amqplib (recorded as `testdata/amqplib-trace-context.json`)
 * and what the publish and the delivery of that message must carry, checked live and on the recording.
 */
export const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

export const WANT_MESSAGE_CALLS = ['basic.publish', 'basic.deliver'].map((method) => ({
  method,
  traceparent: TRACEPARENT,
  tracestate: 'k=v',
  other: '42',
  contentType: 'application/json',
  id: 'msg-1',
  conversation: 'conv-1',
  bodySize: 8,
}));

/** The publish and deliver calls, reduced to what the message's content header gave them. */
export function messageCalls(calls: ApiCall[]) {
  return calls
    .filter((c) => c.method === 'basic.publish' || c.method === 'basic.deliver')
    .map((c) => ({
      method: c.method,
      traceparent: c.reqHeaders?.traceparent,
      tracestate: c.reqHeaders?.tracestate,
      other: c.reqHeaders?.other,
      contentType: c.reqHeaders?.['content-type'],
      id: c.attributes?.['messaging.message.id'],
      conversation: c.attributes?.['messaging.message.conversation_id'],
      bodySize: c.attributes?.['messaging.message.body.size'],
    }));
}
