import { describe, expect, it } from 'vitest';
import { encodeRemoteWrite, type RemoteSeries } from './remoteWrite.ts';
import { parseRemoteWrite, RemoteWriteParser } from './remoteWriteWire.ts';
import { type AggregatorConfig, DEFAULT_AGGREGATOR_CONFIG, SeriesAggregator } from './seriesAggregator.ts';

const s = (labels: Record<string, string>, value: number): RemoteSeries => ({
  labels,
  samples: [{ value, timestampMs: 1 }],
});
const make = (cfg: Partial<AggregatorConfig> = {}) =>
  new SeriesAggregator({ ...DEFAULT_AGGREGATOR_CONFIG, ...cfg });
const values = (agg: SeriesAggregator) => Object.fromEntries(agg.flush().map((x) => [k(x.labels), x.value]));
const k = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort());

describe('SeriesAggregator', () => {
  it('sums a counter over sensors as increases, surviving a sensor restart (reset)', () => {
    const agg = make();
    const req = { __name__: 'http_requests_total', workload: 'cart' };
    agg.add([s({ ...req, instance: 'node-a' }, 10), s({ ...req, instance: 'node-b' }, 5)]);
    expect(values(agg)).toEqual({ [k(req)]: 15 });
    agg.add([s({ ...req, instance: 'node-a' }, 12), s({ ...req, instance: 'node-b' }, 2)]); // b restarted
    expect(values(agg)).toEqual({ [k(req)]: 12 + 5 + 2 });
  });

  it('sums gauges over the live sources', () => {
    const agg = make();
    agg.add([s({ __name__: 'inflight', instance: 'a' }, 3), s({ __name__: 'inflight', instance: 'b' }, 4)]);
    agg.add([s({ __name__: 'inflight', instance: 'a' }, 1)]);
    expect(values(agg)).toEqual({ [k({ __name__: 'inflight' })]: 5 });
  });

  it('folds series past the per-metric limit into one overflow series and counts them', () => {
    const agg = make({ maxSeriesPerMetric: 2 });
    for (const path of ['/a', '/b', '/c', '/d']) {
      agg.add([s({ __name__: 'req_total', path, workload: 'w', instance: 'x' }, 1)]);
    }
    expect(values(agg)).toEqual({
      [k({ __name__: 'req_total', path: '/a', workload: 'w' })]: 1,
      [k({ __name__: 'req_total', path: '/b', workload: 'w' })]: 1,
      [k({ __name__: 'req_total', path: '__overflow__', workload: 'w' })]: 2,
    });
    expect(agg.counts.limitedByMetric).toBe(2);
  });

  it('limits series per workload independently of the metric', () => {
    const agg = make({ maxSeriesPerWorkload: 1 });
    agg.add([
      s({ __name__: 'a_total', workload: 'w1', pod: 'p1' }, 1),
      s({ __name__: 'b_total', workload: 'w1', pod: 'p1' }, 7),
    ]);
    agg.add([s({ __name__: 'b_total', workload: 'w2', pod: 'p1' }, 3)]);
    expect(values(agg)).toEqual({
      [k({ __name__: 'a_total', workload: 'w1', pod: 'p1' })]: 1,
      [k({ __name__: 'b_total', workload: 'w1', pod: '__overflow__' })]: 7,
      [k({ __name__: 'b_total', workload: 'w2', pod: 'p1' })]: 3,
    });
    expect(agg.counts.limitedByWorkload).toBe(1);
  });

  it('keeps overflowed counters apart per original series so increases still add up', () => {
    const agg = make({ maxSeriesPerMetric: 1 });
    agg.add([
      s({ __name__: 'c_total', id: '1' }, 1),
      s({ __name__: 'c_total', id: '2' }, 10),
      s({ __name__: 'c_total', id: '3' }, 20),
    ]);
    agg.add([s({ __name__: 'c_total', id: '2' }, 11), s({ __name__: 'c_total', id: '3' }, 21)]);
    expect(values(agg)[k({ __name__: 'c_total', id: '__overflow__' })]).toBe(32);
  });

  it('drops labels by rule, for matching metrics only', () => {
    const agg = make({ dropLabels: [{ metric: 'http_.*', labels: ['request_id'] }] });
    agg.add([
      s({ __name__: 'http_total', request_id: 'r1' }, 1),
      s({ __name__: 'http_total', request_id: 'r2' }, 1),
      s({ __name__: 'db_total', request_id: 'r3' }, 1),
    ]);
    expect(values(agg)).toEqual({
      [k({ __name__: 'http_total' })]: 1, // one source (no instance label): the last value wins
      [k({ __name__: 'db_total', request_id: 'r3' })]: 1,
    });
    expect(agg.counts.labelsDropped).toBe(2);
  });

  it('ages out sources and series not reported for N intervals, freeing the limit', () => {
    const agg = make({ maxIdleIntervals: 2, maxSeriesPerMetric: 1 });
    agg.add([s({ __name__: 'g', v: 'old' }, 1)]);
    expect(agg.flush()).toHaveLength(1); // reported in this interval
    expect(agg.flush()).toHaveLength(1); // 1 interval idle: still written
    expect(agg.flush()).toHaveLength(1); // 2 intervals idle: written a last time, then removed
    expect(agg.flush()).toHaveLength(0);
    expect(agg.counts.agedSeries).toBe(1);
    agg.add([s({ __name__: 'g', v: 'new' }, 2)]); // the per-metric budget is free again
    expect(values(agg)).toEqual({ [k({ __name__: 'g', v: 'new' })]: 2 });
  });

  it('keeps an aged-out sensor contribution in a counter', () => {
    const agg = make({ maxIdleIntervals: 1 });
    const c = { __name__: 'x_total' };
    agg.add([s({ ...c, instance: 'a' }, 5), s({ ...c, instance: 'b' }, 7)]);
    agg.flush();
    agg.add([s({ ...c, instance: 'a' }, 6)]);
    agg.flush(); // b idle 1 interval: retired, its 7 stays
    agg.add([s({ ...c, instance: 'a' }, 8)]);
    expect(values(agg)).toEqual({ [k(c)]: 8 + 7 });
  });

  it('folds the wire path and the object path into the same series (sorted or not)', () => {
    const agg = make({ dropLabels: [{ labels: ['request_id'] }] });
    const labels = { __name__: 'w_total', workload: 'cart', instance: 'a', request_id: 'r1', zone: 'é' };
    agg.observeParsed(parseRemoteWrite(encodeRemoteWrite([s(labels, 3)]), 1 << 20));
    agg.add([s({ ...labels, instance: 'b' }, 4)]);
    // Unsorted labels on the wire (the spec forbids it; be lenient): decoded the slow way, same series.
    const { compressSync: compress } = require('snappy') as typeof import('snappy');
    const protobuf = require('protobufjs') as typeof import('protobufjs');
    const w = protobuf.Writer.create();
    w.uint32(0x0a).fork();
    for (const [k, v] of [
      ['zone', 'é'],
      ['__name__', 'w_total'],
      ['instance', 'c'],
      ['workload', 'cart'],
    ]) {
      w.uint32(0x0a).fork().uint32(0x0a).string(k!).uint32(0x12).string(v!).ldelim();
    }
    w.uint32(0x12).fork().uint32(0x09).double(5).ldelim().ldelim();
    agg.observeParsed(parseRemoteWrite(compress(w.finish()), 1 << 20));
    expect(values(agg)).toEqual({ [k({ __name__: 'w_total', workload: 'cart', zone: 'é' })]: 12 });
    expect(agg.counts.labelsDropped).toBe(2);
  });

  describe('the wire fast path (series remembered as sent)', () => {
    const parser = new RemoteWriteParser();
    const wire = (agg: SeriesAggregator, series: RemoteSeries[]) =>
      agg.observeParsed(parser.parse(encodeRemoteWrite(series), 1 << 20, agg.knownSeries));

    it('folds repeated reports like the object path, resets included', () => {
      const fast = make();
      const slow = make();
      const req = { __name__: 'rq_total', workload: 'cart' };
      const rounds = [
        [s({ ...req, instance: 'a' }, 10), s({ ...req, instance: 'b' }, 5)],
        [s({ ...req, instance: 'a' }, 12), s({ ...req, instance: 'b' }, 2)], // b restarted
        [s({ ...req, instance: 'a' }, 20), s({ ...req, instance: 'b' }, 3)],
      ];
      for (const r of rounds) {
        wire(fast, r);
        slow.add(r);
      }
      expect(fast.knownSeries.size).toBe(2);
      expect(values(fast)).toEqual(values(slow));
      expect(values(fast)).toEqual({ [k(req)]: 20 + 5 + 3 });
    });

    it('forgets aged series and senders, so a returning series and a reused sender id fold correctly', () => {
      const agg = make({ maxIdleIntervals: 1 });
      const c = { __name__: 'c_total' };
      wire(agg, [s({ ...c, instance: 'a' }, 5), s({ ...c, instance: 'b' }, 7)]);
      agg.flush();
      wire(agg, [s({ ...c, instance: 'a' }, 6)]);
      agg.flush(); // b idle: retired (its 7 kept), its sender id released and its remembered entry purged
      expect(agg.knownSeries.size).toBe(1);
      wire(agg, [s({ ...c, instance: 'z' }, 100), s({ ...c, instance: 'a' }, 8)]); // z may reuse b's id
      wire(agg, [s({ ...c, instance: 'z' }, 101), s({ ...c, instance: 'b' }, 1)]); // b is back, restarted
      expect(values(agg)).toEqual({ [k(c)]: 8 + 7 + 101 + 1 });
      agg.flush();
      agg.flush();
      agg.flush(); // everything idle: the series is gone
      expect(agg.size).toBe(0);
      expect(agg.knownSeries.size).toBe(0);
      wire(agg, [s({ ...c, instance: 'a' }, 2)]);
      expect(values(agg)).toEqual({ [k(c)]: 2 }); // a new series: removed ones keep no state
    });

    it('sends series past a limit to the overflow series until the budget frees', () => {
      const agg = make({ maxSeriesPerMetric: 1, maxIdleIntervals: 1 });
      const a = { __name__: 'p_total', path: '/a' };
      const b = { __name__: 'p_total', path: '/b' };
      wire(agg, [s(a, 1), s(b, 10)]);
      wire(agg, [s(a, 2), s(b, 11)]);
      expect(values(agg)).toEqual({ [k(a)]: 2, [k({ ...b, path: '__overflow__' })]: 11 });
      expect(agg.counts.limitedByMetric).toBe(1); // counted once: the second report took the fast path
      agg.flush();
      agg.flush(); // a and the overflow series age out
      wire(agg, [s(b, 12)]);
      expect(values(agg)).toEqual({ [k(b)]: 12 });
    });

    it('gives a remembered overflowed series its own series once a removal frees the budget', () => {
      const agg = make({ maxSeriesPerMetric: 1, maxIdleIntervals: 1 });
      const c0 = { __name__: 'q_total', path: '/0' };
      const c1 = { __name__: 'q_total', path: '/1' };
      wire(agg, [s(c0, 1), s(c1, 1)]); // c1 overflows
      agg.flush();
      wire(agg, [s(c1, 2)]); // the fast path: still the overflow series
      agg.flush(); // c0 idle: removed, its budget free
      wire(agg, [s(c1, 3)]);
      expect(values(agg)[k(c1)]).toBe(3);
    });
  });

  it('saves counter totals and restores them so the next reports continue them (gauges are not kept)', () => {
    const before = make({ maxSeriesPerMetric: 1 });
    const c = { __name__: 'saved_total', workload: 'w' };
    before.add([s({ ...c, instance: 'a' }, 10), s({ ...c, instance: 'b' }, 5), s({ __name__: 'g' }, 3)]);
    before.add([s({ ...c, instance: 'b' }, 1)]); // b reset: 10 + 5 + 1
    before.add([s({ ...c, path: '/p' }, 4)]); // past the limit: the overflow series
    const saved = JSON.parse(JSON.stringify(before.saveTotals()));
    expect(saved.series.map((x: { labels: Record<string, string> }) => x.labels.__name__)).toEqual([
      'saved_total',
      'saved_total',
    ]);
    const after = make({ maxSeriesPerMetric: 1 });
    expect(after.restoreTotals(saved)).toBe(2);
    after.add([s({ ...c, instance: 'a' }, 11), s({ ...c, instance: 'b' }, 3)]);
    expect(values(after)).toEqual({
      [k(c)]: 16 + 1 + 2,
      [k({ ...c, path: '__overflow__' })]: 4,
    });
    expect(() => make().restoreTotals({ version: 2 } as never)).toThrow(/unknown format version/);
    const bad = { version: 1, series: [{ ...saved.series[0], retired: 'x' }] } as never;
    const fresh = make();
    expect(() => fresh.restoreTotals(bad)).toThrow(/malformed/);
    expect(fresh.size).toBe(0);
  });
});
