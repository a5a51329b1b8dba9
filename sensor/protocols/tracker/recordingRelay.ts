import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { ApiCall, ProtocolName, ProtocolSpec, Role } from '../contract.ts';
import {
  type ConnectionInfo,
  ConnectionTracker,
  type Direction,
  type TrackerStats,
} from './connectionTracker.ts';

/**
 * Test support: a TCP relay between a real client and a real server that records every read of each
 * direction with its time (what the eBPF source would report), so tests can replay the recording through a
 * ConnectionTracker whole, cut, or split differently. `egress` = bytes the client wrote.
 */
export interface RecordedChunk {
  conn: number;
  direction: Direction;
  tsNs: bigint;
  data: Uint8Array;
}

export class RecordingRelay {
  readonly chunks: RecordedChunk[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private connections = 0;

  constructor(private readonly targetPort: number) {}

  /** Starts listening on a free loopback port and returns it. */
  async start(): Promise<number> {
    const server = createServer((client) => this.relay(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('cannot start relay: no TCP address');
    return addr.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private relay(client: Socket): void {
    const conn = this.connections++;
    const upstream = createConnection({ port: this.targetPort, host: '127.0.0.1' });
    this.sockets.add(client);
    this.sockets.add(upstream);
    const record = (direction: Direction) => (data: Buffer) => {
      this.chunks.push({ conn, direction, tsNs: process.hrtime.bigint(), data: new Uint8Array(data) });
    };
    client.on('data', record('egress'));
    upstream.on('data', record('ingress'));
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  }
}

export interface ReplayedChunks {
  calls: ApiCall[];
  stats: TrackerStats;
  tracker: ConnectionTracker;
}

/** Feeds recorded chunks to a fresh tracker (as the client's side), then flushes it. */
export function replayChunks(
  chunks: readonly RecordedChunk[],
  specs: readonly ProtocolSpec[],
  options: { role?: Role; decodeAs?: ReadonlyMap<number, ProtocolName>; flush?: boolean } = {},
): ReplayedChunks {
  const calls: ApiCall[] = [];
  const tracker = new ConnectionTracker({ specs, onCall: (c) => calls.push(c), decodeAs: options.decodeAs });
  for (const c of chunks) {
    const info: ConnectionInfo = {
      local: { ip: '127.0.0.1', port: 40000 + c.conn },
      remote: { ip: '127.0.0.1', port: 8080 },
      transport: 'tcp',
      role: options.role ?? 'client',
    };
    tracker.onData(`conn${c.conn}`, info, c.direction, c.data, c.tsNs);
  }
  if (options.flush !== false) tracker.flush();
  return { calls, stats: tracker.stats, tracker };
}

/** Re-cuts a recording so every chunk is at most `size` bytes (parsers must cope with any split). */
export function splitChunks(chunks: readonly RecordedChunk[], size: number): RecordedChunk[] {
  const out: RecordedChunk[] = [];
  for (const c of chunks) {
    for (let i = 0; i < c.data.length; i += size) out.push({ ...c, data: c.data.subarray(i, i + size) });
  }
  return out;
}
