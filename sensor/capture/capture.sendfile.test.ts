import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureRecorder } from '../testing/captureRecorder.ts';
import { freePort, tempDir, waitFor } from '../testing/servers.ts';
import type { CaptureEvent } from './events.ts';

// sendfile: nginx serves a static file by writing the headers (writev) and the body with sendfile. The
// body never passes through user memory, so its event carries the byte count and no bytes.
const execFileP = promisify(execFile);
const BODY_BYTES = 12_345;

interface Seen {
  pid: number;
  syscall: string;
  direction: string;
  length: number;
  captured: number;
  truncated: boolean;
  head: string;
  remotePort: number;
}
const seen: Seen[] = [];
let port = 0;
const recorder = new CaptureRecorder((ev: CaptureEvent) => {
  if (ev.kind === 'data' && ev.tuple.local.port === port) {
    seen.push({
      pid: ev.pid,
      syscall: ev.syscall,
      direction: ev.direction,
      length: ev.length,
      captured: ev.data.length,
      truncated: ev.truncated,
      head: Buffer.from(ev.data.subarray(0, 16)).toString('latin1'),
      remotePort: ev.tuple.remote.port,
    });
  }
  return false;
});

let dir = '';
let nginx: ChildProcess | undefined;

beforeAll(async () => {
  port = await freePort();
  dir = tempDir('sendfile');
  mkdirSync(join(dir, 'www'));
  writeFileSync(join(dir, 'www/file.bin'), Buffer.alloc(BODY_BYTES, 'z'));
  // One process (no master): the worker that serves is the process the capture includes.
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off; sendfile on; client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${port}; root ${dir}/www; }
}`,
  );
  await recorder.start();
  nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  await waitFor(
    'nginx',
    async () => {
      await execFileP('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${port}/file.bin`]);
    },
    20_000,
  );
});

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((r) => nginx!.once('exit', r));
    nginx.kill('SIGQUIT');
    await exited;
  }
  await recorder.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('capture of sendfile', () => {
  it("reports nginx's sendfile body with its length after the headers it wrote", async () => {
    seen.length = 0;
    const { stdout } = await execFileP('curl', [
      '-s',
      '-w',
      '%{size_download}',
      '-o',
      '/dev/null',
      `http://127.0.0.1:${port}/file.bin`,
    ]);
    expect(stdout).toBe(String(BODY_BYTES));
    const fromNginx = () => seen.filter((s) => s.pid === nginx!.pid && s.direction === 'egress');
    // The last response's headers (seen may still hold the start-up probe's) and the body after them.
    const headers = () =>
      fromNginx()
        .filter((s) => s.head.startsWith('HTTP/1.1 200'))
        .at(-1);
    const bodies = () =>
      fromNginx().filter((s) => s.syscall === 'sendfile' && s.remotePort === headers()?.remotePort);
    const sent = () => bodies().reduce((n, s) => n + s.length, 0);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && sent() < BODY_BYTES) await new Promise((r) => setTimeout(r, 25));
    expect(headers(), JSON.stringify(seen)).toBeDefined();
    expect(sent(), JSON.stringify(seen)).toBe(BODY_BYTES);
    for (const b of bodies()) {
      expect(b.captured).toBe(0);
      expect(b.truncated).toBe(true);
    }
  });
});
