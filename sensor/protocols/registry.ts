import type { ProtocolName, ProtocolSpec } from './contract.ts';

/**
 * Every protocol the sensor parses. Each folder's `index.ts` exports `spec`; adding a protocol is one line
 * here (keep the order: it breaks ties between detectors that score the same bytes equally).
 */
const modules: ReadonlyArray<{ spec: ProtocolSpec }> = await Promise.all([
  import('./http/index.ts'),
  import('./http2/index.ts'),
  import('./dns/index.ts'),
  import('./postgres/index.ts'),
  import('./mysql/index.ts'),
  import('./redis/index.ts'),
  import('./kafka/index.ts'),
  import('./mongodb/index.ts'),
  import('./nats/index.ts'),
  import('./amqp/index.ts'),
]);

export const protocolSpecs: readonly ProtocolSpec[] = modules.map((m) => m.spec);

/**
 * Protocols a spec reports in addition to its own name (gRPC calls come out of the HTTP/2 parser with
 * `protocol: 'grpc'`).
 */
const alsoProduced: Partial<Record<ProtocolName, readonly ProtocolName[]>> = { http2: ['grpc'] };

/** Protocol names whose calls the registered specs can produce. */
export function implementedProtocols(specs: readonly ProtocolSpec[] = protocolSpecs): Set<ProtocolName> {
  const out = new Set<ProtocolName>();
  for (const s of specs) {
    out.add(s.protocol);
    for (const p of alsoProduced[s.protocol] ?? []) out.add(p);
  }
  return out;
}

export function specByName(
  name: string,
  specs: readonly ProtocolSpec[] = protocolSpecs,
): ProtocolSpec | undefined {
  return specs.find((s) => s.protocol === name);
}
