import { describe, expect, it } from 'vitest';
import type { ApiCall, ProtocolName, Role } from '../protocols/contract.ts';
import { type FlatSeries, type Identity, RedAggregator } from './redAggregator.ts';
import { redMetricName } from './redMetrics.ts';

const ID: Identity = { workload: 'cart', namespace: 'shop', peer: 'postgres' };

function call(over: Partial<ApiCall> = {}, ms = 3): ApiCall {
  return {
    protocol: 'http',
    role: 'server',
    method: 'GET',
    resource: '/x',
    status: '200',
    error: false,
    startNs: 1_000_000_000n,
    endNs: 1_000_000_000n + BigInt(Math.round(ms * 1e6)),
    reqBytes: 1,
    respBytes: 1,
    ...over,
  };
}

const labelsOf = (s: FlatSeries) => {
  const o: Record<string, string> = {};
  for (let i = 0; i < s.pairs.length; i += 2) o[s.pairs[i]!] = s.pairs[i + 1]!;
  return o;
};
const find = (out: FlatSeries[], name: string, where: Record<string, string> = {}) =>
  out.filter((s) => {
    const l = labelsOf(s);
    return l.__name__ === name && Object.entries(where).every(([k, v]) => l[k] === v);
  });

describe('redMetricName', () => {
  it.each<[ProtocolName, Role, string]>([
    ['http', 'server', 'http_server_request_duration_seconds'],
    ['http', 'client', 'http_client_request_duration_seconds'],
    ['http2', 'server', 'http_server_request_duration_seconds'],
    ['http', 'unknown', 'http_client_request_duration_seconds'],
    ['grpc', 'server', 'rpc_server_duration_seconds'],
    ['grpc', 'client', 'rpc_client_duration_seconds'],
    ['postgres', 'client', 'db_client_operation_duration_seconds'],
    ['mysql', 'client', 'db_client_operation_duration_seconds'],
    ['redis', 'client', 'db_client_operation_duration_seconds'],
    ['mongodb', 'server', 'db_server_operation_duration_seconds'],
    ['kafka', 'client', 'messaging_client_operation_duration_seconds'],
    ['amqp', 'client', 'messaging_client_operation_duration_seconds'],
    ['nats', 'server', 'messaging_server_operation_duration_seconds'],
    ['dns', 'client', 'dns_lookup_duration_seconds'],
    ['dns', 'server', 'dns_server_request_duration_seconds'],
  ])('%s %s -> %s', (protocol, role, want) => {
    expect(redMetricName(protocol, role)).toBe(want);
  });
});

