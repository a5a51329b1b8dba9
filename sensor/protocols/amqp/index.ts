import type { ProtocolSpec } from '../contract.ts';
import { detectAmqp, findAmqpBoundary, parseAmqp } from './parse.ts';
import { stitchAmqp } from './stitch.ts';
import type { AmqpFrame } from './types.ts';

/** AMQP 0-9-1 (client = request, broker = response). */
export const spec: ProtocolSpec<AmqpFrame, Record<string, never>> = {
  protocol: 'amqp',
  detect: detectAmqp,
  newState: () => ({}),
  parseFrame: (type, buf, offset, tsNs) => parseAmqp(type, buf, offset, tsNs),
  findFrameBoundary: (type, buf, offset) => findAmqpBoundary(type, buf, offset),
  stitch: stitchAmqp,
};

export type { AmqpFrame } from './types.ts';
