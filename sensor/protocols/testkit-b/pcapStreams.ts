import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { MessageType } from '../contract.ts';
import type { Chunk } from './streamDriver.ts';

/**
 * Reads the reassembled TCP streams of a capture through tshark's `follow,tcp,yaml` (test-only, until
 * part A's capture source exists). Each chunk keeps the frame number as its `tsNs`, so a parsed call's
 * start time tells which frame completed its request: that is how the tshark goldens name messages.
 */
export const PCAP_DIR = '/work/shared/testdata/pcaps';
export const GOLDEN_DIR = '/work/shared/testdata/goldens';

export interface TcpStream {
  index: number;
  /** Peer 0 is whoever sent first in the capture; `serverPort` decides which side is the server. */
  chunks: Chunk[];
}

export function tcpStreamIndexes(file: string): number[] {
  const out = execFileSync('tshark', ['-n', '-r', join(PCAP_DIR, file), '-T', 'fields', '-e', 'tcp.stream'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return [...new Set(out.split('\n').filter(Boolean).map(Number))].sort((a, b) => a - b);
}

/** Streams of `file`; bytes sent to a port in `serverPorts` are requests. */
export function readTcpStreams(file: string, serverPorts: readonly number[]): TcpStream[] {
  const streams: TcpStream[] = [];
  for (const index of tcpStreamIndexes(file)) {
    const yaml = execFileSync(
      'tshark',
      ['-n', '-r', join(PCAP_DIR, file), '-q', '-z', `follow,tcp,yaml,${index}`],
      {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    streams.push({ index, chunks: parseFollowYaml(yaml, serverPorts) });
  }
  return streams;
}

const GAP = /^\[\d+ bytes missing in capture file\]\0?$/;

function parseFollowYaml(yaml: string, serverPorts: readonly number[]): Chunk[] {
  const peerPorts = [...yaml.matchAll(/- peer: (\d)\n\s+host: .*\n\s+port: (\d+)/g)].map((m) => Number(m[2]));
  const serverPeer = serverPorts.includes(peerPorts[1] ?? -1)
    ? 1
    : serverPorts.includes(peerPorts[0] ?? -1)
      ? 0
      : 1;
  const chunks: Chunk[] = [];
  const re =
    /- packet: (\d+)\n\s+peer: (\d)\n\s+timestamp: [\d.]+\n\s+data: !!binary \|\n((?:\s{6}\S+\n?)+)/g;
  for (const m of yaml.matchAll(re)) {
    const type: MessageType = Number(m[2]) === serverPeer ? 'response' : 'request';
    const data = new Uint8Array(Buffer.from(m[3]!.replace(/\s+/g, ''), 'base64'));
    // tshark marks a gap with a text chunk (`[N bytes missing in capture file]`): skip it.
    if (m[0].includes('timestamp: 0.000000000') && GAP.test(Buffer.from(data).toString('latin1'))) continue;
    chunks.push({ type, tsNs: BigInt(m[1]!), data });
  }
  return chunks;
}
