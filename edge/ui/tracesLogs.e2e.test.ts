import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Context, context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type Span } from '@opentelemetry/sdk-trace-base';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from '../../cli/up/plan.ts';
import type { ChdbStore } from '../../incloud/clickhouse/chdbStore.ts';
import type { OtlpCollector } from '../../incloud/collector/collector.ts';
import { openTestStore, RecordingSink, startCollector } from '../../incloud/collector/collectorTestKit.ts';
import { Portal } from '../../incloud/portal/portal.ts';
import { type EdgeStack, startEdgeStack, waitConnected } from '../../incloud/portal/testing/edgeStack.ts';

const shots = join(REPO_ROOT, 'test-artifacts/ui/traces-logs');
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

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
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${otlp}/v1/traces` }))],
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
    step(
      'launch Chromium',
      60_000,
      chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS }),
    ),
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

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function signIn(width: number): Promise<{ page: Page; errors: string[] }> {
  const ctx = await browser!.newContext({ viewport: { width, height: 860 } });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${stack!.url}/signin`);
  await page.getByLabel('Work email').fill('stack@example.com');
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/o/stack/**');
  return { page, errors };
}

test('traces: search, sort, open a trace, walk the waterfall with the keyboard, read a span', async () => {
  const { traceId, failedSpanId } = await sendTraces();
  await expect.poll(() => rowCount('otel_traces'), { timeout: 15_000 }).toBe(30);
  const { page, errors } = await signIn(1366);

  await page.goto(`${stack!.url}/o/stack/traces`);
  const table = page.locator('table.trace-table');
  await expect.poll(() => table.locator('tbody tr').count(), { timeout: 20_000 }).toBe(30);
  await shot(page, '01-traces-search');

  // Filters go into the URL and narrow the list: failed spans only.
  await page.getByLabel('Status').selectOption('error');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect.poll(() => new URL(page.url()).searchParams.get('status')).toBe('error');
  await expect.poll(() => table.locator('tbody tr').count()).toBe(3);
  // A minimum duration leaves the spans of 80 ms and more: the root (90 ms) and orders' server span (75 ms) are
  // on either side of it.
  await page.getByLabel('Min ms').fill('80');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
  await expect.poll(() => table.locator('tbody tr').first().textContent()).toContain('GET /checkout');
  await page.getByLabel('Min ms').fill('');
  await page.getByLabel('Status').selectOption('');
  await page.getByLabel('Service').fill('frontend');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect.poll(() => table.locator('tbody tr').count()).toBe(26);
  // Sort by duration, longest first: the checkout root (90 ms) leads.
  await page.getByRole('button', { name: /^Duration/ }).click();
  await expect.poll(() => new URL(page.url()).searchParams.get('sort')).toBe('-duration');
  await expect.poll(() => table.locator('tbody tr').first().textContent()).toContain('GET /checkout');
  await shot(page, '02-traces-filtered-sorted');

  // Open the failing orders span from an error search: the trace opens with that span selected.
  await page.getByLabel('Service').fill('orders');
  await page.getByLabel('Status').selectOption('error');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect.poll(() => table.locator('tbody tr').count()).toBe(1);
  await table.getByRole('link', { name: 'POST /api/orders' }).click();
  await page.waitForURL(`**/o/stack/traces/${traceId}?**`);
  expect(new URL(page.url()).searchParams.get('span')).toBe(failedSpanId);
  const tree = page.getByRole('tree', { name: 'Spans of the trace' });
  await expect.poll(() => tree.getByRole('treeitem').count(), { timeout: 20_000 }).toBe(6);
  const detail = page.locator('.span-detail');
  await detail.getByRole('heading', { name: 'POST /api/orders' }).waitFor();
  // The headers and bodies as the sensor redacted them, and the status message.
  await expect.poll(() => detail.textContent()).toContain('HTTP 500: payment declined');
  const headers = await detail.getByRole('table', { name: 'Headers' }).first().textContent();
  expect(headers).toContain('authorization');
  expect(headers).toContain('[REDACTED]');
  const body = await detail.locator('.sd-bodytext').first().textContent();
  expect(body).toContain('"card": "[REDACTED]"');
  expect(await detail.locator('.sd-bodytext').nth(1).textContent()).toContain('card_declined');
  await shot(page, '03-trace-span-detail');

  // Nesting: levels follow the parents (root 1, client call 2, orders server 3, its two children 4, payments 5).
  const levels = await tree
    .getByRole('treeitem')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-level')));
  expect(levels).toEqual(['1', '2', '3', '4', '4', '5']);
  // Keyboard: Home goes to the root, Left on an open row collapses it, Right expands, Down + Enter opens a span.
  await tree.getByRole('treeitem').nth(2).focus();
  await page.keyboard.press('ArrowLeft');
  await expect.poll(() => tree.getByRole('treeitem').count()).toBe(3);
  await page.keyboard.press('ArrowRight');
  await expect.poll(() => tree.getByRole('treeitem').count()).toBe(6);
  await page.keyboard.press('End');
  await page.keyboard.press('Enter');
  await detail.getByRole('heading', { name: 'POST /charge' }).waitFor();
  await expect.poll(() => detail.textContent()).toContain('card declined by issuer');
  const paySpanId = new URL(page.url()).searchParams.get('span');
  expect(paySpanId).toMatch(/^[0-9a-f]{16}$/);
  expect(paySpanId).not.toBe(failedSpanId);
  await page.keyboard.press('Escape');
  await expect.poll(() => new URL(page.url()).searchParams.get('span')).toBe(null);

  // The link is shareable: a new page at 1920 px opens the same trace and span.
  const wide = await signIn(1920);
  await wide.page.goto(`${stack!.url}/o/stack/traces/${traceId}?span=${failedSpanId}`);
  await wide.page.locator('.span-detail').getByRole('heading', { name: 'POST /api/orders' }).waitFor();
  await shot(wide.page, '04-trace-wide');
  // An unknown trace says so.
  await page.goto(`${stack!.url}/o/stack/traces/${'0'.repeat(32)}`);
  await expect
    .poll(() => page.locator('.data-error').textContent(), { timeout: 20_000 })
    .toContain('not found');
  expect(errors).toEqual([]);
  expect(wide.errors).toEqual([]);
});
