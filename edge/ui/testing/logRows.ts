/**
 * Container log lines as the collector writes them into `otel_logs`, for the monitors test: checkout logs 3
 * errors a minute (about 15 in any 5 minutes), plus health-check errors and info lines a SQL monitor's filter
 * must leave out. The lines run from an hour before `endMs` to `aheadMinutes` after it, so an evaluator reading
 * [now - 5m, now) during the test sees a steady rate instead of a burst that drains away as the test runs.
 */
const dt = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export const CHECKOUT_ERRORS_PER_MINUTE = 3;

export function logRows(endMs: number, aheadMinutes = 15): Record<string, unknown>[] {
  const row = (ms: number, service: string, severity: 'ERROR' | 'INFO', body: string) => ({
    Timestamp: dt(ms),
    ServiceName: service,
    SeverityText: severity,
    SeverityNumber: severity === 'ERROR' ? 17 : 9,
    Body: body,
    ResourceAttributes: { 'k8s.namespace.name': 'shop', 'k8s.pod.name': `${service}-5f4b-k9` },
    LogAttributes: {},
  });
  const rows: Record<string, unknown>[] = [];
  for (let m = -aheadMinutes; m < 60; m++) {
    const minute = endMs - (m + 1) * 60_000;
    for (let i = 0; i < CHECKOUT_ERRORS_PER_MINUTE; i++)
      rows.push(
        row(minute + 5_000 + i * 15_000, 'checkout', 'ERROR', `payment provider timed out (order ${m}-${i})`),
      );
    rows.push(row(minute + 7_000, 'checkout', 'ERROR', 'health check failed: upstream slow'));
    rows.push(row(minute + 9_000, 'frontend', 'INFO', 'GET /cart 200'));
  }
  return rows;
}
