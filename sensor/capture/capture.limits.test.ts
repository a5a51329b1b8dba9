import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureRecorder } from '../testing/captureRecorder.ts';

// Limits: a burst bigger than the ring (with a consumer that cannot keep up) and an unprivileged run.
const repo = join(import.meta.dirname, '../..');

function runNode(source: string): Promise<{ pid: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.once('exit', (code) =>
      code === 0 ? resolve({ pid: child.pid!, stdout }) : reject(new Error(`exit ${code}`)),
    );
  });
}

/** 100k small writes on one loopback TCP connection, in rounds that let the reader side drain. */
const BURST = `
const net = require('node:net');
const srv = net.createServer((s) => { s.on('data', () => {}); s.on('end', () => s.end()); });
srv.listen(0, '127.0.0.1', () => {
  const c = net.connect(srv.address().port, '127.0.0.1', async () => {
    const buf = Buffer.alloc(64, 'b');
    let writes = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 5000; i++) { c.write(buf); writes++; }
      await new Promise((r) => setImmediate(r));
    }
    c.end();
    c.on('close', () => { console.log('DONE ' + writes); srv.close(); });
  });
});`;

describe('capture limits', () => {
  it('overload: drops are counted, the application completes, capture recovers', async () => {
    const recorder = new CaptureRecorder((ev) => ev.kind === 'data' && ev.data.includes(0x7e), {
      ringBytes: 64 * 1024,
      maxInFlight: 2,
      // Only this test's children: forks of an included process are included.
      includePids: [process.pid],
    });
    const inner = recorder.capture;
    // A consumer slower than the burst: the reader stops reading, the ring fills, the kernel drops.
    recorder.consumerDelayMs = 20;
    await recorder.start();
    try {
      const burst = await runNode(BURST);
      expect(burst.stdout.trim()).toBe('DONE 100000');
      const during = inner.stats();
      expect(during.drops, JSON.stringify(during)).toBeGreaterThan(0);
      expect(during.events).toBeGreaterThan(0);
      expect(during.pollErrors).toBe(0);

      recorder.consumerDelayMs = 0;
      const marker = await runNode(`
        const net = require('node:net');
        const srv = net.createServer((s) => s.on('data', () => s.end())).listen(0, '127.0.0.1', () => {
          const c = net.connect(srv.address().port, '127.0.0.1', () => c.write('~recovered~'));
          c.on('close', () => srv.close());
        });`);
      await recorder.waitFor('the marker after the burst', (evs) =>
        evs.some((e) => e.pid === marker.pid && e.data!.toString() === '~recovered~'),
      );
      const after = inner.stats();
      expect(after.events).toBeGreaterThan(during.events);
    } finally {
      await recorder.stop();
    }
  });

  it('unprivileged: `understory sensor` names the missing capabilities instead of libbpf errors', async () => {
    const attempts = [
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'],
      ['--inh-caps=-all', '--bounding-set=-bpf,-perfmon,-sys_admin'],
    ].map(
      (privs) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(
            'setpriv',
            [...privs, process.execPath, 'bin/understory.mjs', 'sensor', '--duration', '1'],
            {
              cwd: repo,
              stdio: ['ignore', 'ignore', 'pipe'],
            },
          );
          let stderr = '';
          child.stderr.on('data', (b: Buffer) => {
            stderr += b.toString();
          });
          child.once('exit', (code) => resolve({ code, stderr }));
        }),
    );
    const [nobody, rootWithoutCaps] = await Promise.all(attempts);
    for (const r of [nobody!, rootWithoutCaps!]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('missing privileges');
      expect(r.stderr).toMatch(/CAP_BPF, CAP_PERFMON/);
      expect(r.stderr).toContain('CAP_SYS_ADMIN');
      expect(r.stderr).not.toMatch(/libbpf|Operation not permitted/);
    }
    expect(nobody!.stderr).toContain('CAP_DAC_READ_SEARCH');
  }, 90_000);
});
