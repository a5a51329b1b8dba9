import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../pcap/captureFile.ts';
import { PacketDecoder } from '../pcap/packetDecoder.ts';
import type { ConnectionMeta, Frame, MessageType, ProtocolSpec } from './contract.ts';
import { FOLDER_PROTOCOLS } from './goldenAgreement.ts';

/**
 * Fuzzing support shared by the suite (fuzz.test.ts) and the long run (scripts/fuzz-protocols.mjs):
 * seeds from the real captures, deterministic mutations, and a driver that runs one input through a spec
 * the way the tracker does and reports what went wrong instead of throwing.
 */
export interface Seed {
  type: MessageType;
  transport: 'tcp' | 'udp';
  data: Uint8Array;
}

/** xorshift32: deterministic, so a failing input is reproduced from its seed number. */
export class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
}

/** Per-direction byte streams (first `maxBytes`) of every capture in the folders that hold `protocol`. */
export function seedsFor(pcapDir: string, protocol: string, maxBytes = 1024): Seed[] {
  const folders = Object.entries(FOLDER_PROTOCOLS)
    .filter(([, names]) => names.includes(protocol as never))
    .map(([f]) => f);
  const seeds: Seed[] = [];
  for (const folder of folders) {
    for (const file of readdirSync(join(pcapDir, folder))) {
      const streams = new Map<string, { seed: Seed; parts: Uint8Array[]; size: number }>();
      const decoder = new PacketDecoder();
      for (const p of readCapture(readFileSync(join(pcapDir, folder, file)))) {
        const seg = decoder.decode(p.linkType, p.data, p.tsNs);
        if (typeof seg === 'string' || seg.payload.length === 0) continue;
        const key = `${seg.srcIp}:${seg.srcPort}>${seg.dstIp}:${seg.dstPort}`;
        let s = streams.get(key);
        if (s === undefined) {
          const type: MessageType = seg.srcPort > seg.dstPort ? 'request' : 'response';
          s = { seed: { type, transport: seg.proto, data: new Uint8Array(0) }, parts: [], size: 0 };
          streams.set(key, s);
        }
        if (seg.proto === 'udp')
          seeds.push({ type: s.seed.type, transport: 'udp', data: seg.payload.slice() });
        else if (s.size < maxBytes) {
          s.parts.push(seg.payload.slice());
          s.size += seg.payload.length;
        }
      }
      for (const s of streams.values()) {
        if (s.seed.transport !== 'tcp' || s.size === 0) continue;
        s.seed.data = Buffer.concat(s.parts).subarray(0, maxBytes);
        seeds.push(s.seed);
      }
    }
  }
  return [...seeds, ...recordedSeeds(protocol, maxBytes)];
}

interface Recording {
  chunks: { type: MessageType; data: string }[];
}

/**
 * Seeds from the live recordings kept beside a protocol (`<protocol>/testdata/*.json`, chunks of base64 per
 * direction). NATS and AMQP have no shared pcap, so without these they would only get random bytes.
 */
function recordedSeeds(protocol: string, maxBytes: number): Seed[] {
  const dir = join(dirname(fileURLToPath(import.meta.url)), protocol, 'testdata');
  if (!existsSync(dir)) return [];
  const seeds: Seed[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const rec = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Partial<Recording>;
    if (!Array.isArray(rec.chunks)) continue;
    for (const type of ['request', 'response'] as const) {
      const parts = rec.chunks.filter((c) => c.type === type).map((c) => Buffer.from(c.data, 'base64'));
      const data = Buffer.concat(parts).subarray(0, maxBytes);
      if (data.length > 0) seeds.push({ type, transport: 'tcp', data });
    }
  }
  return seeds;
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 10, 13, 32, 58, 48, 57, 0x3f];

