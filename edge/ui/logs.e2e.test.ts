/**
 * End to end for the logs page: log lines sent by the OpenTelemetry JS SDK through the real OTLP collector into
 * chdb, read by Chromium through wrangler dev, the tunnel and the real Portal (testing/telemetryStack.ts).
 * The query language with suggestions, the histogram and its zoom, a hit's context, filters from a line's
 * fields, live tail with pause. Screenshots: test-artifacts/ui/traces-logs/.
 */
import { randomUUID } from 'node:crypto';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { blurFocus, isFocused, poll } from './testing/browser.ts';
import { TelemetryStack } from './testing/telemetryStack.ts';

const t = new TelemetryStack('e2e-logs', 'ui/traces-logs');
const now = Date.now();

beforeAll(() => t.start(), 240_000);
afterAll(() => t.stop(), 60_000);

// ---- Log lines sent through the real collector ----

const LOG_PODS = { checkout: 'checkout-7f9c4-abcde', payments: 'payments-5c2d1-xyz12' } as const;

/** Log lines as an application's OTLP logger sends them: one provider per service (its resource). */
async function sendLogs(
  lines: { service: keyof typeof LOG_PODS; severity: string; body: string; atMs: number }[],
) {
  for (const service of Object.keys(LOG_PODS) as (keyof typeof LOG_PODS)[]) {
    const mine = lines.filter((l) => l.service === service);
    if (mine.length === 0) continue;
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({
        'service.name': service,
        'k8s.namespace.name': 'shop',
        'k8s.pod.name': LOG_PODS[service],
        'k8s.container.name': service,
      }),
      processors: [
        new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${t.otlp}/v1/logs` }) }),
      ],
    });
    const logger = provider.getLogger('understory-e2e');
    for (const l of mine) {
      logger.emit({
        severityText: l.severity,
        severityNumber:
          l.severity === 'ERROR'
            ? SeverityNumber.ERROR
            : l.severity === 'WARN'
              ? SeverityNumber.WARN
              : SeverityNumber.INFO,
        body: l.body,
        timestamp: l.atMs,
        attributes: { 'http.method': l.body.startsWith('GET') ? 'GET' : 'POST' },
      });
    }
    await provider.forceFlush();
    await provider.shutdown();
  }
}

/**
 * 80 lines over the last 40 minutes, one every 30 s, alternating checkout and payments: every fifth is an
 * ERROR "connection refused to db", every tenth from the second a WARN "connection refused, retrying".
 */
function logFixture() {
  return Array.from({ length: 80 }, (_, i) => ({
    service: (i % 2 === 0 ? 'checkout' : 'payments') as keyof typeof LOG_PODS,
    severity: i % 5 === 0 ? 'ERROR' : i % 10 === 1 ? 'WARN' : 'INFO',
    body:
      i % 5 === 0
        ? `connection refused to db:5432 (attempt ${i})`
        : i % 10 === 1
          ? `connection refused, retrying in ${i} ms`
          : `GET /api/orders/${i} 200 in ${(i * 13) % 90} ms`,
    atMs: now - (i + 1) * 30_000,
  }));
}

test('logs: query with suggestions, histogram and zoom, context of a hit, filters, live tail', async () => {
  // Lines stored before this test (none today: this file has its own store) count too.
  const earlier = await t.rowCount('otel_logs');
  await sendLogs(logFixture());
  await poll(() => t.rowCount('otel_logs')).toBe(earlier + 80);
  const { page, errors } = await t.signIn(1366);
  await page.goto(`${t.url}/o/stack/logs`);
  const list = page.getByRole('list', { name: 'Matching lines, newest first' });
  await poll(() => list.getByRole('listitem').count()).toBe(earlier + 80);
  expect(await page.locator('.logs-count').textContent()).toContain(`${earlier + 80} matching lines`);
  // The histogram is drawn (uPlot canvas) with the counts of the whole range.
  const hist = page.getByRole('figure', { name: 'Matching lines over time' });
  await hist.locator('canvas').waitFor();
  await t.shot(page, '10-logs');

  // More lines per page go into the URL.
  await page.getByLabel('Lines to show').selectOption('500');
  await poll(() => new URL(page.url()).searchParams.get('lines')).toBe('500');
  await poll(() => list.getByRole('listitem').count()).toBe(earlier + 80);
  // `/` jumps to the query box from anywhere else.
  const box = page.getByRole('combobox', { name: 'Logs query' });
  await blurFocus(page);
  await page.keyboard.press('/');
  await poll(() => isFocused(box)).toBe(true);
  expect(await box.inputValue()).toBe('');
  // Suggestions: field names for a bare word, then the values seen for the field; keyboard only.
  await page.keyboard.type('sev');
  const options = page.getByRole('listbox', { name: 'Suggestions' }).getByRole('option');
  await poll(() => options.first().textContent()).toContain('severity:');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  expect(await box.inputValue()).toBe('severity:');
  await poll(() => options.allTextContents()).toEqual(
    expect.arrayContaining([expect.stringContaining('ERROR')]),
  );
  await page.keyboard.type('err');
  await t.shot(page, '11-logs-suggestions', false);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  expect(await box.inputValue()).toBe('severity:ERROR ');
  await page.keyboard.type('"connection refused"');
  await page.keyboard.press('Enter');
  await poll(() => new URL(page.url()).searchParams.get('q')).toBe('severity:ERROR "connection refused"');
  await poll(() => list.getByRole('listitem').count()).toBe(16);
  expect(await page.locator('.logs-count').textContent()).toContain('16 matching lines');
  expect(await list.locator('mark').first().textContent()).toBe('connection refused');
  // A bad query is answered with the parser's message, next to the box.
  await box.fill('colour:red');
  await page.keyboard.press('Enter');
  await poll(() => page.getByRole('alert').first().textContent()).toContain('unknown field');
  // Without the severity term the WARN retries match too: terms are ANDed.
  await box.fill('"connection refused"');
  await page.keyboard.press('Enter');
  await poll(() => list.getByRole('listitem').count()).toBe(24);
  await box.fill('severity:ERROR "connection refused"');
  await page.keyboard.press('Enter');
  await poll(() => list.getByRole('listitem').count()).toBe(16);

  // Context of the third hit (attempt 10, checkout): the checkout pod's lines around it, 5 newer and 10 older.
  const third = list.getByRole('listitem').nth(2);
  expect(await third.textContent()).toContain('attempt 10');
  await third.getByRole('button', { expanded: false }).click();
  await third.getByRole('button', { name: 'Show context' }).click();
  const ctx = third.getByRole('region', { name: 'Lines around this one' });
  await poll(() => ctx.locator('.log-line').count()).toBe(16);
  expect(await ctx.locator('.log-line.hit').textContent()).toContain('attempt 10');
  for (const svc of await ctx.locator('.log-svc').allTextContents()) expect(svc).toBe('checkout');
  await third.scrollIntoViewIfNeeded();
  await t.shot(page, '12-logs-context', false);
  // Filter out the pod from the line's fields: the query gets the negated term, only payments lines remain.
  await third.getByRole('button', { name: `Filter out pod ${LOG_PODS.checkout}` }).click();
  await poll(() => new URL(page.url()).searchParams.get('q')).toBe(
    `severity:ERROR "connection refused" -pod:${LOG_PODS.checkout}`,
  );
  await poll(() => list.getByRole('listitem').count()).toBe(8);

  // Drag across the histogram: the time range becomes absolute (epoch ms in the URL) and narrower.
  const over = hist.locator('.u-over');
  const bb = (await over.boundingBox())!;
  await page.mouse.move(bb.x + bb.width * 0.5, bb.y + bb.height / 2);
  await page.mouse.down();
  await page.mouse.move(bb.x + bb.width * 0.8, bb.y + bb.height / 2, { steps: 8 });
  await page.mouse.up();
  await poll(() => new URL(page.url()).searchParams.get('from')).toMatch(/^\d{13}$/);
  const url = new URL(page.url());
  const zoomed = Number(url.searchParams.get('to')) - Number(url.searchParams.get('from'));
  expect(zoomed).toBeGreaterThan(5 * 60_000);
  expect(zoomed).toBeLessThan(30 * 60_000);
  await poll(() => list.getByRole('listitem').count()).toBeLessThan(8);

  // Live tail: a line written now appears without reloading; paused, new lines wait until resumed.
  await page.goto(`${t.url}/o/stack/logs?q=${encodeURIComponent('service:payments')}`);
  // Only payments lines are shown, yet the suggestions know checkout: a sample of the range feeds them.
  await box.click();
  await page.keyboard.press('End');
  await page.keyboard.type(' -service:');
  await poll(() => options.allTextContents()).toEqual(
    expect.arrayContaining([expect.stringContaining('checkout')]),
  );
  await page.keyboard.press('Escape');
  await box.fill('service:payments');
  await page.getByRole('button', { name: 'Live tail' }).click();
  const live = page.getByRole('list', { name: 'Live lines, newest first' });
  await live.getByRole('listitem').first().waitFor({ timeout: 20_000 });
  const marker = `live tail marker ${randomUUID()}`;
  await sendLogs([{ service: 'payments', severity: 'WARN', body: marker, atMs: Date.now() }]);
  await poll(() => live.getByRole('listitem').first().textContent()).toContain(marker);
  await sendLogs([
    { service: 'checkout', severity: 'ERROR', body: `not payments ${marker}`, atMs: Date.now() },
  ]);
  await t.shot(page, '13-logs-live-tail', false);
  await page.getByRole('button', { name: 'Pause' }).click();
  const paused = `paused marker ${randomUUID()}`;
  await sendLogs([{ service: 'payments', severity: 'INFO', body: paused, atMs: Date.now() }]);
  await poll(() => t.rowCount('otel_logs')).toBe(earlier + 83);
  await page.waitForTimeout(4500); // two poll intervals: a running tail would have shown it
  expect(await live.textContent()).not.toContain(paused);
  await page.getByRole('button', { name: 'Resume' }).click();
  await poll(() => live.getByRole('listitem').first().textContent()).toContain(paused);
  // The query applies to the tail: the checkout line never shows.
  expect(await live.textContent()).not.toContain(`not payments ${marker}`);

  // Wide screen.
  const wide = await t.signIn(1920);
  await wide.page.goto(`${t.url}/o/stack/logs?q=${encodeURIComponent('-severity:info')}`);
  await wide.page
    .getByRole('list', { name: 'Matching lines, newest first' })
    .getByRole('listitem')
    .first()
    .waitFor();
  await t.shot(wide.page, '14-logs-wide');
  expect(errors).toEqual([]);
  expect(wide.errors).toEqual([]);
}, 300_000);
