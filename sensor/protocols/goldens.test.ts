import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { replayCapture } from '../pcap/pcapSource.ts';
import type { ProtocolName } from './contract.ts';
import { agree, callKey, FOLDER_PROTOCOLS, goldenKeys } from './goldenAgreement.ts';
import { implementedProtocols, protocolSpecs } from './registry.ts';

/**
 * Every capture in ../shared/testdata/pcaps replayed through the real pipeline (pcap reader, TCP
 * reassembly, tracker, registered parsers) and compared with Wireshark's tshark 4.0.17 goldens:
 * - golden_status ok: our calls equal tshark's pairs (method, resource, status; multiset);
 * - partial: every pair tshark fully decoded is among our calls (we may decode more, e.g. HPACK state);
 * - empty: tshark found nothing and neither do we;
 * - negative/encrypted: no calls of that protocol at all.
 * Protocols not registered yet are listed as "not implemented" in the printed table and not asserted.
 */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TESTDATA = resolve(REPO, '../shared/testdata');
const PCAPS = join(TESTDATA, 'pcaps');

if (!existsSync(join(PCAPS, 'MANIFEST.tsv'))) {
  throw new Error(
    `cannot find the shared captures at ${PCAPS}: the golden tests need ../shared/testdata beside the repository`,
  );
}

interface Row {
  file: string;
  folder: string;
  decodeAs: Map<number, ProtocolName>;
  status: string;
}

const TSHARK_NAMES: Record<string, ProtocolName> = {
  http: 'http',
  http2: 'http2',
  pgsql: 'postgres',
  mysql: 'mysql',
  redis: 'redis',
  kafka: 'kafka',
  mongo: 'mongodb',
};

function readManifest(): Row[] {
  const lines = readFileSync(join(PCAPS, 'MANIFEST.tsv'), 'utf8').split('\n').slice(1).filter(Boolean);
  return lines.map((line) => {
    const c = line.split('\t');
    const decodeAs = new Map<number, ProtocolName>();
    for (const m of (c[2] ?? '').matchAll(/tcp\.port==(\d+):(\w+)/g)) {
      const name = TSHARK_NAMES[m[2]!];
      if (name !== undefined) decodeAs.set(Number(m[1]), name);
    }
    return { file: c[0]!, folder: c[0]!.split('/')[0]!, decodeAs, status: c[8]! };
  });
}

/**
 * Where tshark 4.0 is known to be wrong we compare with the DeepFlow project's expected parser output
 * (reference/deepflow-results) or state why our reading differs.
 */
const KNOWN_DIFFERENCES: Record<string, { expected: string[]; reason: string }> = {
  'dns/deepflow__dns__dns-tcp-multi.pcap': {
    expected: [
      'A details.deepflow-ebpf-istio-demo.svc.cluster.local NOERROR',
      'AAAA details.deepflow-ebpf-istio-demo.svc.cluster.local NOERROR',
    ],
    reason:
      'tshark pairs both responses with the AAAA query; DeepFlow (dns__dns-tcp-multi.result) pairs id 59441 A and id 22841 AAAA',
  },
  'http/zeek__http__100-continue.pcap': {
    expected: ['POST / 200'],
    reason:
      'tshark pairs the POST with the interim 100 Continue; the call ends with the final response (200), RFC 9110 15.2',
  },
  'dns/sv__dns-udp-junkrequest-first__input.pcap': {
    expected: ['A catenacyber.Fr NOERROR'],
    reason:
      'the first datagram to port 53 is not DNS (question count 816, tshark: Malformed Packet); we do not report it as a DNS call',
  },
};

/**
 * Protocols whose every call we must match exactly (ours). For the others, calls tshark's golden leaves
 * out are reported as extra, with the reason, and every golden pair must still be found.
 */
const STRICT_FOLDERS = new Set(['http', 'http2', 'grpc', 'dns']);
const EXTRA_CALLS_EXPECTED: Record<string, string> = {
  pgsql:
    'tshark pairs only Query and Parse-carrying batches; Executes of statements prepared earlier are ours only',
  mysql: 'tshark has no query text for COM_INIT_DB, COM_PING, COM_STMT_EXECUTE...; we report those calls too',
  redis: 'tshark 4.0 does not decode RESP3 replies',
  kafka: 'tshark 4.0 does not decode flexible-version responses',
};

const rows = readManifest();
const implemented = implementedProtocols(protocolSpecs);