/** One mutation of `input` (bit flips, interesting bytes, inserts, deletes, truncation, duplication, splice). */
export function mutate(rng: Rng, input: Uint8Array, other: Uint8Array): Uint8Array {
  let out = Uint8Array.from(input);
  const rounds = 1 + rng.below(4);
  for (let r = 0; r < rounds; r++) {
    const at = rng.below(out.length + 1);
    switch (rng.below(7)) {
      case 0:
        if (out.length > 0) out[rng.below(out.length)]! ^= 1 << rng.below(8);
        break;
      case 1:
        if (out.length > 0) out[rng.below(out.length)] = INTERESTING[rng.below(INTERESTING.length)]!;
        break;
      case 2: {
        const ins = Uint8Array.from({ length: 1 + rng.below(16) }, () => rng.below(256));
        out = Buffer.concat([out.subarray(0, at), ins, out.subarray(at)]);
        break;
      }
      case 3:
        out = Buffer.concat([
          out.subarray(0, at),
          out.subarray(Math.min(out.length, at + 1 + rng.below(32))),
        ]);
        break;
      case 4:
        out = out.subarray(0, at);
        break;
      case 5: {
        const len = rng.below(Math.min(64, out.length - at) + 1);
        out = Buffer.concat([out.subarray(0, at + len), out.subarray(at, at + len), out.subarray(at + len)]);
        break;
      }
      default: {
        const from = rng.below(other.length + 1);
        out = Buffer.concat([out.subarray(0, at), other.subarray(from, from + rng.below(256))]);
      }
    }
  }
  return out.length > 8192 ? out.subarray(0, 8192) : out;
}

export function randomBytes(rng: Rng, maxLength: number): Uint8Array {
  return Uint8Array.from({ length: rng.below(maxLength + 1) }, () => rng.below(256));
}

/** Parse-loop iterations allowed per input byte before the driver calls it a hang. */
const MAX_STEPS_PER_BYTE = 4;

/**
 * Runs one input through `spec` as the tracker would (detect, parse loop with resync, stitch, close), cut
 * into chunks at `cuts`. Returns a description of the first contract violation, or undefined.
 */
export function driveOnce<F extends Frame, S>(
  spec: ProtocolSpec<F, S>,
  seed: Seed,
  cut: number,
): string | undefined {
  const meta: ConnectionMeta = { transport: seed.transport };
  spec.detect({ data: seed.data, direction: 'egress', role: 'unknown', transport: seed.transport });
  const state = spec.newState(meta);
  const requests: F[] = [];
  const responses: F[] = [];
  const parts =
    cut > 0 && cut < seed.data.length ? [seed.data.subarray(0, cut), seed.data.subarray(cut)] : [seed.data];
  let pending = new Uint8Array(0);
  let ts = 1n;
  for (const part of parts) {
    const buf = seed.transport === 'udp' ? part : Buffer.concat([pending, part]);
    let offset = 0;
    let steps = 0;
    while (offset < buf.length) {
      if (++steps > MAX_STEPS_PER_BYTE * (buf.length + 4)) return `no progress at offset ${offset}`;
      const r = spec.parseFrame(seed.type, buf, offset, ts++, state);
      if (!Number.isInteger(r.consumed) || r.consumed < 0 || offset + r.consumed > buf.length) {
        return `${r.state} consumed ${r.consumed} at offset ${offset} of ${buf.length}`;
      }
      if (r.state === 'success') {
        for (const f of r.frames ?? []) (seed.type === 'request' ? requests : responses).push(f);
        offset += r.consumed > 0 ? r.consumed : buf.length - offset;
      } else if (r.state === 'needs-more-data') {
        offset += r.consumed;
        break;
      } else if (r.state === 'ignored') {
        if (r.consumed === 0) break;
        offset += r.consumed;
      } else if (r.state === 'eos') {
        offset = buf.length;
      } else {
        const next = spec.findFrameBoundary(seed.type, buf, offset + 1, state);
        if (next !== -1 && (next <= offset || next > buf.length))
          return `boundary ${next} after invalid at ${offset}`;
        offset = next < 0 ? buf.length : next;
      }
    }
    pending = seed.transport === 'udp' ? new Uint8Array(0) : buf.slice(offset);
    const st = spec.stitch(requests, responses, state, meta);
    if (!Number.isInteger(st.errors) || st.errors < 0) return `stitch errors ${st.errors}`;
    for (const c of st.calls)
      if (typeof c.method !== 'string' || typeof c.status !== 'string') return 'call without method/status';
  }
  spec.onGap?.(seed.type, state, pending.length > 0);
  spec.onClose?.(state, meta);
  return undefined;
}
