import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { K8sMetadataClient } from './sensorClient.ts';
import { type ProcessEntry, SNAPSHOT_PATH, WATCH_PATH } from './types.ts';

/**
 * The sensor's copy of the watcher is bounded: entries past maxEntries are dropped (snapshot and changes),
 * a snapshot past maxSnapshotBytes is refused, a change line past maxLineBytes is skipped; each is counted.
 * The watcher here is a plain HTTP server speaking the sensor API's wire format.
 */
const proc = (pid: number): ProcessEntry => ({
  type: 'process',
  pid,
  comm: `p${pid}`,
  workload: { kind: 'Process', name: `p${pid}`, namespace: '' },
});
let server: Server;
let url = '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === SNAPSHOT_PATH) {
      const entries = [1, 2, 3, 4, 5].map((pid) => ({ key: `process/${pid}`, value: proc(pid) }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ epoch: 'e1', rev: 1, entries }));
      return;
    }
    if (req.url?.startsWith(WATCH_PATH)) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      void (async () => {
        // One line far past maxLineBytes, in pieces, then ordinary changes.
        for (let i = 0; i < 4; i++) {
          res.write(i === 0 ? '{"rev":2,"key":"process/77","pad":"' : 'x'.repeat(1500));
          await sleep(60);
        }
        res.write('"}\n');
        res.write(`${JSON.stringify({ rev: 3, key: 'process/1' })}\n`);
        res.write(`${JSON.stringify({ rev: 4, key: 'process/9', value: proc(9) })}\n`);
        res.write(`${JSON.stringify({ rev: 5, key: 'process/10', value: proc(10) })}\n`);
        res.write(`${JSON.stringify({ rev: 6, key: 'process/2', value: proc(2) })}\n`);
      })();
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('K8sMetadataClient bounds', () => {
  it('keeps at most maxEntries, skips an over-long line, and counts both', async () => {
    const client = new K8sMetadataClient({ url, maxEntries: 3, maxLineBytes: 1000 });
    client.start();
    try {
      await client.ready();
      expect(client.size).toBe(3);
      expect(client.limits.entriesDropped).toBe(2);
      const deadline = Date.now() + 20_000;
      while (client.rev < 6 && Date.now() < deadline) await sleep(20);
      expect(client.rev).toBe(6);
      expect(client.limits.linesSkipped).toBe(1);
      expect(client.get('process/77')).toBeUndefined();
      // process/1 deleted, process/9 added (3 again), process/10 dropped, process/2 updated in place.
      expect(client.get('process/1')).toBeUndefined();
      expect(client.get('process/9')).toBeDefined();
      expect(client.get('process/10')).toBeUndefined();
      expect(client.get('process/2')).toBeDefined();
      expect(client.size).toBe(3);
      expect(client.limits.entriesDropped).toBe(3);
    } finally {
      await client.stop();
    }
  });

  it('refuses a snapshot past maxSnapshotBytes and says why', async () => {
    const client = new K8sMetadataClient({ url, maxSnapshotBytes: 100, backoffMaxMs: 200 });
    client.start();
    try {
      const deadline = Date.now() + 20_000;
      while (client.limits.snapshotsRefused === 0 && Date.now() < deadline) await sleep(20);
      expect(client.limits.snapshotsRefused).toBeGreaterThan(0);
      expect(client.lastError).toMatch(/cannot take snapshot: larger than 100 bytes/);
      expect(client.size).toBe(0);
    } finally {
      await client.stop();
    }
  });
});
