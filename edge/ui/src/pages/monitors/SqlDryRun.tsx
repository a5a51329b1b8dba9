/**
 * "Run once now" for a SQL condition in the editor: the cluster runs the condition as its evaluator would
 * (the same compiled query, read-only and bounded, nothing stored) and answers each group's value and whether
 * the alert would fire. A bad filter gets the words the evaluator would log. The answer belongs to the
 * condition it ran: once the condition is edited, it is marked as out of date.
 */
import { useState } from 'react';
import type { DataContext } from '../../DataPage.tsx';
import { ErrorNote } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { type Draft, draftToDryRun } from './monitorDraft.ts';
import { formatSeconds, monitorsApi, parseSeconds, type SqlDryRunResult } from './monitorsApi.ts';

const SHOWN_GROUPS = 10;

export function SqlDryRun({ ctx, draft }: { ctx: DataContext; draft: Draft }) {
  const running = useAction();
  const [problems, setProblems] = useState<string[]>([]);
  const [answer, setAnswer] = useState<{ key: string; result: SqlDryRunResult } | null>(null);
  const checked = draftToDryRun(draft);
  const key = JSON.stringify(checked.params);
  const run = () => {
    setProblems(checked.problems);
    const params = checked.params;
    if (!params) return;
    void running.run(async () => {
      setAnswer(null);
      const { result } = await monitorsApi.dryRun(ctx.ref, params);
      setAnswer({ key, result });
    });
  };
  const forSeconds = parseSeconds(draft.forDuration) ?? 0;
  return (
    <section className="mon-dry-run" aria-label="Dry run">
      <div className="row-actions">
        <button type="button" className="btn btn-secondary btn-sm" disabled={running.busy} onClick={run}>
          {running.busy ? 'Running…' : 'Run once now'}
        </button>
        <small className="muted">
          Runs the condition in the cluster as the evaluator would, read-only; nothing is saved.
        </small>
      </div>
      {problems.length > 0 ? <ErrorNote error={problems.join(' ')} /> : null}
      <ErrorNote error={running.error} />
      {answer ? (
        <DryRunAnswer result={answer.result} stale={answer.key !== key} forSeconds={forSeconds} />
      ) : null}
    </section>
  );
}

function DryRunAnswer(props: { result: SqlDryRunResult; stale: boolean; forSeconds: number }) {
  const { result, stale, forSeconds } = props;
  const firing = result.groups.filter((g) => g.holds).length;
  const grouped = !(result.groups.length === 1 && result.groups[0]?.group === '');
  const verdict = result.holds
    ? `Would fire${grouped ? ` for ${firing} of ${result.groups.length} groups` : ''}${
        forSeconds > 0 ? ` (pending for ${formatSeconds(forSeconds)} first)` : ''
      }`
    : 'Would not fire now';
  return (
    <div
      className={`mon-dry-run-answer${stale ? ' mon-dry-run-stale' : ''}`}
      role="status"
      data-dry-run={result.holds ? 'fires' : 'quiet'}
    >
      <div className={`strong ${result.holds ? 'mon-test-failed' : 'mon-test-ok'}`}>{verdict}</div>
      <div className="muted">
        Evaluated at {new Date(result.at).toLocaleTimeString('en', { hour12: false })} over the last{' '}
        {formatSeconds(result.windowSeconds)} in {result.durationMs} ms
        {stale ? '; the condition has changed since, run it again' : ''}.
      </div>
      {grouped ? (
        <table className="table mon-dry-run-groups">
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col" className="num">
                Value
              </th>
              <th scope="col">Condition</th>
            </tr>
          </thead>
          <tbody>
            {result.groups.slice(0, SHOWN_GROUPS).map((g) => (
              <tr key={g.group} data-dry-run-group={g.group}>
                <td className="mono">{g.group || '(empty)'}</td>
                <td className="num">{g.value}</td>
                <td>{g.holds ? 'holds' : '-'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <div>
          Value: <strong className="mon-dry-run-value">{result.groups[0]?.value ?? 0}</strong>
        </div>
      )}
      {result.groups.length > SHOWN_GROUPS ? (
        <div className="muted">
          and {result.groups.length - SHOWN_GROUPS} more groups
          {result.truncated ? ' (the evaluator stops at 100)' : ''}
        </div>
      ) : null}
    </div>
  );
}
