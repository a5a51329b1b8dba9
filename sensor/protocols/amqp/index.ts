import type { ProtocolSpec } from '../contract.ts';
import { detectAmqp, findAmqpBoundary, parseAmqp } from './parse.ts';
import { stitchAmqp } from './stitch.ts';
import type { AmqpFrame, AmqpState } from './types.ts';

/** AMQP 0-9-1 (client = request, broker = response). */
export const spec: ProtocolSpec<AmqpFrame, AmqpState> = {
  protocol: 'amqp',
  detect: detectAmqp,
  newState: () => ({ ended: false }),
  parseFrame: (type, buf, offset, tsNs) => parseAmqp(type, buf, offset, tsNs),
  findFrameBoundary: (type, buf, offset) => findAmqpBoundary(type, buf, offset),
  stitch: stitchAmqp,
  // Messages still waiting for their content header go out without it at the last stitch.
  releaseHeld: (_requests, _responses, state) => {
    state.ended = true;
  },
};

export type { AmqpFrame } from './types.ts';
