import { describe, expect, it } from 'vitest';
import { spec as amqp } from '../amqp/index.ts';
import type { DetectInput, ProtocolSpec } from '../contract.ts';
import { spec as kafka } from '../kafka/index.ts';
import { spec as mongodb } from '../mongodb/index.ts';
import { spec as mysql } from '../mysql/index.ts';
import { spec as nats } from '../nats/index.ts';
import { spec as postgres } from '../postgres/index.ts';
import { spec as redis } from '../redis/index.ts';

/** A clear "no" is one shared, frozen answer: detecting someone else's bytes allocates nothing. */
const specs = [postgres, mysql, redis, kafka, mongodb, amqp, nats] as ProtocolSpec[];
const enc = new TextEncoder();
const others: [string, Uint8Array][] = [
  ['HTTP/1.1 request', enc.encode('GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n')],
  ['HTTP/2 preface', enc.encode('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')],
  ['TLS client hello', new Uint8Array([0x16, 3, 1, 2, 0, 1, 0, 1, 0xfc, 3, 3, ...new Array(32).fill(7)])],
  ['SSH banner', enc.encode('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n')],
];

describe('detection of other protocols', () => {
  for (const spec of specs) {
    it.each(others)(`${spec.protocol} says no to %s without allocating`, (_n, data) => {
      const input: DetectInput = { data, direction: 'egress', role: 'client', transport: 'tcp' };
      const a = spec.detect(input);
      const b = spec.detect(input);
      expect(a.score).toBe(0);
      expect(a).toBe(b);
      expect(Object.isFrozen(a)).toBe(true);
    });
  }
});
