import type { ProtocolSpec } from '../contract.ts';
import { skipGap } from '../prefixSkip.ts';
import { detectKafka, findKafkaBoundary, parseKafka } from './parse.ts';
import { stitchKafka } from './stitch.ts';
import type { KafkaFrame, KafkaState } from './types.ts';

/** Apache Kafka (client = request, broker = response). */
export const spec: ProtocolSpec<KafkaFrame, KafkaState> = {
  protocol: 'kafka',
  detect: detectKafka,
  newState: () => ({ pending: new Map(), skipRequest: 0, skipResponse: 0 }),
  parseFrame: parseKafka,
  findFrameBoundary: (type, buf, offset) => findKafkaBoundary(type, buf, offset),
  stitch: stitchKafka,
  onGap: skipGap,
};

export type { KafkaFrame, KafkaState } from './types.ts';
