/**
 * End to end for the traces pages: spans sent by the OpenTelemetry JS SDK through the real OTLP collector into
 * chdb, read by Chromium through wrangler dev, the tunnel and the real Portal (testing/telemetryStack.ts).
 * Search, filters and sort in the URL, the duration scatter, a trace's waterfall by keyboard, a span's redacted
 * headers and bodies, its logs and back. Screenshots: test-artifacts/ui/traces-logs/.
 */
import { type Context, context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor, type Span } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { poll } from './testing/browser.ts';
import { TelemetryStack } from './testing/telemetryStack.ts';

const t = new TelemetryStack('e2e-traces', 'ui/traces-logs');
const now = Date.now();

beforeAll(() => t.start(), 240_000);
afterAll(() => t.stop(), 60_000);

// ---- Spans sent through the real collector ----

interface ServiceTracer {
  provider: BasicTracerProvider;
  start(
    name: string,
    kind: SpanKind,
    startMs: number,
    attrs?: Record<string, string | number>,
    parent?: Span,
  ): Span;
}

function serviceTracer(service: string, pod: string): ServiceTracer {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': service,
      'k8s.namespace.name': 'shop',
      'k8s.pod.name': pod,
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${t.otlp}/v1/traces` }))],
  });
  const tracer = provider.getTracer('understory-e2e');
  return {
    provider,
    start: (name, kind, startMs, attributes = {}, parent) => {
      const ctx: Context = parent ? trace.setSpan(context.active(), parent) : context.active();
      return tracer.startSpan(name, { kind, startTime: startMs, attributes }, ctx) as Span;
    },
  };
}

/** The checkout trace the test opens: frontend -> orders (fails) -> postgres, and orders -> payments. */
async function sendTraces(): Promise<{ traceId: string; failedSpanId: string }> {
  const frontend = serviceTracer('frontend', 'frontend-7d9c-x2');
  const orders = serviceTracer('orders', 'orders-5f4b-k9');
  const payments = serviceTracer('payments', 'payments-66c1-q1');
  const t0 = now - 5 * 60_000;
  const root = frontend.start('GET /checkout', SpanKind.SERVER, t0, {
    'http.request.method': 'GET',
    'http.route': '/checkout',
    'url.path': '/checkout',
    'http.response.status_code': 502,
    'http.request.header.user-agent': 'Mozilla/5.0 (X11; Linux x86_64)',
    'http.request.header.cookie': '[REDACTED]',
  });
  const call = frontend.start(
    'POST /api/orders',
    SpanKind.CLIENT,
    t0 + 4,
    { 'peer.service': 'orders' },
    root,
  );
  const server = orders.start(
    'POST /api/orders',
    SpanKind.SERVER,
    t0 + 6,
    {
      'http.request.method': 'POST',
      'http.route': '/api/orders',
      'http.response.status_code': 500,
      'http.request.header.content-type': 'application/json',
      'http.request.header.authorization': '[REDACTED]',
      'http.response.header.content-type': 'application/json',
      'understory.request.body': '{"cart":"c-42","items":3,"card":"[REDACTED]"}',
      'understory.response.body': '{"error":"payment declined","code":"card_declined"}',
    },
    call,
  );
  const db = orders.start(
    'INSERT orders',
    SpanKind.CLIENT,
    t0 + 9,
    { 'db.system.name': 'postgresql', 'db.query.text': 'INSERT INTO orders (id, cart) VALUES ($1, $2)' },
    server,
  );
  db.end(t0 + 21);
  const charge = orders.start(
    'POST /charge',
    SpanKind.CLIENT,
    t0 + 23,
    { 'peer.service': 'payments' },
    server,
  );
  const pay = payments.start('POST /charge', SpanKind.SERVER, t0 + 25, { 'http.route': '/charge' }, charge);
  pay.addEvent('card declined by issuer', { issuer: 'testbank' }, t0 + 70);
  pay.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  pay.end(t0 + 74);
  // A log line written inside the orders server span: the logs carry its trace and span ids.
  const ordersLogs = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'orders', 'k8s.pod.name': 'orders-5f4b-k9' }),
    processors: [
      new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${t.otlp}/v1/logs` }) }),
    ],
  });
  ordersLogs.getLogger('orders').emit({
    severityText: 'ERROR',
    severityNumber: SeverityNumber.ERROR,
    body: 'charging cart c-42 failed: card declined',
    timestamp: t0 + 78,
    context: trace.setSpan(context.active(), server),
  });
  await ordersLogs.forceFlush();
  await ordersLogs.shutdown();
  charge.end(t0 + 76);
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'HTTP 500: payment declined' });
  server.end(t0 + 81);
  call.end(t0 + 84);
  root.setStatus({ code: SpanStatusCode.ERROR });
  root.end(t0 + 90);
  // Other traffic, so the search has a list to sort and filter.
  for (let i = 0; i < 24; i++) {
    const s = frontend.start(`GET /api/products/{id}`, SpanKind.SERVER, now - (i + 1) * 90_000, {
      'http.route': '/api/products/{id}',
      'url.path': `/api/products/${100 + i}`,
    });
    s.setStatus({ code: SpanStatusCode.OK });
    s.end(now - (i + 1) * 90_000 + 3 + ((i * 37) % 60));
  }
  for (const service of [frontend, orders, payments]) {
    await service.provider.forceFlush();
    await service.provider.shutdown();
  }
  return { traceId: root.spanContext().traceId, failedSpanId: server.spanContext().spanId };
}

