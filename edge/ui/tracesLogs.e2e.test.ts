import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Context, context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor, type Span } from '@opentelemetry/sdk-trace-base';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from '../../cli/up/plan.ts';
import type { ChdbStore } from '../../incloud/clickhouse/chdbStore.ts';
import type { OtlpCollector } from '../../incloud/collector/collector.ts';
import { openTestStore, RecordingSink, startCollector } from '../../incloud/collector/collectorTestKit.ts';
import { Portal } from '../../incloud/portal/portal.ts';
import { type EdgeStack, startEdgeStack, waitConnected } from '../../incloud/portal/testing/edgeStack.ts';
import { blurFocus, isFocused, launchChromium, poll } from './testing/browser.ts';

const shots = join(REPO_ROOT, 'test-artifacts/ui/traces-logs');

let stack: EdgeStack | undefined;
let store: ChdbStore;
let closeStore: (() => Promise<void>) | undefined;
let collector: OtlpCollector | undefined;
let portal: Portal | undefined;
let browser: Browser | undefined;
let otlp = '';
const now = Date.now();

// ---- Telemetry sent through the real collector ----

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
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlp}/v1/traces` }))],
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
    processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${otlp}/v1/logs` }) })],
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
  for (const t of [frontend, orders, payments]) {
    await t.provider.forceFlush();
    await t.provider.shutdown();
  }
  return { traceId: root.spanContext().traceId, failedSpanId: server.spanContext().spanId };
}

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
        new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${otlp}/v1/logs` }) }),
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

async function rowCount(table: string): Promise<number> {
  const rows = await store.query<{ n: string }>(`SELECT toString(count()) AS n FROM ${table}`);
  return Number(rows[0]?.n ?? 0);
}

// ---- Set-up ----

/** Names the set-up step that hangs on a loaded machine instead of a bare hook timeout. */
async function step<T>(name: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`cannot ${name} within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'edge/public/assets'))) {
    throw new Error('cannot test the UI: edge/public is not built; run node scripts/build-ui.mjs');
  }
  mkdirSync(shots, { recursive: true });
  const opened = await step('open and migrate chdb', 60_000, openTestStore());
  store = opened.store;
  closeStore = opened.close;
  collector = await step(
    'start the collector',
    20_000,
    startCollector({ store, metrics: new RecordingSink() }),
  );
  otlp = `http://127.0.0.1:${collector.port}`;
  const [s, b] = await Promise.all([
    step('start the edge (wrangler dev)', 120_000, startEdgeStack()),
    step('launch Chromium', 60_000, launchChromium()),
  ]);
  stack = s;
  browser = b;
  portal = new Portal({
    edgeUrl: stack.url,
    installToken: stack.installToken,
    clickhouse: store,
    replicaId: 'e2e-ui',
  });
  await portal.start();
  await waitConnected(stack, 45_000);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await portal?.shutdown();
  await stack?.stop();
  await collector?.shutdown();
  await closeStore?.();
}, 60_000);

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
}

async function signIn(width: number): Promise<{ page: Page; errors: string[] }> {
  const ctx = await browser!.newContext({ viewport: { width, height: 860 } });
  // Answers go browser -> edge -> tunnel -> portal -> chdb while other suites load the machine: every action
  // gets room; a wrong page still fails.
  ctx.setDefaultTimeout(60_000);
  // A page load fetches the app and its first API answers from wrangler dev: the slowest step under load.
  ctx.setDefaultNavigationTimeout(120_000);
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${stack!.url}/signin`);
  await page.getByLabel('Work email').fill('stack@example.com');
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL('**/o/stack/**');
  return { page, errors };
}

test('traces: search, sort, open a trace, walk the waterfall with the keyboard, read a span', async () => {
  const { traceId, failedSpanId } = await sendTraces();
  await poll(() => rowCount('otel_traces')).toBe(30);
  const { page, errors } = await signIn(1366);

  await page.goto(`${stack!.url}/o/stack/traces`);
  const table = page.locator('table.trace-table');
  await poll(() => table.locator('tbody tr').count()).toBe(30);
  await shot(page, '01-traces-search');
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
  await shot(page, '02-traces-filtered-sorted');

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
  await poll(() => rowCount('otel_logs')).toBe(1);
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
  await shot(page, '03-trace-span-detail');
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
  const wide = await signIn(1920);
  await wide.page.goto(`${stack!.url}/o/stack/traces/${traceId}?span=${failedSpanId}`);
  await wide.page.locator('.span-detail').getByRole('heading', { name: 'POST /api/orders' }).waitFor();
  await shot(wide.page, '04-trace-wide');
  // A search that matches nothing says what to do.
  await page.goto(`${stack!.url}/o/stack/traces?service=nothing-here`);
  await page.getByRole('heading', { name: 'No matching spans' }).waitFor({ timeout: 20_000 });
  // An unknown trace says so.
  await page.goto(`${stack!.url}/o/stack/traces/${'0'.repeat(32)}`);
  await poll(() => page.locator('.data-error').textContent()).toContain('not found');
  expect(errors).toEqual([]);
  expect(wide.errors).toEqual([]);
}, 300_000);

test('logs: query with suggestions, histogram and zoom, context of a hit, filters, live tail', async () => {
  // The traces test left one line (inside the checkout trace, ten minutes earlier than anything here).
  const earlier = await rowCount('otel_logs');
  await sendLogs(logFixture());
  await poll(() => rowCount('otel_logs')).toBe(earlier + 80);
  const { page, errors } = await signIn(1366);
  await page.goto(`${stack!.url}/o/stack/logs`);
  const list = page.getByRole('list', { name: 'Matching lines, newest first' });
  await poll(() => list.getByRole('listitem').count()).toBe(earlier + 80);
  expect(await page.locator('.logs-count').textContent()).toContain(`${earlier + 80} matching lines`);
  // The histogram is drawn (uPlot canvas) with the counts of the whole range.
  const hist = page.getByRole('figure', { name: 'Matching lines over time' });
  await hist.locator('canvas').waitFor();
  await shot(page, '10-logs');

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
  await shot(page, '11-logs-suggestions', false);
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
  await shot(page, '12-logs-context', false);
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
  await page.goto(`${stack!.url}/o/stack/logs?q=${encodeURIComponent('service:payments')}`);
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
  await shot(page, '13-logs-live-tail', false);
  await page.getByRole('button', { name: 'Pause' }).click();
  const paused = `paused marker ${randomUUID()}`;
  await sendLogs([{ service: 'payments', severity: 'INFO', body: paused, atMs: Date.now() }]);
  await poll(() => rowCount('otel_logs')).toBe(earlier + 83);
  await page.waitForTimeout(4500); // two poll intervals: a running tail would have shown it
  expect(await live.textContent()).not.toContain(paused);
  await page.getByRole('button', { name: 'Resume' }).click();
  await poll(() => live.getByRole('listitem').first().textContent()).toContain(paused);
  // The query applies to the tail: the checkout line never shows.
  expect(await live.textContent()).not.toContain(`not payments ${marker}`);

  // Wide screen.
  const wide = await signIn(1920);
  await wide.page.goto(`${stack!.url}/o/stack/logs?q=${encodeURIComponent('-severity:info')}`);
  await wide.page
    .getByRole('list', { name: 'Matching lines, newest first' })
    .getByRole('listitem')
    .first()
    .waitFor();
  await shot(wide.page, '14-logs-wide');
  expect(errors).toEqual([]);
  expect(wide.errors).toEqual([]);
}, 300_000);
