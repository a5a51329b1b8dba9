import { describe, expect, it } from 'vitest';
import { callsFromPcap, manifestRows, readGolden } from '../testkit-b/goldenCalls.ts';
import { spec } from './index.ts';

/**
 * Every command tshark pairs with a response must be one of our calls, started by the same frame, with the
 * same query text, response kind (tshark calls a prepare answer RESULTSET) and error code. Commands without
 * a response (COM_QUIT, COM_STMT_CLOSE, cut captures) make no call. Extra calls are listed: a failed login
 * (tshark counts no command), and the calls of the compressed-protocol captures, which tshark cannot
 * decompress and we do (they start after the handshake: the framing tells; every call there is a SELECT
 * answered by a result set).
 */
interface Command {
  req_frame: number;
  command: number;
  query: string | null;
  resp_kind: string | null;
  error_code: number | null;
}

const rows = manifestRows('mysql');
const norm = (t: string) => t.replace(/[\r\n\t]/g, ' ').replace(/[^\x20-\x7e]+/g, '?');
/** tshark escapes control bytes as `\xNN` and stops at a NUL: compare up to its first escape. */
const sameText = (ours: string, theirs: string) => {
  const cut = theirs.indexOf('\\x');
  return cut < 0 ? norm(ours) === norm(theirs) : norm(ours).startsWith(norm(theirs.slice(0, cut)));
};

describe('mysql against tshark goldens', () => {
  it('has the captures', () => expect(rows.length).toBeGreaterThanOrEqual(20));
  for (const row of rows) {
    it(`${row.file} (${row.goldenStatus})`, () => {
      const golden = readGolden<{ commands: Command[] }>(row.file);
      const framed = callsFromPcap(spec, row.file, row.ports.length ? row.ports : [3306]);
      let expected = 0;
      let agreed = 0;
      const want = golden.commands.filter((c) => c.resp_kind !== null);
      for (const w of want) {
        expected++;
        const c = framed.find((x) => x.frame === w.req_frame)?.call;
        expect(c, `${row.file} frame ${w.req_frame}`).toBeDefined();
        if (!c) continue;
        const kind =
          c.attributes?.['db.response'] === 'PREPARED' ? 'RESULTSET' : c.attributes?.['db.response'];
        expect(kind, `frame ${w.req_frame}`).toBe(w.resp_kind);
        if (w.query !== null) expect(sameText(c.resource, w.query), w.query.slice(0, 80)).toBe(true);
        expect(c.status).toBe(w.error_code === null ? '0' : String(w.error_code));
        expect(c.error).toBe(w.error_code !== null);
        agreed++;
      }
      const wanted = new Set(want.map((w) => w.req_frame));
      const extra = framed
        .filter((f) => !wanted.has(f.frame))
        .map((f) => `${f.call.method} ${f.call.status}`);
      console.log(
        `mysql ${row.file}: ${agreed}/${expected} agree; extra calls: ${extra.join(', ') || 'none'}`,
      );
      expect(agreed).toBe(expected);
      if (row.file.includes('compressed')) {
        // tshark cannot decompress (and with the partial-packet capture's decode-as on the client's port it
        // reads the client as the server): these are checked against what the captures hold, two SELECTs
        // with result sets in the partial one.
        expect(extra.length).toBeGreaterThan(0);
        for (const f of framed.filter((x) => !wanted.has(x.frame))) {
          expect(`${f.call.method} ${f.call.status} ${f.call.attributes?.['db.response']}`).toBe(
            'SELECT 0 RESULTSET',
          );
          expect(f.call.resource).toMatch(/^SELECT \* FROM `/);
        }
      } else for (const e of extra) expect(['LOGIN 1040', 'SLEEP 0']).toContain(e);
    });
  }
});
