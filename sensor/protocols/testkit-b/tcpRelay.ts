import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Chunk } from './streamDriver.ts';

/**
 * A TCP relay placed between a real client and a real server in live tests: it forwards bytes unchanged
 * and records every read of each direction with its time, like the sensor would see them. Test-only.
 */
export interface RelayedConnection {
  chunks: Chunk[];
  closed: Promise<void>;
}

export class TcpRelay {
  readonly connections: RelayedConnection[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {}

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

  private relay(client: Socket): void {
    const upstream = createConnection({ port: this.targetPort, host: this.targetHost });
    const chunks: Chunk[] = [];
    let done = 0;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => {
      resolveClosed = r;
    });
    const onClose = () => {
      if (++done === 2) resolveClosed();
    };
    this.connections.push({ chunks, closed });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => {
        this.sockets.delete(s);
        onClose();
      });
    }
    client.on('data', (d: Buffer) => {
      chunks.push({ type: 'request', tsNs: process.hrtime.bigint(), data: new Uint8Array(d) });
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      chunks.push({ type: 'response', tsNs: process.hrtime.bigint(), data: new Uint8Array(d) });
      client.write(d);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
