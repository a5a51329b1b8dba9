import type { ProtocolSpec } from '../contract.ts';
import { detectMongo, findMongoBoundary, parseMongo } from './parse.ts';
import { stitchMongo } from './stitch.ts';
import type { MongoFrame } from './types.ts';

/** MongoDB wire protocol: OP_MSG, legacy OP_QUERY/OP_REPLY (client = request, server = response). */
export const spec: ProtocolSpec<MongoFrame, Record<string, never>> = {
  protocol: 'mongodb',
  detect: detectMongo,
  newState: () => ({}),
  parseFrame: (type, buf, offset, tsNs) => parseMongo(type, buf, offset, tsNs),
  findFrameBoundary: (type, buf, offset) => findMongoBoundary(type, buf, offset),
  stitch: stitchMongo,
};

export type { MongoFrame } from './types.ts';
