import type { ProtocolSpec } from '../contract.ts';
import { skipGap } from '../prefixSkip.ts';
import { detectMongo, findMongoBoundary, parseMongo } from './parse.ts';
import { stitchMongo } from './stitch.ts';
import type { MongoFrame, MongoState } from './types.ts';

/** MongoDB wire protocol: OP_MSG, legacy OP_QUERY/OP_REPLY (client = request, server = response). */
export const spec: ProtocolSpec<MongoFrame, MongoState> = {
  protocol: 'mongodb',
  detect: detectMongo,
  newState: () => ({ skipRequest: 0, skipResponse: 0 }),
  parseFrame: parseMongo,
  findFrameBoundary: (type, buf, offset) => findMongoBoundary(type, buf, offset),
  stitch: stitchMongo,
  onGap: skipGap,
};

export type { MongoFrame } from './types.ts';