interface TableRow {
  folder: string;
  files: number;
  notImplemented: number;
  filesAgreeing: number;
  expected: number;
  matched: number;
  extra: number;
  /** Files whose calls differ without tshark's decode_as port mapping (detection from bytes alone). */
  needDecodeAs: number;
}
const table = new Map<string, TableRow>();
function tally(folder: string): TableRow {
  let t = table.get(folder);
  if (t === undefined) {
    t = {
      folder,
      files: 0,
      notImplemented: 0,
      filesAgreeing: 0,
      expected: 0,
      matched: 0,
      extra: 0,
      needDecodeAs: 0,
    };
    table.set(folder, t);
  }
  return t;
}

function replayKeys(
  row: Row,
  protocols: readonly ProtocolName[],
  decodeAs?: Map<number, ProtocolName>,
): string[] {
  const r = replayCapture(readFileSync(join(PCAPS, row.file)), protocolSpecs, decodeAs);
  return r.calls.filter((c) => protocols.includes(c.protocol)).map((c) => callKey(row.folder, c));
}

describe('replayed captures agree with tshark', () => {
  it('finds every capture of the manifest', () => {
    expect(rows.length).toBeGreaterThanOrEqual(95);
    for (const row of rows) expect(existsSync(join(PCAPS, row.file)), row.file).toBe(true);
  });

  for (const row of rows) {
    const protocols = FOLDER_PROTOCOLS[row.folder];
    if (protocols === undefined) throw new Error(`cannot map manifest folder ${row.folder} to a protocol`);
    const t = tally(row.folder);
    t.files++;
    if (!protocols.some((p) => implemented.has(p))) {
      t.notImplemented++;
      continue;
    }
    it(`${row.file} (${row.status})`, () => {
      const golden = JSON.parse(readFileSync(join(TESTDATA, 'goldens', `${row.file}.json`), 'utf8')).golden;
      const keys = goldenKeys(row.folder, golden);
      const known = KNOWN_DIFFERENCES[row.file];
      if (known !== undefined) console.log(`${row.file}: not tshark's reading: ${known.reason}`);
      const expected = known?.expected ?? keys.expected;
      const ours = replayKeys(row, protocols, row.decodeAs);
      const a = agree(expected, ours);
      t.expected += a.expected;
      t.matched += a.matched;
      t.extra += a.extra.length;
      const detail = `missing ${JSON.stringify(a.missing)} extra ${JSON.stringify(a.extra)}`;
      const strict = STRICT_FOLDERS.has(row.folder);
      if (row.status.startsWith('negative')) {
        expect(ours, 'a negative capture must yield no calls').toEqual([]);
      } else {
        expect(a.missing, detail).toEqual([]);
        // tshark leaves out some calls of the part-B protocols that we report (EXTRA_CALLS_EXPECTED).
        if (strict && (row.status === 'ok' || row.status === 'empty')) expect(a.extra, detail).toEqual([]);
      }
      t.filesAgreeing++;
      // Ports are hints only: bytes alone must find the same calls as tshark's decode_as mapping.
      if (row.decodeAs.size > 0) {
        const alone = replayKeys(row, protocols).sort();
        if (strict) expect(alone).toEqual([...ours].sort());
        else if (JSON.stringify(alone) !== JSON.stringify([...ours].sort())) t.needDecodeAs++;
      }
    });
  }

  afterAll(() => {
    const lines = ['protocol  files  agreeing  golden-pairs-matched  extra-calls  note'];
    for (const [folder, reason] of Object.entries(EXTRA_CALLS_EXPECTED))
      lines.unshift(`extra ${folder} calls: ${reason}`);
    for (const r of table.values()) {
      const note =
        r.notImplemented === r.files
          ? 'not implemented'
          : r.notImplemented > 0
            ? `${r.notImplemented} not implemented`
            : '';
      const hint = r.needDecodeAs > 0 ? `${note ? '; ' : ''}${r.needDecodeAs} need decode_as` : '';
      const pairs = `${r.matched}/${r.expected}`;
      lines.push(
        `${r.folder.padEnd(8)}  ${String(r.files).padStart(5)}  ${String(r.filesAgreeing).padStart(8)}  ${pairs.padStart(20)}  ${String(r.extra).padStart(11)}  ${note}${hint}`,
      );
    }
    console.log(`agreement with tshark per protocol:\n${lines.join('\n')}`);
  });
});
