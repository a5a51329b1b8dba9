/** Alert transitions, newest first: when, which alert, from what to what, the value, the message, who was told. */
import type { OrgRef } from '../../api.ts';
import { linkClick } from '../../router.ts';
import { monitorsPath } from './MonitorsPage.tsx';
import type { AlertHistoryRow } from './monitorsApi.ts';
import { formatAlertValue, LabelChips, SeverityBadge } from './parts.tsx';
import { HIDDEN_LABELS } from './timelineBands.ts';

const NOTIFIED: Record<string, string> = {
  sent: 'sent',
  silenced: 'silenced',
  none: '-',
};

export function HistoryTable(props: { org: OrgRef; rows: AlertHistoryRow[]; showMonitor: boolean }) {
  const { org, rows, showMonitor } = props;
  return (
    <div className="card table-card">
      <table className="table data-table mon-history">
        <thead>
          <tr>
            <th scope="col">Time</th>
            {showMonitor ? <th scope="col">Monitor</th> : null}
            <th scope="col">Alert</th>
            <th scope="col">Change</th>
            <th scope="col" className="num">
              Value
            </th>
            <th scope="col">Message</th>
            <th scope="col">Notified</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((h) => (
            <tr key={`${h.fingerprint}-${h.timestamp}-${h.state}`} data-history-row={h.state}>
              <td title={new Date(h.timestamp).toISOString()}>{new Date(h.timestamp).toLocaleString()}</td>
              {showMonitor ? (
                <td>
                  <a href={monitorsPath(org, `m/${encodeURIComponent(h.monitorId)}`)} onClick={linkClick}>
                    {h.monitorName || h.monitorId}
                  </a>{' '}
                  <SeverityBadge severity={h.severity} />
                </td>
              ) : null}
              <td className="cell-wrap">
                <LabelChips labels={h.labels} skip={HIDDEN_LABELS} />
              </td>
              <td>
                <span className="muted">{h.previous || 'new'}</span> →{' '}
                <span className={`mon-to mon-to-${h.state}`}>{h.state}</span>
              </td>
              <td className="num">{formatAlertValue(h.value)}</td>
              <td className="cell-wrap mon-msg">{h.message}</td>
              <td>
                <span className={`mon-notified mon-notified-${h.notified}`}>
                  {NOTIFIED[h.notified] ?? h.notified}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
