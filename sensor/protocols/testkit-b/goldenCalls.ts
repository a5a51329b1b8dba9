import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCapture } from '../../pcap/captureFile.ts';
import { replayCapture } from '../../pcap/pcapSource.ts';
import type { ApiCall, Frame, ProtocolName, ProtocolSpec } from '../contract.ts';

/** The shared real-world captures and tshark goldens (../shared/testdata, see its README). */
export const PCAP_DIR = '/work/shared/testdata/pcaps';
export const GOLDEN_DIR = '/work/shared/testdata/goldens';

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

export interface FramedCall {
  call: ApiCall;
  /** Capture frame numbers (1-based, as tshark counts) of the call's start and end times. */
  frame: number;
  endFrame: number;
}

/**
 * Replays a capture through the real pipeline (part A's pcap reader, TCP reassembly and connection tracker)
 * with only `spec` registered, server ports from the manifest's decode_as as hints, and maps each call's
 * start and end times back to frame numbers so calls can be matched with tshark's `req_frame`.
 */
export function callsFromPcap<F extends Frame, S>(
  spec: ProtocolSpec<F, S>,
  file: string,
  serverPorts: readonly number[],
): FramedCall[] {
  const bytes = new Uint8Array(readFileSync(join(PCAP_DIR, file)));
  const frameOf = new Map<bigint, number>();
  let n = 0;
  for (const p of readCapture(bytes)) {
    n++;
    if (!frameOf.has(p.tsNs)) frameOf.set(p.tsNs, n);
  }
  const decodeAs = new Map<number, ProtocolName>(serverPorts.map((port) => [port, spec.protocol]));
  const { calls } = replayCapture(bytes, [spec as ProtocolSpec], decodeAs);
  return calls.map((call) => ({
    call,
    frame: frameOf.get(call.startNs) ?? -1,
    endFrame: frameOf.get(call.endNs) ?? -1,
  }));
}
