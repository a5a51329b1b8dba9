import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../lib/net.ts';
import { Supervisor } from './supervisor.ts';

// A tiny HTTP server as the supervised child: `/crash` makes it exit, as a crashing component would.
const serverScript = `
const http = require('node:http');
http.createServer((req, res) => {
  if (req.url === '/crash') { res.end('bye'); setTimeout(() => process.exit(3), 10); return; }
  res.end('ok');
}).listen(Number(process.argv[1]), '127.0.0.1');
console.log('listening');
`;

describe('Supervisor', () => {
  it('waits for health, restarts a crashed child, logs its output, and stops it', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'sup-'));
    const events: string[] = [];
    const sup = new Supervisor(logDir, (m) => events.push(m));
    const port = await freePort();
    const spec = {
      name: 'toy',
      command: process.execPath,
      args: ['-e', serverScript, String(port)],
      healthUrl: `http://127.0.0.1:${port}/`,
      url: `http://127.0.0.1:${port}/`,
    };
    const first = await sup.start(spec);
    await fetch(`http://127.0.0.1:${port}/crash`).then((r) => r.text());
    // Restart happens after a 1 s backoff, then the health check passes again.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !events.some((e) => e.startsWith('toy is back'))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const second = sup.processes()[0];
    expect(second?.pid).not.toBe(first.pid);
    expect(second?.restarts).toBe(1);
    expect(events.join('\n')).toMatch(/toy exited with code 3; restarting/);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    await sup.stopAll();
    await sup.stopAll(); // safe twice
    expect(sup.processes()).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    expect(readFileSync(join(logDir, 'toy.log'), 'utf8')).toMatch(/listening[\s\S]*listening/);
  }, 30_000);

  it('fails with the log tail when a child dies before it is healthy', async () => {
    const sup = new Supervisor(mkdtempSync(join(tmpdir(), 'sup-')));
    const port = await freePort();
    await expect(
      sup.start({
        name: 'broken',
        command: process.execPath,
        args: ['-e', 'console.error("bad config: no such table"); process.exit(2)'],
        healthUrl: `http://127.0.0.1:${port}/`,
        url: '',
      }),
    ).rejects.toThrow(/cannot start broken: .*exited with code 2[\s\S]*bad config: no such table/);
    await sup.stopAll();
  });

  it('drop: a component given up on is stopped and never restarted', async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'sup-'));
    const sup = new Supervisor(logDir);
    const port = await freePort();
    await expect(
      sup.start({
        name: 'optional',
        command: process.execPath,
        args: ['-e', 'process.exit(2)'],
        healthUrl: `http://127.0.0.1:${port}/`,
        url: '',
      }),
    ).rejects.toThrow(/cannot start optional/);
    await sup.drop('optional');
    // A restart would come after 1 s of backoff; give it three.
    await new Promise((r) => setTimeout(r, 3000));
    expect(sup.processes()).toEqual([]);
    expect(readFileSync(join(logDir, 'optional.log'), 'utf8').match(/starting/g)).toHaveLength(1);
    await sup.stopAll();
  });
});
