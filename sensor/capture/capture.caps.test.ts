import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CaptureRecorder, type RecordedEvent } from '../testing/captureRecorder.ts';

// Capture caps on this kernel, as root: how many bytes of a call are copied at a message start and after
// it, and the vectored-write rule (a complete text head in the first buffer: the body gets the
// continuation cap). A Node server answers three kinds of responses, each on its own connection.
const HEAD = 'HTTP/1.1 200 OK\r\nX-Case: head-then-body\r\nContent-Length: 2000\r\n\r\n';
const SERVER = `
const net = require('node:net');
const HEAD = ${JSON.stringify(HEAD)};
const srv = net.createServer((s) => s.once('data', (d) => {
  const c = d.toString();
  // cork + two writes + uncork: one writev with two buffers.
  s.cork();
  if (c === 'head-then-body') { s.write(HEAD); s.write(Buffer.alloc(2000, 'a')); }
  if (c === 'binary-then-body') { s.write(Buffer.alloc(100, 1)); s.write(Buffer.alloc(2000, 'b')); }
  s.uncork();
  // One buffer holding head and body (what Node's http does for a string body): no rule applies.
  if (c === 'one-buffer') s.write(Buffer.concat([Buffer.from(HEAD), Buffer.alloc(2000, 'c')]));
  // A later write in the same direction continues the message: the continuation cap.
  setTimeout(() => s.end(Buffer.alloc(600, 'd')), 20);
}));
srv.listen(0, '127.0.0.1', async () => {
  for (const c of ['head-then-body', 'binary-then-body', 'one-buffer']) {
    await new Promise((done) => {
      const sock = net.connect(srv.address().port, '127.0.0.1', () => sock.write(c));
      sock.on('data', () => {});
      sock.on('close', done);
    });
  }
  srv.close();
  console.log('DONE');
});`;

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

describe('capture caps', () => {
  it('copies the message-start cap at a message start, the data cap after it, and a text head plus the data cap from a vectored write', async () => {
    const recorder = new CaptureRecorder((ev) => ev.kind === 'data' && ev.direction === 'egress', {
      dataCap: 256,
      msgStartCap: 1024,
    });
    await recorder.start();
    try {
      const run = await runNode(SERVER);
      expect(run.stdout.trim()).toBe('DONE');
      const out = (e: RecordedEvent) => e.pid === run.pid;
      await recorder.waitFor(
        'the three responses and their tails',
        (evs) => evs.filter((e) => out(e) && e.length === 600).length === 3,
      );
      const starts = recorder.events.filter((e) => out(e) && e.length === HEAD.length + 2000);
      const byCase = (body: string) => starts.find((e) => e.data!.toString('latin1').startsWith(HEAD + body));
      // The head is whole and the body gets the continuation cap: 256 bytes of it.
      const headThenBody = byCase('a');
      expect(headThenBody?.data?.toString('latin1'), recorder.describe()).toBe(HEAD + 'a'.repeat(256));
      // One buffer: the message-start cap, head and body alike.
      const oneBuffer = byCase('c');
      expect(oneBuffer?.data?.length, recorder.describe()).toBe(1024);
      // A first buffer that is not a text head: the message-start cap over both buffers.
      const binary = recorder.events.find((e) => out(e) && e.length === 2100);
      expect(binary?.data?.length, recorder.describe()).toBe(1024);
      expect(binary?.data?.subarray(0, 100).every((b) => b === 1)).toBe(true);
      // The later write of each connection: the data cap.
      for (const tail of recorder.events.filter((e) => out(e) && e.length === 600)) {
        expect(tail.data!.toString('latin1')).toBe('d'.repeat(256));
      }
    } finally {
      await recorder.stop();
    }
  });
});
