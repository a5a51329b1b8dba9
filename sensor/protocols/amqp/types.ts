import type { Frame } from '../contract.ts';

/**
 * AMQP 0-9-1 (https://www.rabbitmq.com/resources/specs/amqp0-9-1.pdf): after the 8-byte protocol header,
 * frames of type (1 method, 2 content header, 3 content body, 8 heartbeat), channel, size, payload, 0xCE.
 * A parse frame is one AMQP frame (or the protocol header); method arguments we need are copied out.
 */
export interface AmqpFrame extends Frame {
  /** 1 method, 2 content header, 3 body, 8 heartbeat, 0 the protocol header. */
  type: number;
  channel: number;
  classId?: number;
  methodId?: number;
  exchange?: string;
  routingKey?: string;
  queue?: string;
  consumerTag?: string;
  deliveryTag?: bigint;
  /** connection.close / channel.close. */
  replyCode?: number;
  replyText?: string;
  /** Content header: the body size it announces. */
  bodySize?: bigint;
  /** Content header of the basic class: the message properties a call reports (`properties.ts`). */
  props?: AmqpProperties;
}

/** Basic-class message properties, decoded copies; absent when not sent or not captured. */
export interface AmqpProperties {
  contentType?: string;
  /** The `headers` field table's top-level text, number and boolean values, as text (bounded). */
  headers?: Record<string, string>;
  correlationId?: string;
  messageId?: string;
}

/** Per connection. */
export interface AmqpState {
  /** The connection ended (`releaseHeld`): messages stop waiting for their content header. */
  ended: boolean;
}

export const FRAME_END = 0xce;
/** RabbitMQ's default frame_max is 128 KB; allow up to 16 MB. */
export const MAX_FRAME = 16 << 20;
export const MAX_TEXT = 256;

export const CLASS_NAMES: Record<number, string> = {
  10: 'connection',
  20: 'channel',
  40: 'exchange',
  50: 'queue',
  60: 'basic',
  85: 'confirm',
  90: 'tx',
};

/** Method names per class and method id. */
export const METHOD_NAMES: Record<number, Record<number, string>> = {
  10: { 10: 'start', 11: 'start-ok', 20: 'secure', 21: 'secure-ok', 30: 'tune', 31: 'tune-ok', 40: 'open', 41: 'open-ok', 50: 'close', 51: 'close-ok', 60: 'blocked', 61: 'unblocked' },
  20: { 10: 'open', 11: 'open-ok', 20: 'flow', 21: 'flow-ok', 40: 'close', 41: 'close-ok' },
  40: { 10: 'declare', 11: 'declare-ok', 20: 'delete', 21: 'delete-ok', 30: 'bind', 31: 'bind-ok', 40: 'unbind', 51: 'unbind-ok' },
  50: { 10: 'declare', 11: 'declare-ok', 20: 'bind', 21: 'bind-ok', 30: 'purge', 31: 'purge-ok', 40: 'delete', 41: 'delete-ok', 50: 'unbind', 51: 'unbind-ok' },
  60: { 10: 'qos', 11: 'qos-ok', 20: 'consume', 21: 'consume-ok', 30: 'cancel', 31: 'cancel-ok', 40: 'publish', 50: 'return', 60: 'deliver', 70: 'get', 71: 'get-ok', 72: 'get-empty', 80: 'ack', 90: 'reject', 100: 'recover-async', 110: 'recover', 111: 'recover-ok', 120: 'nack' },
  85: { 10: 'select', 11: 'select-ok' },
  90: { 10: 'select', 11: 'select-ok', 20: 'commit', 21: 'commit-ok', 30: 'rollback', 31: 'rollback-ok' },
}; // biome-ignore format: a table

export function methodName(classId: number, methodId: number): string {
  return `${CLASS_NAMES[classId] ?? classId}.${METHOD_NAMES[classId]?.[methodId] ?? methodId}`;
}

/** Client methods answered by a reply method (id + 1, or get-empty for basic.get) on the same channel. */
export const SYNC_REQUESTS = new Set([
  '20.10', '20.20', '20.40', '10.50',
  '40.10', '40.20', '40.30', '40.40',
  '50.10', '50.20', '50.30', '50.40', '50.50',
  '60.10', '60.20', '60.30', '60.70', '60.110',
  '85.10', '90.10', '90.20', '90.30',
]); // biome-ignore format: a table
