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
  req_frame: number;
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
      const framed = callsFromPcap(spec, row.file, row.ports.length ? row.ports : [5432]);
      const all = framed.map((f) => f.call);
      if (row.goldenStatus.startsWith('negative')) {
        expect(all).toEqual([]);
        return;
      }
      let expected = 0;
      let agreed = 0;
      const used = new Set<number>();
      for (const q of golden.query_results) {
        const want: { query: string; status: string; tag: string | undefined }[] = q.error
          ? [{ query: q.queries[0]!, status: q.error.code, tag: undefined }]
          : q.tags.map((tag, i) => ({ query: q.queries[i]!, status: '00000', tag }));
        for (const w of want) {
          expected++;
          const found = framed.findIndex(
            (f, i) => !used.has(i) && f.frame === q.req_frame && sameText(f.call.resource, w.query),
          );
          expect(found, `${w.query.slice(0, 60)} at frame ${q.req_frame}`).toBeGreaterThanOrEqual(0);
          if (found < 0) continue;
          used.add(found);
          const c = framed[found]!.call;
          expect(c.status, w.query).toBe(w.status);
          expect(c.error).toBe(w.status !== '00000');
          if (w.tag !== undefined) expect(c.attributes?.['db.command_tag']).toBe(w.tag);
          agreed++;
        }
      }
      console.log(`postgres ${row.file}: ${agreed}/${expected} golden queries agree, ${all.length} calls`);
      expect(agreed).toBe(expected);
    });
  }
});
