import { describe, expect, it } from 'vitest';
import { callsFromPcap, manifestRows, readGolden } from '../testkit-b/goldenCalls.ts';
import { spec } from './index.ts';

/** Each command tshark pairs with a reply (FIFO) is one of our calls: same frame, command, error or not. */
interface Pair {
  command: string;
  req_frame: number;
  reply_type: string;
  value: unknown;
}

const rows = manifestRows('redis');

describe('redis against tshark goldens', () => {
  it('has the captures', () => expect(rows.length).toBeGreaterThanOrEqual(6));
  for (const row of rows) {
    it(`${row.file} (${row.goldenStatus})`, () => {
      const golden = readGolden<{ pairs_fifo: Pair[] }>(row.file);
      const framed = callsFromPcap(spec, row.file, row.ports.length ? row.ports : [6379]);
      const ours = framed.map((f) => `${f.frame} ${f.call.method} ${f.call.error ? 'error' : 'ok'}`);
      const want = golden.pairs_fifo.map(
        (p) => `${p.req_frame} ${p.command.toUpperCase()} ${p.reply_type === 'error' ? 'error' : 'ok'}`,
      );
      console.log(
        `redis ${row.file}: ${want.filter((w) => ours.includes(w)).length}/${want.length} agree, ${ours.length} calls`,
      );
      if (row.goldenStatus === 'ok') expect(ours.sort()).toEqual(want.sort());
      else for (const w of want) expect(ours).toContain(w);
      for (const f of framed) if (f.call.error) expect(f.call.status).toMatch(/^[A-Z]+$/);
    });
  }
});