describe('RedAggregator', () => {
  it('a weighted call (load shedding) stands for that many in buckets, sum and count', () => {
    const a = new RedAggregator({ bucketsS: [0.001, 0.01] });
    a.observe(call({}, 5), ID, '/x', undefined, 16);
    a.observe(call({}, 0.5), ID, '/x');
    const out = a.snapshot();
    const name = 'http_server_request_duration_seconds';
    expect(find(out, `${name}_bucket`).map((s) => [labelsOf(s).le, s.value])).toEqual([
      ['0.001', 1],
      ['0.01', 17],
      ['+Inf', 17],
    ]);
    expect(find(out, `${name}_count`)[0]!.value).toBe(17);
    expect(find(out, `${name}_sum`)[0]!.value).toBeCloseTo(16 * 0.005 + 0.0005, 9);
  });

  it('builds cumulative buckets, sum and count with every label', () => {
    const a = new RedAggregator({ bucketsS: [0.001, 0.01, 0.1] });
    a.observe(call({}, 0.5), ID, '/x');
    a.observe(call({}, 5), ID, '/x');
    a.observe(call({}, 5), ID, '/x');
    a.observe(call({}, 500), ID, '/x');
    const out = a.snapshot({ sensor: 'node-1' });
    const name = 'http_server_request_duration_seconds';
    expect(find(out, `${name}_bucket`).map((s) => [labelsOf(s).le, s.value])).toEqual([
      ['0.001', 1],
      ['0.01', 3],
      ['0.1', 3],
      ['+Inf', 4],
    ]);
    expect(find(out, `${name}_count`).map((s) => s.value)).toEqual([4]);
    expect(find(out, `${name}_sum`)[0]!.value).toBeCloseTo(0.0005 + 0.005 + 0.005 + 0.5, 9);
    expect(labelsOf(find(out, `${name}_count`)[0]!)).toEqual({
      __name__: `${name}_count`,
      error: 'false',
      method: 'GET',
      namespace: 'shop',
      peer: 'postgres',
      protocol: 'http',
      resource: '/x',
      role: 'server',
      sensor: 'node-1',
      status: '200',
      workload: 'cart',
    });
  });

  it('sorts label names (remote write requires it)', () => {
    const a = new RedAggregator();
    a.observe(call(), ID, '/x');
    for (const s of a.snapshot({ Zone: 'a', node: 'n' })) {
      const names = s.pairs.filter((_, i) => i % 2 === 0);
      expect(names).toEqual([...names].sort());
    }
  });

  it('reuses label pairs between snapshots but follows changed extra labels', () => {
    const a = new RedAggregator();
    a.observe(call(), ID, '/x');
    const first = find(a.snapshot({ sensor: 'a' }), 'http_server_request_duration_seconds_count')[0]!;
    const again = find(a.snapshot({ sensor: 'a' }), 'http_server_request_duration_seconds_count')[0]!;
    expect(again.pairs).toBe(first.pairs);
    const renamed = find(a.snapshot({ sensor: 'b' }), 'http_server_request_duration_seconds_count')[0]!;
    expect(labelsOf(renamed).sensor).toBe('b');
  });

  it('keeps values cumulative across snapshots and splits by status and error', () => {
    const a = new RedAggregator();
    a.observe(call(), ID, '/x');
    a.snapshot();
    a.observe(call(), ID, '/x');
    a.observe(call({ status: '500', error: true }), ID, '/x');
    const out = a.snapshot();
    const count = 'http_server_request_duration_seconds_count';
    expect(find(out, count, { status: '200', error: 'false' }).map((s) => s.value)).toEqual([2]);
    expect(find(out, count, { status: '500', error: 'true' }).map((s) => s.value)).toEqual([1]);
  });

  it('folds series past the per-workload cap into an overflow series that keeps the error label', () => {
    const a = new RedAggregator({ maxSeriesPerWorkload: 2 });
    for (const r of ['/a', '/b', '/c', '/d']) a.observe(call({ error: r === '/d' }), ID, r);
    a.observe(call(), { ...ID, workload: 'other' }, '/c');
    const out = a.snapshot();
    const count = find(out, 'http_server_request_duration_seconds_count', { workload: 'cart' });
    expect(count.map((s) => [labelsOf(s).resource, labelsOf(s).peer, labelsOf(s).error, s.value])).toEqual([
      ['/a', 'postgres', 'false', 1],
      ['/b', 'postgres', 'false', 1],
      ['__overflow__', '__overflow__', 'false', 1],
      ['__overflow__', '__overflow__', 'true', 1],
    ]);
    expect(find(out, 'http_server_request_duration_seconds_count', { workload: 'other' })).toHaveLength(1);
    expect(a.counts.overflowed).toBe(2);
  });

  it('folds series past the global cap', () => {
    const a = new RedAggregator({ maxSeries: 1 });
    a.observe(call(), ID, '/a');
    a.observe(call(), { ...ID, workload: 'w2' }, '/b');
    const out = find(a.snapshot(), 'http_server_request_duration_seconds_count');
    expect(out.map((s) => [labelsOf(s).workload, labelsOf(s).resource])).toEqual([
      ['cart', '/a'],
      ['w2', '__overflow__'],
    ]);
  });

  it('forgets idle series and frees their budget', () => {
    const a = new RedAggregator({ maxIdleSnapshots: 2, maxSeriesPerWorkload: 1 });
    a.observe(call(), ID, '/a');
    a.snapshot();
    a.snapshot();
    expect(a.size).toBe(1);
    a.snapshot();
    expect(a.size).toBe(0);
    expect(a.counts.agedOut).toBe(1);
    a.observe(call(), ID, '/b');
    expect(labelsOf(find(a.snapshot(), 'http_server_request_duration_seconds_count')[0]!).resource).toBe(
      '/b',
    );
  });

  it('restarts a forgotten series at zero when it comes back, next to one that stayed', () => {
    const a = new RedAggregator({ maxIdleSnapshots: 1 });
    a.observe(call(), ID, '/gone');
    a.snapshot();
    a.observe(call(), ID, '/kept');
    a.snapshot(); // /gone is idle for 1 snapshot
    a.observe(call(), ID, '/kept');
    a.snapshot(); // /gone is forgotten here
    a.observe(call(), ID, '/gone');
    a.observe(call(), ID, '/kept');
    const out = find(a.snapshot(), 'http_server_request_duration_seconds_count');
    expect(out.map((s) => [labelsOf(s).resource, s.value])).toEqual([
      ['/kept', 3],
      ['/gone', 1],
    ]);
  });

  it('keeps counting right while a flood of new peers overflows (the series index is rebuilt meanwhile)', () => {
    const a = new RedAggregator({ maxSeriesPerWorkload: 3 });
    const peers = 30_000; // enough index garbage to force rebuilds
    for (let i = 0; i < peers; i++) {
      a.observe(call(), { ...ID, peer: `10.0.${i >> 8}.${i & 255}` }, '/p');
      a.observe(call({ error: true }), ID, '/known');
    }
    const out = find(a.snapshot(), 'http_server_request_duration_seconds_count');
    const byPeer = Object.fromEntries(out.map((s) => [`${labelsOf(s).peer} ${labelsOf(s).error}`, s.value]));
    expect(byPeer).toEqual({
      '10.0.0.0 false': 1,
      '10.0.0.1 false': 1,
      'postgres true': peers,
      '__overflow__ false': peers - 2,
    });
    expect(a.counts.overflowed).toBe(peers - 2);
  });

  it('cuts long label values and counts negative durations as zero', () => {
    const a = new RedAggregator({ maxLabelChars: 4, bucketsS: [1] });
    a.observe(call({ startNs: 10n, endNs: 5n }), ID, '/abcdefgh');
    const out = a.snapshot();
    expect(labelsOf(find(out, 'http_server_request_duration_seconds_sum')[0]!).resource).toBe('/abc');
    expect(find(out, 'http_server_request_duration_seconds_sum')[0]!.value).toBe(0);
  });

  it('refuses buckets that are not positive and increasing', () => {
    expect(() => new RedAggregator({ bucketsS: [0.1, 0.1] })).toThrow(
      /buckets must be positive and increasing/,
    );
    expect(() => new RedAggregator({ bucketsS: [] })).toThrow(/buckets/);
  });
});
