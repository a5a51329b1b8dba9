import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiCall, Frame, ProtocolSpec } from '../contract.ts';
import { GOLDEN_DIR, PCAP_DIR, readTcpStreams } from './pcapStreams.ts';
import { drive } from './streamDriver.ts';

export interface ManifestRow {
  file: string;
  protocol: string;
  /** Server ports from `decode_as` (e.g. `tcp.port==8000:pgsql`), empty when the default port applies. */
  ports: number[];
  goldenStatus: string;
}

export function manifestRows(protocol: string): ManifestRow[] {
  const lines = readFileSync(join(PCAP_DIR, 'MANIFEST.tsv'), 'utf8').split('\n').slice(1).filter(Boolean);
  return lines
    .map((l) => l.split('\t'))
    .filter((c) => c[1] === protocol)
    .map((c) => ({
      file: c[0]!,
      protocol: c[1]!,
      ports: [...(c[2] ?? '').matchAll(/tcp\.port==(\d+)/g)].map((m) => Number(m[1])),
      goldenStatus: c[8]!,
    }));
}

export function readGolden<T>(file: string): T {
  return (JSON.parse(readFileSync(join(GOLDEN_DIR, `${file}.json`), 'utf8')) as { golden: T }).golden;
}

export interface StreamCalls {
  stream: number;
  calls: ApiCall[];
  invalid: number;
  stitchErrors: number;
}

/** Runs `spec` over every TCP stream of a capture. A call's `startNs` is the frame number of its request. */
export function callsFromPcap<F extends Frame, S>(
  spec: ProtocolSpec<F, S>,
  file: string,
  serverPorts: readonly number[],
): StreamCalls[] {
  return readTcpStreams(file, serverPorts).map((s) => {
    const r = drive(spec, s.chunks);
    return { stream: s.index, calls: r.calls, invalid: r.invalid, stitchErrors: r.stitchErrors };
  });
}
