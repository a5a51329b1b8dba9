import { describe, expect, it } from 'vitest';
import { type Draft, draftFromMonitor, draftToDryRun, draftToInput, emptyDraft } from './monitorDraft.ts';
import { conditionSummary, type Monitor, parseSeconds } from './monitorsApi.ts';

const promql: Monitor = {
  id: 'checkout-errors',
  name: 'Checkout errors',
  enabled: true,
  severity: 'critical',
  condition: { type: 'promql', query: 'sum(rate(x[5m]))', op: '>', threshold: 0.05 },
  intervalSeconds: 60,
  forSeconds: 300,
  labels: { team: 'payments' },
  message: '{{monitor}} {{value}}',
  targets: ['tgt_1'],
};

const sql: Monitor = {
  ...promql,
  id: 'errors',
  condition: {
    type: 'sql',
    source: 'logs',
    filter: 'severity:error',
    aggregate: 'count',
    windowSeconds: 600,
    groupBy: 'service',
    op: '>=',
    threshold: 100,
  },
};

describe('monitor editor draft', () => {
  it('round-trips stored monitors through the form (PromQL and SQL)', () => {
    for (const m of [promql, sql]) {
      const { id: _id, ...input } = m;
      expect(draftToInput(draftFromMonitor(m))).toEqual({ input, problems: [] });
    }
  });

  it('names every field that is wrong', () => {
    const d: Draft = {
      ...emptyDraft('sql'),
      threshold: 'ten',
      interval: '2h',
      forDuration: 'soon',
      window: '0',
      labels: [
        { key: 'bad name', value: 'x' },
        { key: 'severity', value: 'x' },
        { key: 'ok', value: '{{labels.x}}' },
        { key: '', value: '' },
      ],
    };
    expect(draftToInput(d).problems).toEqual([
      'Threshold must be a number.',
      'Evaluate every: a duration from 1s to 1h, e.g. 30s or 1m.',
      'For: a duration up to 1d, e.g. 0, 5m.',
      'Window: a duration from 1s to 1d, e.g. 5m.',
      'Give the monitor a name.',
      'Label "bad name": names are letters, digits and _.',
      'Label "severity" is set by Understory itself.',
      'Label "ok": values are plain text (no {{).',
    ]);
    expect(draftToInput({ ...emptyDraft(), name: 'n', threshold: '1' }).problems).toEqual([
      'Write the PromQL query.',
    ]);
  });

  it('keeps only what the source allows: duration aggregates on traces, known groupings', () => {
    const d: Draft = {
      ...emptyDraft('sql'),
      name: 'n',
      threshold: '5',
      source: 'logs',
      aggregate: 'p99',
      groupBy: 'status',
    };
    const c = draftToInput(d).input?.condition;
    expect(c).toMatchObject({ type: 'sql', aggregate: 'count' });
    expect(c).not.toHaveProperty('groupBy');
    const t = draftToInput({ ...d, source: 'traces' }).input?.condition;
    expect(t).toMatchObject({ aggregate: 'p99', groupBy: 'status' });
  });

  it('takes the dry run’s condition and interval from a draft without a name or valid labels', () => {
    const d: Draft = {
      ...draftFromMonitor(sql),
      name: '',
      interval: '30s',
      labels: [{ key: 'bad name', value: '' }],
    };
    expect(draftToDryRun(d)).toEqual({
      params: { condition: sql.condition, intervalSeconds: 30 },
      problems: [],
    });
    expect(draftToDryRun({ ...d, window: 'soon', threshold: '' }).problems).toEqual([
      'Threshold must be a number.',
      'Window: a duration from 1s to 1d, e.g. 5m.',
    ]);
  });

  it('reads durations and summarises conditions', () => {
    expect(['90', '90s', '5m', '2h', '1d', ' 0 ', '5 m'].map(parseSeconds)).toEqual([
      90, 90, 300, 7200, 86_400, 0, 300,
    ]);
    expect(['', 'm', '1.5m', '-1s', '5w'].map(parseSeconds)).toEqual([null, null, null, null, null]);
    expect(conditionSummary(promql.condition)).toBe('sum(rate(x[5m])) > 0.05');
    expect(conditionSummary(sql.condition)).toBe(
      'count(logs) where severity:error by service over 10m >= 100',
    );
  });
});
