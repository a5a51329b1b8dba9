/**
 * "Send test" on a notification target: the cluster's portal (which holds the target's URL and headers) sends
 * ONE notification marked as a test and reports what the receiver answered: its HTTP status, or why there was
 * no answer (refused, timed out, a redirect). No retries, unlike real notifications: the answer is for now.
 */
import { useState } from 'react';
import type { ClusterRef } from '../../clusterApi.ts';
import { ErrorNote } from '../../ui.tsx';
import { useAction } from '../../useAction.ts';
import { monitorsApi, type TargetView, type TestNotificationResult } from './monitorsApi.ts';

export function TargetTestButton({ clusterRef, target }: { clusterRef: ClusterRef; target: TargetView }) {
  const sending = useAction();
  const [result, setResult] = useState<TestNotificationResult | null>(null);
  const send = () => {
    setResult(null);
    void sending.run(async () => setResult((await monitorsApi.testTarget(clusterRef, target.id)).result));
  };
  return (
    <>
      <button
        type="button"
        className="btn btn-secondary btn-sm"
        aria-label={`Send a test notification to ${target.name}`}
        disabled={sending.busy}
        onClick={send}
      >
        {sending.busy ? 'Sending…' : 'Send test'}
      </button>
      <span className="mon-test-result" role="status" aria-live="polite">
        {result ? <TestResult result={result} /> : null}
      </span>
      <ErrorNote error={sending.error} />
    </>
  );
}

function TestResult({ result }: { result: TestNotificationResult }) {
  if (result.delivered)
    return (
      <span className="mon-test-ok">
        ✓ Delivered: the receiver answered HTTP {result.status} in {result.durationMs} ms
      </span>
    );
  return <span className="mon-test-failed">✕ Not delivered: {result.error}</span>;
}
