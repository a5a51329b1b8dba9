import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ephemeralStart, freePort } from './net.ts';

describe('freePort', () => {
  it('picks a port below the ephemeral range that can be bound', async () => {
    const end = ephemeralStart();
    const ports = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const port = await freePort();
      expect(port).toBeLessThan(end);
      expect(port).toBeGreaterThan(1024);
      ports.add(port);
      const srv = createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((r) => srv.close(r));
    }
    expect(ports.size).toBeGreaterThan(1); // random, not one fixed port
  });

  it('reads the range start from the kernel file, with a default when it is unreadable or odd', () => {
    const dir = mkdtempSync(join(tmpdir(), 'net-'));
    writeFileSync(join(dir, 'range'), '40000\t50000\n');
    expect(ephemeralStart(join(dir, 'range'))).toBe(40_000);
    writeFileSync(join(dir, 'bad'), 'x y\n');
    expect(ephemeralStart(join(dir, 'bad'))).toBe(32_768);
    expect(ephemeralStart(join(dir, 'missing'))).toBe(32_768);
  });
});
