import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spec as amqp } from '../amqp/index.ts';
import type { ProtocolSpec } from '../contract.ts';
import { spec as mysql } from '../mysql/index.ts';
import { spec as nats } from '../nats/index.ts';
import { spec as postgres } from '../postgres/index.ts';
import { spec as redis } from '../redis/index.ts';
import { loadSessions, summarize } from './sessionFixture.ts';
import { drive } from './streamDriver.ts';

/** Conversations recorded from real servers by the live tests, replayed offline (see sessionFixture.ts). */
const here = dirname(fileURLToPath(import.meta.url));
const specs: [string, ProtocolSpec][] = [
  ['postgres', postgres as ProtocolSpec],
  ['mysql', mysql as ProtocolSpec],
  ['redis', redis as ProtocolSpec],
  ['amqp', amqp as ProtocolSpec],
  ['nats', nats as ProtocolSpec],
];

describe('recorded real sessions', () => {
  for (const [name, spec] of specs) {
    const sessions = loadSessions(join(here, '..', name, 'testdata'));
    it(`${name} has recorded sessions`, () => expect(sessions.length).toBeGreaterThan(0));
    for (const s of sessions) {
      it(`${name}/${s.name}: ${s.fixture.description}`, () => {
        const r = drive(spec, s.chunks);
        expect(r.calls.map(summarize)).toEqual(s.fixture.calls);
        expect(r.invalid).toBe(0);
      });
    }
  }
});
