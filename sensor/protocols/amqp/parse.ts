import type { DetectInput, DetectResult, MessageType, ParseResult } from '../contract.ts';
import { readBasicProperties } from './properties.ts';
import { AmqpReader, u16, u32, u64 } from './reader.ts';
import { type AmqpFrame, FRAME_END, MAX_FRAME } from './types.ts';

/** The answer for bytes that are clearly not this protocol: shared, so saying no allocates nothing. */
const NO: DetectResult = Object.freeze({ score: 0 });

/** "AMQP" */
const isProtocolHeader = (b: Uint8Array, p: number) =>
  b[p] === 0x41 && b[p + 1] === 0x4d && b[p + 2] === 0x51 && b[p + 3] === 0x50;

function plausibleFrame(b: Uint8Array, p: number): boolean {
  if (b.length - p < 7) return false;
  const type = b[p]!;
  if (type !== 1 && type !== 2 && type !== 3 && type !== 8) return false;
  const size = u32(b, p + 3);
  if (size > MAX_FRAME) return false;
  const end = p + 7 + size;
  return end >= b.length || b[end] === FRAME_END;
}

/** Cheap detection; allocates nothing. */
export function detectAmqp(input: DetectInput): DetectResult {
  const d = input.data;
  if (input.transport !== 'tcp' || d.length < 8) return NO;
  if (isProtocolHeader(d, 0) && d[4] === 0 && d[5] === 0 && d[6] === 9 && d[7] === 1)
    return { score: 1, messageType: 'request' };
  if (
    d.length >= 12 &&
    plausibleFrame(d, 0) &&
    d[0] === 1 &&
    u16(d, 1) === 0 &&
    u16(d, 7) === 10 &&
    u16(d, 9) === 10
  ) {
    return { score: 1, messageType: 'response' }; // connection.start
  }
  // A frame mid-connection whose frame-end byte is where its size says.
  const hinted = input.localPort === 5672 || input.remotePort === 5672;
  if (d.length >= 8 && plausibleFrame(d, 0) && d[7 + u32(d, 3)] === FRAME_END && d[0] === 1) {
    return { score: hinted ? 0.8 : 0.5 };
  }
  return NO;
}

export function parseAmqp(
  type: MessageType,
  buf: Uint8Array,
  offset: number,
  tsNs: bigint,
): ParseResult<AmqpFrame> {
  const avail = buf.length - offset;
  if (avail < 8) return { state: 'needs-more-data', consumed: 0 };
  if (type === 'request' && isProtocolHeader(buf, offset)) {
    return { state: 'success', consumed: 8, frames: [{ tsNs, size: 8, type: 0, channel: 0 }] };
  }
  if (!plausibleFrame(buf, offset)) return { state: 'invalid', consumed: 0 };
  const size = u32(buf, offset + 3);
  const total = 8 + size;
  if (avail < total) return { state: 'needs-more-data', consumed: 0 };
  if (buf[offset + total - 1] !== FRAME_END) return { state: 'invalid', consumed: 0 };
  const frame: AmqpFrame = { tsNs, size: total, type: buf[offset]!, channel: u16(buf, offset + 1) };
  const p = offset + 7;
  const end = p + size;
  if (frame.type === 1 && size >= 4) {
    frame.classId = u16(buf, p);
    frame.methodId = u16(buf, p + 2);
    readArguments(frame, new AmqpReader(buf, p + 4, end));
  } else if (frame.type === 2 && size >= 12) {
    frame.classId = u16(buf, p);
    frame.bodySize = u64(buf, p + 4);
    // Flags 0 (no properties, as most publishers without headers send): nothing to decode or allocate.
    if (frame.classId === 60 && p + 14 <= end && u16(buf, p + 12) !== 0)
      frame.props = readBasicProperties(buf, p + 12, end);
  }
  return { state: 'success', consumed: total, frames: [frame] };
}

/** The arguments the stitcher uses, per method. Missing bytes leave fields undefined. */
function readArguments(f: AmqpFrame, a: AmqpReader): void {
  const key = f.classId! * 1000 + f.methodId!;
  switch (key) {
    case 10050: // connection.close
    case 20040: // channel.close
      f.replyCode = a.short();
      f.replyText = a.shortstr();
      break;
    case 40010: // exchange.declare
    case 40020: // exchange.delete
      a.short();
      f.exchange = a.shortstr();
      break;
    case 40030: // exchange.bind
    case 40040: // exchange.unbind: destination, source, routing key
      a.short();
      f.queue = a.shortstr();
      f.exchange = a.shortstr();
      f.routingKey = a.shortstr();
      break;
    case 50010: // queue.declare
    case 50030: // queue.purge
    case 50040: // queue.delete
      a.short();
      f.queue = a.shortstr();
      break;
    case 50011: // queue.declare-ok
      f.queue = a.shortstr();
      break;
    case 50020: // queue.bind
    case 50050: // queue.unbind
      a.short();
      f.queue = a.shortstr();
      f.exchange = a.shortstr();
      f.routingKey = a.shortstr();
      break;
    case 60020: // basic.consume
    case 60070: // basic.get
      a.short();
      f.queue = a.shortstr();
      if (key === 60020) f.consumerTag = a.shortstr();
      break;
    case 60040: // basic.publish
      a.short();
      f.exchange = a.shortstr();
      f.routingKey = a.shortstr();
      break;
    case 60050: // basic.return: reply code, text, exchange, routing key
      f.replyCode = a.short();
      f.replyText = a.shortstr();
      f.exchange = a.shortstr();
      f.routingKey = a.shortstr();
      break;
    case 60060: // basic.deliver
      f.consumerTag = a.shortstr();
      f.deliveryTag = a.long();
      a.p += 1; // redelivered
      f.exchange = a.shortstr();
      f.routingKey = a.shortstr();
      break;
    case 60071: // basic.get-ok
      f.deliveryTag = a.long();
      a.p += 1;
      f.exchange = a.shortstr();
      f.routingKey = a.shortstr();
      break;
    case 60080: // basic.ack
    case 60090: // basic.reject
    case 60120: // basic.nack
      f.deliveryTag = a.long();
      break;
  }
}

/** Next plausible frame start at or after `offset`. */
export function findAmqpBoundary(_type: MessageType, buf: Uint8Array, offset: number): number {
  for (let i = Math.max(0, offset); i + 8 <= buf.length; i++) {
    if (plausibleFrame(buf, i) && i + 8 + u32(buf, i + 3) <= buf.length) return i;
  }
  return -1;
}
