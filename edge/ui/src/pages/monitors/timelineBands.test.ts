import { describe, expect, it } from 'vitest';
import type { AlertHistoryRow, AlertView } from './monitorsApi.ts';
import { buildBands } from './timelineBands.ts';

const row = (fingerprint: string, timestamp: number, previous: string, state: AlertHistoryRow['state']) =>
  ({
    timestamp,
    monitorId: 'm',
    monitorName: 'M',
    fingerprint,
    state,
    previous,
    severity: 'warning',
    labels: { understory_monitor: 'm', pod: fingerprint },
    value: 1,
    message: '',
    notified: 'none',
  }) satisfies AlertHistoryRow;

const range = { start: 1000, end: 2000 };

describe('alert timeline bands', () => {
  it('turns transitions (newest first, as the API answers) into pending and firing bands', () => {
    const history = [
      row('a', 1500, 'firing', 'resolved'),
      row('a', 1200, 'pending', 'firing'),
      row('a', 1100, 'inactive', 'pending'),
    ];
    expect(buildBands(history, [], range)).toEqual([
      {
        fingerprint: 'a',
        name: 'pod=a',
        bands: [
          { state: 'pending', start: 1100, end: 1200, open: false },
          { state: 'firing', start: 1200, end: 1500, open: false },
        ],
      },
    ]);
  });

  it('opens a band at the range start when the alert was already on, and keeps it open while it still is', () => {
    const current: AlertView[] = [
      {
        monitorId: 'm',
        fingerprint: 'b',
        state: 'firing',
        labels: { pod: 'b' },
        value: 1,
        activeSince: 500,
        firingSince: 600,
      },
      {
        monitorId: 'm',
        fingerprint: 'c',
        state: 'pending',
        labels: { pod: 'c' },
        value: 1,
        activeSince: 1900,
        firingSince: null,
      },
    ];
    const bands = buildBands([row('b', 1300, 'firing', 'firing')], current, range);
    expect(bands.map((b) => [b.name, b.bands])).toEqual([
      [
        'pod=b',
        [
          { state: 'firing', start: 1000, end: 1300, open: false },
          { state: 'firing', start: 1300, end: 2000, open: true },
        ],
      ],
      ['pod=c', [{ state: 'pending', start: 1900, end: 2000, open: true }]],
    ]);
  });
});
