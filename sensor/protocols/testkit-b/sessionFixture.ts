import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiCall, MessageType } from '../contract.ts';
import type { Chunk } from './streamDriver.ts';

/**
 * Real conversations recorded by the live tests (`UPDATE_TESTDATA=1`), kept in a protocol's `testdata/` so
 * the parser is also checked against real peers' bytes on machines without the servers. Times are rebased
 * to the first read; the summary of the calls at recording time is the expected result.
 */
export interface SessionFixture {
  description: string;
  chunks: { type: MessageType; tsNs: string; data: string }[];
  calls: string[];
}

export const summarize = (c: ApiCall) => `${c.method} ${c.resource} ${c.status}`;

export function saveSession(
  dir: string,
  name: string,
  description: string,
  chunks: Chunk[],
  calls: ApiCall[],
): void {
  if (process.env.UPDATE_TESTDATA !== '1') return;
  const t0 = chunks[0]?.tsNs ?? 0n;
  const fixture: SessionFixture = {
    description,
    chunks: chunks.map((c) => ({
      type: c.type,
      tsNs: String(c.tsNs - t0),
      data: Buffer.from(c.data).toString('base64'),
    })),
    calls: calls.map(summarize),
  };
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(fixture, null, 1)}\n`);
}

export function loadSessions(dir: string): { name: string; fixture: SessionFixture; chunks: Chunk[] }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const fixture = JSON.parse(readFileSync(join(dir, f), 'utf8')) as SessionFixture;
      const chunks = fixture.chunks.map((c) => ({
        type: c.type,
        tsNs: BigInt(c.tsNs),
        data: new Uint8Array(Buffer.from(c.data, 'base64')),
      }));
      return { name: f, fixture, chunks };
    });
}
