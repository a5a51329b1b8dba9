import { describe, expect, it } from 'vitest';
import type { ApiCall } from '../protocols/contract.ts';
import { spec as httpSpec } from '../protocols/http/index.ts';
import { ConnectionTracker } from '../protocols/tracker/connectionTracker.ts';
import { type SampleReason, TraceSampler, type TraceSamplerConfig } from './traceSampler.ts';

function call(ms: number, over: Partial<ApiCall> = {}): ApiCall {
  return {
    protocol: 'http',
    role: 'server',
    method: 'GET',
    resource: '/x',
    status: '200',
    error: false,
    startNs: 0n,
    endNs: BigInt(Math.round(ms * 1e6)),
    reqBytes: 0,
    respBytes: 0,
    ...over,
  };
}

/** A sampler on a frozen clock that never picks baseline calls unless `random` says so. */
function sampler(cfg: Partial<TraceSamplerConfig> = {}, random = () => 0.99) {
  let t = 1_000_000;
  const s = new TraceSampler({ baselineRate: 0.01, ...cfg }, () => t, random);
  return { s, advance: (ms: number) => (t += ms) };
}

describe('TraceSampler decisions', () => {
  it.each<[string, Partial<TraceSamplerConfig>, ApiCall, string, SampleReason | undefined]>([
    ['an error', {}, call(1, { error: true, status: '500' }), 'cart', 'error'],
    ['a call over the fixed threshold', { slowThresholdMs: 100 }, call(150), 'cart', 'slow'],
    ['a normal call', {}, call(5), 'cart', undefined],
    ['a forced workload', { forceWorkloads: ['cart'] }, call(5), 'cart', 'forced'],
    ['another workload', { forceWorkloads: ['cart'] }, call(5), 'shop', undefined],
    ['the force header', {}, call(5, { reqHeaders: { 'X-Understory-Trace': '1' } }), 'cart', 'forced'],
    [
      'the force header set to 0',
      {},
      call(5, { reqHeaders: { 'x-understory-trace': '0' } }),
      'cart',
      undefined,
    ],
    [
      'a custom force header',
      { forceHeader: 'x-debug' },
      call(5, { reqHeaders: { 'x-debug': 'yes' } }),
      'c',
      'forced',
    ],
  ])('%s', (_what, cfg, c, workload, want) => {
    expect(sampler(cfg).s.decide(c, workload, `${workload} /x`)).toBe(want);
  });

  it('reads the force header of real HTTP/1.1 calls from their raw head (any case, last one wins)', () => {
    const calls: ApiCall[] = [];
    const tracker = new ConnectionTracker({ specs: [httpSpec], onCall: (c) => calls.push(c) });
    const info = {
      local: { ip: '10.0.0.2', port: 80 },
      remote: { ip: '10.0.0.1', port: 5000 },
      transport: 'tcp' as const,
      role: 'server' as const,
    };
    const heads = [
      'X-Understory-Trace: yes',
      'x-understory-trace:  0',
      'X-Understory-Trace: 0\r\nx-UNDERSTORY-trace: 1',
      'X-Understory-Tracer: 1',
      'Accept: */*',
    ];
    let t = 1n;
    for (const h of heads) {
      const req = `GET /a HTTP/1.1\r\nHost: x\r\n${h}\r\n\r\n`;
      tracker.onData('c', info, 'ingress', Buffer.from(req), t++);
      tracker.onData('c', info, 'egress', Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), t++);
    }
    expect(calls).toHaveLength(heads.length);
    expect(calls.map((c) => sampler().s.decide(c, 'w', 'w /a'))).toEqual([
      'forced',
      undefined,
      'forced',
      undefined,
      undefined,
    ]);
  });

  it('keeps only calls of at least slowMinMs as slow against their baseline', () => {
    const { s } = sampler({ baselineWarmup: 5, slowMinMs: 5, slowThresholdMs: 10_000 });
    for (let i = 0; i < 10; i++) s.decide(call(0.3), 'cart', 'a');
    expect(s.decide(call(2), 'cart', 'a')).toBeUndefined(); // 6x the baseline, but a jitter of 2 ms
    expect(s.decide(call(6), 'cart', 'a')).toBe('slow');
  });

  it('keeps the baseline fraction of normal calls', () => {
    let i = 0;
    const { s } = sampler({ baselineRate: 0.1 }, () => (i++ % 10) / 10); // 0.0, 0.1, ... 0.9
    const kept = Array.from({ length: 100 }, () => s.decide(call(5), 'cart', 'k')).filter(Boolean);
    expect(kept).toHaveLength(10);
    expect(s.counts.kept.baseline).toBe(10);
  });

  it('finds calls slow against the resource baseline after warm-up, per resource', () => {
    const { s } = sampler({ baselineWarmup: 10, baselineFactor: 3, slowThresholdMs: 10_000 });
    for (let i = 0; i < 9; i++) s.decide(call(10), 'cart', 'a');
    expect(s.decide(call(50), 'cart', 'a')).toBeUndefined(); // 9 calls seen: still warming up
    for (let i = 0; i < 20; i++) s.decide(call(10), 'cart', 'a');
    expect(s.baselineMs('a')).toBeGreaterThan(10);
    expect(s.decide(call(100), 'cart', 'a')).toBe('slow');
    expect(s.decide(call(100), 'cart', 'b')).toBeUndefined(); // b has no baseline yet
  });

  it('does not let errors raise the latency baseline', () => {
    const { s } = sampler();
    s.decide(call(10), 'cart', 'a');
    s.decide(call(5000, { error: true }), 'cart', 'a');
    expect(s.baselineMs('a')).toBe(10);
  });

  it('limits all kept calls with a token bucket and refills it over time', () => {
    const { s, advance } = sampler({ ratePerSecond: 10, burst: 4 });
    const errors = () => Array.from({ length: 10 }, () => s.decide(call(1, { error: true }), 'c', 'k'));
    expect(errors().filter(Boolean)).toHaveLength(4);
    expect(s.counts.limited.error).toBe(6);
    advance(200); // 2 tokens
    expect(errors().filter(Boolean)).toHaveLength(2);
  });

  it('reserves the lower half of the bucket for interesting calls', () => {
    const { s } = sampler({ ratePerSecond: 1, burst: 4, baselineRate: 1 }, () => 0);
    const baseline = Array.from({ length: 5 }, () => s.decide(call(1), 'c', 'k')).filter(Boolean);
    expect(baseline).toHaveLength(2);
    expect(s.decide(call(1, { error: true }), 'c', 'k')).toBe('error');
    expect(s.decide(call(1, { error: true }), 'c', 'k')).toBe('error');
    expect(s.decide(call(1, { error: true }), 'c', 'k')).toBeUndefined();
  });

  it('forgets the oldest baseline past maxResources', () => {
    const { s } = sampler({ maxResources: 2 });
    for (const k of ['a', 'b', 'c']) s.decide(call(1), 'w', k);
    expect([s.baselineMs('a'), s.baselineMs('b'), s.baselineMs('c')]).toEqual([undefined, 1, 1]);
  });

  it.each<[Partial<TraceSamplerConfig>, RegExp]>([
    [{ baselineRate: 2 }, /baselineRate 2 is not within 0..1/],
    [{ ratePerSecond: 0 }, /ratePerSecond must be > 0/],
    [{ baselineAlpha: 0 }, /baselineAlpha 0/],
  ])('refuses %o', (cfg, err) => {
    expect(() => new TraceSampler(cfg)).toThrow(err);
  });
});
