import type { ProtocolSpec } from '../contract.ts';
import { detectRedis, findRedisBoundary, parseRedis } from './parse.ts';
import { releaseCut, stitchRedis } from './stitch.ts';
import type { RedisFrame, RedisState } from './types.ts';

/** Redis RESP2/RESP3 (client = request, server = response). */
export const spec: ProtocolSpec<RedisFrame, RedisState> = {
  protocol: 'redis',
  detect: detectRedis,
  newState: () => ({ subscriptions: 0 }),
  parseFrame: (type, buf, offset, tsNs) => parseRedis(type, buf, offset, tsNs),
  findFrameBoundary: (type, buf, offset) => findRedisBoundary(type, buf, offset),
  stitch: stitchRedis,
  releaseHeld: releaseCut,
};

export type { RedisFrame, RedisState } from './types.ts';
