import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../pcap/captureFile.ts';
import { PacketDecoder } from '../../pcap/packetDecoder.ts';
import type { ApiCall } from '../contract.ts';
import { PCAP_DIR } from '../testkit-b/goldenCalls.ts';
import { type Chunk, drive } from '../testkit-b/streamDriver.ts';
import { spec } from './index.ts';

/**
 * OP_COMPRESSED: no mongod runs here, so the messages are real OP_MSG bytes recorded from a real server
 * (DeepFlow's mongo-msg.pcap: a `find` and its cursor reply), compressed with the real snappy and zlib
 * libraries and the zstd tool into the OP_COMPRESSED layout of the wire-protocol specification. Decompressed, they must give
 * the same calls as the plain messages, with the wire sizes of the compressed ones.
 */
function recordedMessages(): { request: Uint8Array; response: Uint8Array } {
  const decoder = new PacketDecoder();
  const out: { request: number[]; response: number[] } = { request: [], response: [] };
  const file = readFileSync(join(PCAP_DIR, 'mongo/deepflow__mongo__mongo-msg.pcap'));
  for (const p of readCapture(new Uint8Array(file))) {
    const seg = decoder.decode(p.linkType, p.data, p.tsNs);
    if (typeof seg === 'string' || seg.proto !== 'tcp' || seg.payload.length === 0) continue;
    out[seg.dstPort === 3717 ? 'request' : 'response'].push(...seg.payload);
  }
  return { request: new Uint8Array(out.request), response: new Uint8Array(out.response) };
}

const le32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];
const u32 = (b: Uint8Array, i: number) =>
  (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;

/** Wraps a whole message as OP_COMPRESSED: same requestID/responseTo, compressed body after the header. */
function compressed(message: Uint8Array, compressorId: number, packed?: Uint8Array): Uint8Array {
  const body = message.subarray(16);
  const data =
    packed ??
    (compressorId === 1
      ? new Uint8Array(compressSync(Buffer.from(body)))
      : compressorId === 2
        ? new Uint8Array(deflateSync(body))
        : compressorId === 3
          ? new Uint8Array(zstd(body))
          : body);
  const rest = [...le32(u32(message, 12)), ...le32(body.length), compressorId, ...data];
  return new Uint8Array([...le32(16 + rest.length), ...message.subarray(4, 12), ...le32(2012), ...rest]);
}

const zstd = (bytes: Uint8Array, ...flags: string[]) =>
  execFileSync('zstd', ['-c', '-q', ...flags], { input: bytes });

const run = (request: Uint8Array, response: Uint8Array): ApiCall[] =>
  drive(spec, [
    { type: 'request', tsNs: 1n, data: request } satisfies Chunk,
    { type: 'response', tsNs: 2n, data: response } satisfies Chunk,
  ]).calls;

const brief = (c: ApiCall) => `${c.method} ${c.resource} ${c.status} ${c.error}`;

describe('mongodb OP_COMPRESSED', () => {
  const { request, response } = recordedMessages();
  const plain = run(request, response);

  it('has the recorded OP_MSG find and reply', () => {
    expect(u32(request, 12)).toBe(2013);
    expect(plain.map(brief)).toEqual([expect.stringMatching(/^find \S+ 1 false$/)]);
  });

  it.each([
    ['snappy', 1],
    ['zlib', 2],
    ['zstd', 3],
    ['noop', 0],
  ])('decodes %s-compressed messages into the same call, with their wire sizes', (name, id) => {
    const req = compressed(request, id);
    const resp = compressed(response, id);
    const calls = run(req, resp);
    expect(calls.map(brief)).toEqual(plain.map(brief));
    expect(calls[0]!.attributes?.['mongodb.compressor']).toBe(name);
    expect(calls[0]!.attributes?.['mongodb.opcode']).toBe(2013);
    expect([calls[0]!.reqBytes, calls[0]!.respBytes]).toEqual([req.length, resp.length]);
  });

  it('says why when it cannot decompress: an unknown compressor, damaged data, a size over the bound', () => {
    const unknown = run(compressed(request, 4, new Uint8Array([1, 2, 3])), compressed(response, 2));
    expect(unknown.map((c) => c.method)).toEqual(['compressed']);
    expect(unknown[0]!.attributes?.['mongodb.compress_error']).toBe('compressor not supported');
    const notZstd = run(compressed(request, 3, new Uint8Array([1, 2, 3])), compressed(response, 2));
    expect(notZstd[0]!.attributes?.['mongodb.compress_error']).toBe('not a zstd frame');

    const damaged = compressed(request, 1);
    damaged.fill(0xff, 30);
    expect(run(damaged, compressed(response, 1)).map((c) => c.method)).toEqual(['compressed']);

    const huge = compressed(request, 2);
    huge.set(le32(64 * 1024 * 1024), 20); // uncompressedSize
    const calls = run(huge, compressed(response, 2));
    expect(calls[0]!.attributes?.['mongodb.compress_error']).toMatch(/declares/);
  });

  it('zstd: stops at a frame that decodes to more than the header says, refuses a window past the bound', () => {
    const body = request.subarray(16);
    // The frame of twice the body (streamed: no content size) under a header that declares the body.
    const longer = compressed(
      request,
      3,
      new Uint8Array(zstd(Buffer.concat([body, body]), '--no-content-size')),
    );
    expect(run(longer, compressed(response, 3))[0]!.attributes?.['mongodb.compress_error']).toMatch(
      /more than the \d+ bytes the header says/,
    );
    const shorter = compressed(request, 3, new Uint8Array(zstd(body.subarray(1), '--no-content-size')));
    expect(run(shorter, compressed(response, 3))[0]!.attributes?.['mongodb.compress_error']).toMatch(
      /bytes, header says/,
    );
    // A header asking for a 1 GiB window (exponent 20), then a raw block.
    const hostile = compressed(
      request,
      3,
      new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0x21, 0, 0, 1, 2, 3, 4]),
    );
    expect(run(hostile, compressed(response, 3))[0]!.attributes?.['mongodb.compress_error']).toMatch(
      /window/,
    );
  });
});
