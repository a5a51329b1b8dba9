import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureRecorder } from '../testing/captureRecorder.ts';
import { freePort, startNodeScript, tempDir } from '../testing/servers.ts';
import type { CaptureEvent } from './events.ts';

// splice between a socket and a pipe (what proxies do): the bytes stay in the kernel, so the events
// carry their count and direction, no bytes. A small C program splices both ways.
const execFileP = promisify(execFile);

interface Seen {
  pid: number;
  syscall: string;
  direction: string;
  length: number;
  captured: number;
  remotePort: number;
}
const seen: Seen[] = [];
const recorder = new CaptureRecorder((ev: CaptureEvent) => {
  if (ev.kind === 'data' && ev.syscall === 'splice') {
    seen.push({
      pid: ev.pid,
      syscall: ev.syscall,
      direction: ev.direction,
      length: ev.length,
      captured: ev.data.length,
      remotePort: ev.tuple.remote.port,
    });
  }
  return false;
});

/** Connects to 127.0.0.1:<port>, splices "hello-splice-out" from a pipe to the socket, then splices
 * the server's answer from the socket into a pipe and prints it. */
const SPLICER = `
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a)) return 1;
  int p[2];
  if (pipe(p)) return 2;
  if (write(p[1], "hello-splice-out", 16) != 16) return 3;
  if (splice(p[0], NULL, s, NULL, 16, 0) != 16) return 4;
  ssize_t n = splice(s, NULL, p[1], NULL, 64, 0);
  if (n <= 0) return 5;
  char buf[64];
  ssize_t r = read(p[0], buf, sizeof buf);
  printf("%.*s\\n", (int)r, buf);
  close(s);
  return 0;
}`;

let splicer = '';

beforeAll(async () => {
  const dir = tempDir('splice');
  writeFileSync(join(dir, 'splicer.c'), SPLICER);
  splicer = join(dir, 'splicer');
  await execFileP('clang', ['-O1', '-o', splicer, join(dir, 'splicer.c')]);
  await recorder.start();
});

afterAll(async () => {
  await recorder.stop();
});

describe('capture of splice', () => {
  it('reports splices into and out of a socket with their lengths and directions', async () => {
    const port = await freePort();
    const server = await startNodeScript(
      `require('node:net').createServer((c) => c.once('data', (d) => c.end('got:' + d)))
         .listen(${port}, '127.0.0.1', () => console.log('READY'));`,
    );
    try {
      const child = spawn(splicer, [String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
      });
      const code = await new Promise((r) => child.once('exit', r));
      expect(code, out).toBe(0);
      expect(out.trim()).toBe('got:hello-splice-out');
      const deadline = Date.now() + 10_000;
      const mine = () => seen.filter((s) => s.pid === child.pid);
      while (Date.now() < deadline && mine().length < 2) await new Promise((r) => setTimeout(r, 25));
      const [sent, received] = [
        mine().find((s) => s.direction === 'egress'),
        mine().find((s) => s.direction === 'ingress'),
      ];
      expect(sent, JSON.stringify(seen)).toMatchObject({ length: 16, captured: 0, remotePort: port });
      expect(received, JSON.stringify(seen)).toMatchObject({ length: 20, captured: 0, remotePort: port });
    } finally {
      await server.stop();
    }
  });
});
