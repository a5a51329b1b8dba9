import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { driveOnce, mutate, Rng, randomBytes, type Seed, seedsFor } from './fuzzing.ts';
import { protocolSpecs } from './registry.ts';
import { ConnectionTracker } from './tracker/connectionTracker.ts';

/**
 * Random and mutated real captures through every registered parser: 100k inputs per protocol, each cut at
 * a random point, run the way the tracker runs them. No exception, no loop without progress, no input
 * slower than HANG_MS, and the tracker's memory stays within its bounds.
 * Longer runs: `node scripts/fuzz-protocols.mjs --inputs 2000000`.
 */
const PCAPS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/testdata/pcaps');
if (!existsSync(PCAPS)) throw new Error(`cannot find the shared captures at ${PCAPS} (../shared/testdata)`);

const INPUTS = 100_000;
/** A hang guard, not a performance check: generous because the CI machine may be loaded. */
const HANG_MS = 2000;

describe('fuzzing every registered parser', () => {
  for (const spec of protocolSpecs) {
    it(`${spec.protocol}: ${INPUTS} random and mutated inputs`, () => {
      const seeds = seedsFor(PCAPS, spec.protocol);
      const rng = new Rng(0x5eed + spec.protocol.length);
      const failures: string[] = [];
      let slowest = 0;
      const started = performance.now();
      for (let i = 0; i < INPUTS && failures.length < 5; i++) {
        const kind = rng.below(10);
        const base = seeds.length > 0 ? seeds[rng.below(seeds.length)]! : undefined;
        let seed: Seed;
        if (base !== undefined && kind < 6) {
          const other = seeds[rng.below(seeds.length)]!.data;
          seed = { ...base, data: mutate(rng, base.data, other) };
        } else {
          seed = {
            type: rng.below(2) === 0 ? 'request' : 'response',
            transport: spec.protocol === 'dns' && rng.below(2) === 0 ? 'udp' : 'tcp',
            data: randomBytes(rng, kind < 9 ? 64 : 1024),
          };
        }
        const t = performance.now();
        let problem: string | undefined;
        try {
          problem = driveOnce(spec, seed, rng.below(seed.data.length + 1));
        } catch (err) {
          problem = `threw ${(err as Error).stack?.split('\n').slice(0, 3).join(' | ')}`;
        }
        const took = performance.now() - t;
        slowest = Math.max(slowest, took);
        if (took > HANG_MS) problem ??= `took ${took.toFixed(0)} ms`;
        if (problem !== undefined) {
          failures.push(
            `input ${i} (${seed.type}/${seed.transport}, hex ${Buffer.from(seed.data).toString('hex').slice(0, 400)}): ${problem}`,
          );
        }
      }
      const secs = (performance.now() - started) / 1000;
      console.log(
        `fuzz ${spec.protocol}: ${INPUTS} inputs from ${seeds.length} capture seeds in ${secs.toFixed(1)} s, slowest ${slowest.toFixed(1)} ms`,
      );
      expect(failures).toEqual([]);
    });
  }

  it('the tracker stays within its bounds under mutated traffic of every protocol', () => {
    const rng = new Rng(77);
    const seeds = protocolSpecs.flatMap((s) => seedsFor(PCAPS, s.protocol));
    const maxBufferBytes = 16 * 1024;
    let calls = 0;
    const tracker = new ConnectionTracker({
      specs: protocolSpecs,
      onCall: () => calls++,
      maxBufferBytes,
      maxConnections: 64,
      maxQueuedFrames: 32,
    });
    let maxFootprint = 0;
    for (let i = 0; i < 20_000; i++) {
      const seed = seeds[rng.below(seeds.length)]!;
      const conn = rng.below(100);
      const data =
        rng.below(4) === 0
          ? randomBytes(rng, 512)
          : mutate(rng, seed.data, seeds[rng.below(seeds.length)]!.data);
      const info = {
        local: { ip: '10.0.0.1', port: 30000 + conn },
        remote: { ip: '10.0.0.2', port: [80, 53, 6379, 9092, 443, 8080][conn % 6]! },
        transport: seed.transport,
        role: 'unknown' as const,
      };
      const direction = (seed.type === 'request') === (rng.below(8) !== 0) ? 'egress' : 'ingress';
      tracker.onData(`c${conn}`, info, direction, data, BigInt(i));
      if (rng.below(50) === 0) tracker.onGap(`c${conn}`, direction);
      if (rng.below(200) === 0) tracker.onClose(`c${conn}`);
      const f = tracker.footprint();
      maxFootprint = Math.max(maxFootprint, f.bufferedBytes);
      expect(f.connections).toBeLessThanOrEqual(64);
      expect(f.queuedFrames).toBeLessThanOrEqual(64 * 2 * 32);
    }
    tracker.flush();
    // Each direction may hold one bounded partial frame (plus the chunk that overflowed it is dropped).
    expect(maxFootprint).toBeLessThanOrEqual(64 * 2 * (maxBufferBytes + 8192));
    expect(tracker.stats.connectionsOpened).toBeGreaterThan(100);
    console.log(
      `tracker fuzz: ${calls} calls, max buffered ${maxFootprint} bytes, stats ${JSON.stringify(tracker.stats)}`,
    );
  });
});