test('traces: search, sort, open a trace, walk the waterfall with the keyboard, read a span', async () => {
  const { traceId, failedSpanId } = await sendTraces();
  await poll(() => t.rowCount('otel_traces')).toBe(30);
  const { page, errors } = await t.signIn(1366);

  await page.goto(`${t.url}/o/stack/traces`);
  const table = page.locator('table.trace-table');
  await poll(() => table.locator('tbody tr').count()).toBe(30);
  await t.shot(page, '01-traces-search');
  // The scatter names the span under the pointer and opens its trace on a click.
  const over = page.getByRole('figure', { name: 'Span durations over time' }).locator('.u-over');
  const ob = (await over.boundingBox())!;
  await page.mouse.move(ob.x + ob.width - 2, ob.y + ob.height / 2);
  await poll(() => page.locator('.scatter-caption').textContent()).toContain('click to open its trace');
  await page.mouse.click(ob.x + ob.width - 2, ob.y + ob.height / 2);
  await page.waitForURL(/\/o\/stack\/traces\/[0-9a-f]{32}\?/);
  await page.getByRole('tree', { name: 'Spans of the trace' }).waitFor();
  await page.goBack();
  await poll(() => table.locator('tbody tr').count()).toBe(30);
  // Traces only: the entry span of each trace (the checkout root and the 24 product calls).
  await page.getByLabel(/Traces only/).check();
  await page.getByRole('button', { name: 'Search' }).click();
  await poll(() => table.locator('tbody tr').count()).toBe(25);
  expect(new URL(page.url()).searchParams.get('root')).toBe('1');
  await page.getByLabel(/Traces only/).uncheck();
  await page.getByRole('button', { name: 'Search' }).click();
  await poll(() => table.locator('tbody tr').count()).toBe(30);

  // Filters go into the URL and narrow the list: failed spans only.
  await page.getByLabel('Status').selectOption('error');
  await page.getByRole('button', { name: 'Search' }).click();
  await poll(() => new URL(page.url()).searchParams.get('status')).toBe('error');
  await poll(() => table.locator('tbody tr').count()).toBe(3);
  // A minimum duration leaves the spans of 80 ms and more: the root (90 ms) and orders' server span (75 ms) are
  // on either side of it.
  await page.getByLabel('Min ms').fill('80');
  await page.getByRole('button', { name: 'Search' }).click();
  await poll(() => table.locator('tbody tr').count()).toBe(1);
  await poll(() => table.locator('tbody tr').first().textContent()).toContain('GET /checkout');
  await page.getByLabel('Min ms').fill('');
  await page.getByLabel('Status').selectOption('');
  await page.getByLabel('Service').fill('frontend');
  await page.getByRole('button', { name: 'Search' }).click();
  await poll(() => table.locator('tbody tr').count()).toBe(26);
  // Sort by duration, longest first: the checkout root (90 ms) leads.
  await page.getByRole('button', { name: /^Duration/ }).click();
  await poll(() => new URL(page.url()).searchParams.get('sort')).toBe('-duration');
  await poll(() => table.locator('tbody tr').first().textContent()).toContain('GET /checkout');
  await t.shot(page, '02-traces-filtered-sorted');

  // Open the failing orders span from an error search: the trace opens with that span selected.
  await page.getByLabel('Service').fill('orders');
  await page.getByLabel('Status').selectOption('error');
  await page.getByRole('button', { name: 'Search' }).click();
  await poll(() => table.locator('tbody tr').count()).toBe(1);
  await table.getByRole('link', { name: 'POST /api/orders' }).click();
  await page.waitForURL(`**/o/stack/traces/${traceId}?**`);
  expect(new URL(page.url()).searchParams.get('span')).toBe(failedSpanId);
  const tree = page.getByRole('tree', { name: 'Spans of the trace' });
  await poll(() => tree.getByRole('treeitem').count()).toBe(6);
  await poll(() => t.rowCount('otel_logs')).toBe(1);
  const detail = page.locator('.span-detail');
  await detail.getByRole('heading', { name: 'POST /api/orders' }).waitFor();
  // The headers and bodies as the sensor redacted them, and the status message.
  await poll(() => detail.textContent()).toContain('HTTP 500: payment declined');
  const headers = await detail.getByRole('table', { name: 'Headers' }).first().textContent();
  expect(headers).toContain('authorization');
  expect(headers).toContain('[REDACTED]');
  const body = await detail.locator('.sd-bodytext').first().textContent();
  expect(body).toContain('"card": "[REDACTED]"');
  expect(await detail.locator('.sd-bodytext').nth(1).textContent()).toContain('card_declined');
  await t.shot(page, '03-trace-span-detail');
  // The span's logs, and back from the log line to its trace and span.
  await detail.getByRole('link', { name: 'Logs of this span' }).click();
  await page.waitForURL('**/o/stack/logs?**');
  const spanLogs = page.getByRole('list', { name: 'Matching lines, newest first' });
  await poll(() => spanLogs.getByRole('listitem').count()).toBe(1);
  await spanLogs.getByRole('button', { name: /card declined/ }).click();
  await spanLogs.getByRole('link', { name: 'Open trace' }).click();
  await page.waitForURL(`**/o/stack/traces/${traceId}?**`);
  expect(new URL(page.url()).searchParams.get('span')).toBe(failedSpanId);
  await poll(() => tree.getByRole('treeitem').count()).toBe(6);

  // Nesting: levels follow the parents (root 1, client call 2, orders server 3, its two children 4, payments 5).
  const rows = await tree.getByRole('treeitem').all();
  const levels = await Promise.all(rows.map((r) => r.getAttribute('aria-level')));
  expect(levels).toEqual(['1', '2', '3', '4', '4', '5']);
  // Keyboard: Home goes to the root, Left on an open row collapses it, Right expands, Down + Enter opens a span.
  await tree.getByRole('treeitem').nth(2).focus();
  await page.keyboard.press('ArrowLeft');
  await poll(() => tree.getByRole('treeitem').count()).toBe(3);
  await page.keyboard.press('ArrowRight');
  await poll(() => tree.getByRole('treeitem').count()).toBe(6);
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await detail.getByRole('heading', { name: 'POST /charge' }).waitFor();
  await poll(() => detail.textContent()).toContain('card declined by issuer');
  const paySpanId = new URL(page.url()).searchParams.get('span');
  expect(paySpanId).toMatch(/^[0-9a-f]{16}$/);
  expect(paySpanId).not.toBe(failedSpanId);
  await page.keyboard.press('Escape');
  await poll(() => new URL(page.url()).searchParams.get('span')).toBe(null);

  // The link is shareable: a new page at 1920 px opens the same trace and span.
  const wide = await t.signIn(1920);
  await wide.page.goto(`${t.url}/o/stack/traces/${traceId}?span=${failedSpanId}`);
  await wide.page.locator('.span-detail').getByRole('heading', { name: 'POST /api/orders' }).waitFor();
  await t.shot(wide.page, '04-trace-wide');
  // A search that matches nothing says what to do.
  await page.goto(`${t.url}/o/stack/traces?service=nothing-here`);
  await page.getByRole('heading', { name: 'No matching spans' }).waitFor({ timeout: 20_000 });
  // An unknown trace says so.
  await page.goto(`${t.url}/o/stack/traces/${'0'.repeat(32)}`);
  await poll(() => page.locator('.data-error').textContent()).toContain('not found');
  expect(errors).toEqual([]);
  expect(wide.errors).toEqual([]);
}, 300_000);
