import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureRecorder } from '../testing/captureRecorder.ts';
import { freePort, startNodeScript, tempDir } from '../testing/servers.ts';
import type { CaptureEvent } from './events.ts';

// sendmmsg and recvmmsg: several datagrams per call, each reported as its own data event. dig (and
// glibc's resolver) send DNS queries with sendmmsg; a small C program receives with recvmmsg.
const execFileP = promisify(execFile);

interface Seen {
  pid: number;
  syscall: string;
  direction: string;
  data: Buffer;
  length: number;
  remotePort: number;
}
const seen: Seen[] = [];
const keep = (ev: CaptureEvent) => {
  if (ev.kind === 'data' && (ev.syscall === 'sendmmsg' || ev.syscall === 'recvmmsg')) {
    seen.push({
      pid: ev.pid,
      syscall: ev.syscall,
      direction: ev.direction,
      data: Buffer.from(ev.data),
      length: ev.length,
      remotePort: ev.tuple.remote.port,
    });
  }
  return false;
};
const recorder = new CaptureRecorder(keep);

/** Receives datagrams on 127.0.0.1:<port> with recvmmsg until it has <n>, printing each. */
const RECEIVER = `
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(s, (struct sockaddr *)&a, sizeof a)) return 1;
  printf("READY\\n");
  fflush(stdout);
  char bufs[4][64];
  struct iovec iov[4];
  struct sockaddr_in peers[4];
  struct mmsghdr msgs[4];
  int want = atoi(argv[2]), got = 0;
  while (got < want) {
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < 4; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = sizeof bufs[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &peers[i];
      msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
    }
    int n = recvmmsg(s, msgs, 4, MSG_WAITFORONE, NULL);
    if (n < 0) return 2;
    for (int i = 0; i < n; i++) printf("%.*s\\n", (int)msgs[i].msg_len, bufs[i]);
    got += n;
  }
  return 0;
}`;

let receiverBin = '';

beforeAll(async () => {
  const dir = tempDir('mmsg');
  writeFileSync(join(dir, 'receiver.c'), RECEIVER);
  receiverBin = join(dir, 'receiver');
  await execFileP('clang', ['-O1', '-o', receiverBin, join(dir, 'receiver.c')]);
  await recorder.start();
});

afterAll(async () => {
  await recorder.stop();
});

async function waitSeen(what: string, pred: (s: Seen) => boolean): Promise<Seen[]> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const found = seen.filter(pred);
    if (found.length > 0) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`capture: ${what} not seen; mmsg events: ${JSON.stringify(seen)}`);
}

describe('capture of sendmmsg and recvmmsg', () => {
  it('sees the DNS query dig sends with sendmmsg, on its connected UDP socket', async () => {
    const port = await freePort();
    // Answers every query with itself, flagged as a response (QR bit): a valid empty answer.
    const server = await startNodeScript(
      `const s = require('node:dgram').createSocket('udp4');
       s.on('message', (m, r) => { const b = Buffer.from(m); b[2] |= 0x80; s.send(b, r.port, r.address); });
       s.bind(${port}, '127.0.0.1', () => console.log('READY'));`,
    );
    try {
      const dig = spawn(
        'dig',
        [`@127.0.0.1`, '-p', String(port), '+tries=1', '+time=2', 'mmsg.example.test', 'A'],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let out = '';
      dig.stdout.on('data', (b: Buffer) => {
        out += b.toString();
      });
      const code = await new Promise((r) => dig.once('exit', r));
      expect(code, out).toBe(0);
      expect(out).toContain('status: NOERROR');
      const [query] = await waitSeen('dig sendmmsg', (s) => s.pid === dig.pid && s.syscall === 'sendmmsg');
      expect(query!.direction).toBe('egress');
      expect(query!.remotePort).toBe(port);
      expect(query!.data.includes(Buffer.from('\x04mmsg\x07example\x04test\x00', 'latin1'))).toBe(true);
      expect(query!.length).toBe(query!.data.length);
    } finally {
      await server.stop();
    }
  });

  it('sees every datagram a recvmmsg call returns, each as its own event', async () => {
    const port = await freePort();
    const receiver = spawn(receiverBin, [String(port), '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const ready = new Promise<void>((resolve) =>
      receiver.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('READY')) resolve();
      }),
    );
    const exited = new Promise((r) => receiver.once('exit', r));
    await ready;
    const sender = await startNodeScript(
      `const s = require('node:dgram').createSocket('udp4');
       for (const m of ['mmsg-one', 'mmsg-two', 'mmsg-three']) s.send(m, ${port}, '127.0.0.1');
       setTimeout(() => { console.log('READY'); s.close(); }, 50);`,
    );
    await sender.stop();
    expect(await exited, out).toBe(0);
    expect(out.split('\n').filter((l) => l.startsWith('mmsg-'))).toEqual([
      'mmsg-one',
      'mmsg-two',
      'mmsg-three',
    ]);
    await waitSeen('the third datagram', (s) => s.pid === receiver.pid && s.data.toString() === 'mmsg-three');
    const got = seen.filter((s) => s.pid === receiver.pid);
    expect(got.map((s) => s.data.toString())).toEqual(['mmsg-one', 'mmsg-two', 'mmsg-three']);
    for (const s of got) {
      expect(s.syscall).toBe('recvmmsg');
      expect(s.direction).toBe('ingress');
      expect(s.length).toBe(s.data.length);
      expect(s.remotePort).toBeGreaterThan(0);
    }
  });
});
