import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { callsFromPcap, manifestRows, readGolden } from '../testkit-b/goldenCalls.ts';
import { spec } from './index.ts';
import { API_NAMES } from './types.ts';

/**
 * tshark's pairs (api key, version, correlation id, request frame) must be our calls. tshark 4.0 cannot read
 * responses of flexible versions (produce v9, fetch v12): there DeepFlow's expected output
 * (reference/deepflow-results) gives the pairing and status code, and we check against it.
 */
interface Message {
  frame: number;
  dir: string;
  correlation_id: number;
  api_key?: number;
  api_version?: number;
  topics?: string[];
}

const rows = manifestRows('kafka');

function deepflow(file: string): { corr: number; api: string; status: number | undefined }[] {
  const name = file.replace(/^kafka\/deepflow__kafka__/, 'kafka__').replace(/\.pcap$/, '.result');
  const path = `/work/shared/testdata/reference/deepflow-results/${name}`;
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return [
    ...text.matchAll(
      /msg_type: Response, correlation_id: Some\((\d+)\), api_key: (\w+),.*?status_code: (Some\((-?\d+)\)|None)/g,
    ),
  ].map((m) => ({
    corr: Number(m[1]),
    api: m[2]!,
    status: m[4] === undefined ? undefined : Number(m[4]),
  }));
}

describe('kafka against tshark goldens', () => {
  it('has the captures', () => expect(rows.length).toBeGreaterThanOrEqual(11));
  for (const row of rows) {
    it(`${row.file} (${row.goldenStatus})`, () => {
      const golden = readGolden<{ messages: Message[] }>(row.file);
      const framed = callsFromPcap(spec, row.file, row.ports.length ? row.ports : [9092]);
      const calls = framed.map((f) => f.call);
      const frameOf = new Map(framed.map((f) => [f.call, f]));
      for (const m of golden.messages.filter((x) => x.dir === 'request')) {
        const c = calls.find((x) => x.attributes?.['kafka.correlation_id'] === m.correlation_id);
        expect(c, `request ${m.correlation_id}`).toBeDefined();
        expect(frameOf.get(c!)?.frame).toBe(m.frame);
        expect(c!.method).toBe(API_NAMES[m.api_key!]);
        expect(c!.attributes?.['kafka.api_version']).toBe(m.api_version);
        if (m.topics?.length && [0, 1].includes(m.api_key!)) expect(c!.resource).toBe(m.topics[0]);
      }
      for (const m of golden.messages.filter((x) => x.dir === 'response')) {
        const c = calls.find((x) => x.attributes?.['kafka.correlation_id'] === m.correlation_id);
        expect(frameOf.get(c!)?.endFrame, `response ${m.correlation_id}`).toBe(m.frame);
      }
      // DeepFlow pairs every response, flexible versions included; where tshark could not read the
      // response, compare API and status code with DeepFlow. (Where both read it, the bytes side with tshark:
      // e.g. the Heartbeat v4 answer of mixed-with-unsupported has error code 0, DeepFlow says -2.)
      const tsharkRead = new Set(
        golden.messages.filter((x) => x.dir === 'response').map((x) => x.correlation_id),
      );
      for (const d of deepflow(row.file)) {
        const c = calls.find((x) => x.attributes?.['kafka.correlation_id'] === d.corr);
        expect(c?.method, `DeepFlow response ${d.corr}`).toBe(d.api);
        if (d.status !== undefined && !tsharkRead.has(d.corr)) expect(c!.status).toBe(String(d.status));
      }
      console.log(
        `kafka ${row.file}: ${calls.map((c) => `${c.method}(${c.resource}) -> ${c.status}`).join(', ')}`,
      );
    });
  }
});
