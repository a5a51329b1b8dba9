import { describe, expect, it } from 'vitest';
import { callsFromPcap, manifestRows, readGolden } from '../testkit-b/goldenCalls.ts';
import { spec } from './index.ts';

/**
 * tshark pairs each Query, or each extended-query batch holding a Parse, with the command tags or the
 * error that answered it. We report one call per statement executed, so each golden (query, tag) must be
 * one of our calls in the same stream, in order. Executes of statements prepared before the capture
 * started have no golden entry (tshark does not pair them); they are allowed as extra calls.
 */
interface QueryResult {
  tcp_stream: number;
  queries: string[];
  tags: string[];
  error: { code: string } | null;
}

const rows = manifestRows('pgsql');
/**
 * tshark's text output turns control characters into spaces, shows bytes that are not UTF-8 differently
 * and cuts long values: compare the ASCII text, and a prefix when tshark's text is long.
 */
const norm = (t: string) => t.replace(/[\r\n\t]/g, ' ').replace(/[^\x20-\x7e]+/g, '?');
const sameText = (ours: string, theirs: string) =>
  theirs.length >= 200 ? norm(ours).startsWith(norm(theirs).split('?')[0]!) : norm(ours) === norm(theirs);

describe('postgres against tshark goldens', () => {
  it('has the captures', () => expect(rows.length).toBeGreaterThanOrEqual(8));
  for (const row of rows) {
    it(`${row.file} (${row.goldenStatus})`, () => {
      const golden = readGolden<{ query_results: QueryResult[] }>(row.file);
      const streams = callsFromPcap(spec, row.file, row.ports.length ? row.ports : [5432]);
      const all = streams.flatMap((s) => s.calls);
      if (row.goldenStatus.startsWith('negative')) {
        expect(all).toEqual([]);
        return;
      }
      let expected = 0;
      let agreed = 0;
      for (const s of streams) {
        const want = golden.query_results
          .filter((q) => q.tcp_stream === s.stream)
          .flatMap((q): { query: string; status: string; tag: string | undefined }[] =>
            q.error
              ? [{ query: q.queries[0]!, status: q.error.code, tag: undefined }]
              : q.tags.map((tag, i) => ({ query: q.queries[i]!, status: '00000', tag })),
          );
        let at = 0;
        for (const w of want) {
          expected++;
          const found = s.calls.findIndex((c, i) => i >= at && sameText(c.resource, w.query));
          if (found < 0) continue;
          const c = s.calls[found]!;
          expect(c.status, w.query).toBe(w.status);
          expect(c.error).toBe(w.status !== '00000');
          if (w.tag !== undefined) expect(c.attributes?.['db.command_tag']).toBe(w.tag);
          agreed++;
          at = found + 1;
        }
      }
      console.log(`postgres ${row.file}: ${agreed}/${expected} golden queries agree, ${all.length} calls`);
      expect(agreed).toBe(expected);
    });
  }
});
