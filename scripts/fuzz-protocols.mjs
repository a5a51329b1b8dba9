#!/usr/bin/env node
// Long fuzzing run over every registered protocol parser (the suite's fuzz.test.ts runs 100k inputs per
// protocol; this runs as many as asked, with a seed to reproduce). Exit code 1 when any input fails.
//   node scripts/fuzz-protocols.mjs [--inputs 2000000] [--seed 1] [--protocol http2] [--seed-bytes 4096]
import { parseArgs } from 'node:util';
import { register } from 'tsx/esm/api';

register();
const { values } = parseArgs({
  options: {
    inputs: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    protocol: { type: 'string' },
    'seed-bytes': { type: 'string', default: '4096' },
  },
});
const { driveOnce, mutate, Rng, randomBytes, seedsFor } = await import('../sensor/protocols/fuzzing.ts');
const { protocolSpecs } = await import('../sensor/protocols/registry.ts');
const pcaps = new URL('../../shared/testdata/pcaps', import.meta.url).pathname;
const inputs = Number(values.inputs);
let failed = 0;
for (const spec of protocolSpecs.filter((s) => !values.protocol || s.protocol === values.protocol)) {
  const seeds = seedsFor(pcaps, spec.protocol, Number(values['seed-bytes']));
  const rng = new Rng(Number(values.seed) + spec.protocol.length);
  const started = Date.now();
  let slowest = 0;
  for (let i = 0; i < inputs; i++) {
    const base = seeds.length > 0 ? seeds[rng.below(seeds.length)] : undefined;
    const kind = rng.below(10);
    const seed =
      base && kind < 6
        ? { ...base, data: mutate(rng, base.data, seeds[rng.below(seeds.length)].data) }
        : {
            type: rng.below(2) ? 'request' : 'response',
            transport: rng.below(4) ? 'tcp' : 'udp',
            data: randomBytes(rng, kind < 9 ? 64 : 4096),
          };
    const t = performance.now();
    let problem;
    try {
      problem = driveOnce(spec, seed, rng.below(seed.data.length + 1));
    } catch (err) {
      problem = `threw ${err.stack}`;
    }
    slowest = Math.max(slowest, performance.now() - t);
    if (problem) {
      failed++;
      console.log(
        `${spec.protocol} input ${i} (${seed.type}/${seed.transport}) ${Buffer.from(seed.data).toString('hex')}: ${problem}`,
      );
    }
  }
  console.log(
    `${spec.protocol}: ${inputs} inputs, ${seeds.length} seeds, ${((Date.now() - started) / 1000).toFixed(1)} s, slowest ${slowest.toFixed(1)} ms, seed ${values.seed}`,
  );
}
console.log(failed === 0 ? 'no failures' : `${failed} failing inputs`);
process.exit(failed === 0 ? 0 : 1);
