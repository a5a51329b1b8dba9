import { describe, expect, it } from 'vitest';
import { callsFromPcap, manifestRows, readGolden } from '../testkit-b/goldenCalls.ts';
import { spec } from './index.ts';

/** tshark's request/reply pairs must be our calls: same frames, command name, and the OP_QUERY collection. */
interface Pair {
  req_frame: number;
  resp_frame: number;
  command: string;
  collection: string | null;
}

const rows = manifestRows('mongo');

describe('mongodb against tshark goldens', () => {
  it('has the captures', () => expect(rows.length).toBeGreaterThanOrEqual(2));
  for (const row of rows) {
    it(`${row.file} (${row.goldenStatus})`, () => {
      const golden = readGolden<{ pairs: Pair[] }>(row.file);
      const framed = callsFromPcap(spec, row.file, row.ports.length ? row.ports : [27017]);
      const ours = framed.map((f) => `${f.frame}->${f.endFrame} ${f.call.method}`);
      const want = golden.pairs.map((p) => `${p.req_frame}->${p.resp_frame} ${p.command}`);
      expect(ours.sort()).toEqual(want.sort());
      for (const p of golden.pairs.filter((x) => x.collection !== null)) {
        expect(framed.find((f) => f.frame === p.req_frame)?.call.resource).toBe(p.collection);
      }
      console.log(`mongodb ${row.file}: ${want.length} pairs agree`);
    });
  }
});
