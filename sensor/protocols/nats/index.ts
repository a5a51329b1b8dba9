import type { ProtocolSpec } from '../contract.ts';
import { detectNats, findNatsBoundary, parseNats } from './parse.ts';
import { stitchNats } from './stitch.ts';
import type { NatsFrame, NatsState } from './types.ts';

/** NATS client protocol (client = request, server = response). */
export const spec: ProtocolSpec<NatsFrame, NatsState> = {
  protocol: 'nats',
  detect: detectNats,
  newState: () => ({ verbose: false }),
  parseFrame: parseNats,
  findFrameBoundary: (type, buf, offset) => findNatsBoundary(type, buf, offset),
  stitch: stitchNats,
};

export type { NatsFrame, NatsState } from './types.ts';
