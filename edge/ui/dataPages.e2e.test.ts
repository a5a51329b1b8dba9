/**
 * End to end for the Services, Service map, Metrics and Events pages with every real piece: `wrangler dev`
 * (the edge worker, local D1, the cluster's Durable Object) serving the built UI (edge/public), the real Portal
 * dialing the edge with the cluster's install token, a private VictoriaMetrics fed an hour of RED histograms by
 * Prometheus remote write, chdb with the project's migrations holding spans sent through the real OTLP
 * collector by the OpenTelemetry JS SDK, and Kubernetes events rows. Debian's headless Chromium
 * (playwright-core) drives the UI. Screenshots: test-artifacts/ui/data/*.png.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REPO_ROOT } from '../../cli/up/plan.ts';
import type { ChdbStore } from '../../incloud/clickhouse/chdbStore.ts';
import type { OtlpCollector } from '../../incloud/collector/collector.ts';
import { openTestStore, RecordingSink, startCollector } from '../../incloud/collector/collectorTestKit.ts';
import { Portal } from '../../incloud/portal/portal.ts';
import { type EdgeStack, startEdgeStack, waitConnected } from '../../incloud/portal/testing/edgeStack.ts';
import { VictoriaMetricsProcess } from '../../incloud/testing/victoriaMetrics.ts';
import {
  isFocused,
  launchChromium,
  openPage,
  poll,
  screenshots,
  signInAsStackOwner,
} from './testing/browser.ts';
import { eventRows, writeRedSeries } from './testing/dataFixture.ts';

const vm = new VictoriaMetricsProcess();
let stack: EdgeStack | undefined;
let store: ChdbStore;
let closeStore: (() => Promise<void>) | undefined;
let collector: OtlpCollector | undefined;
let portal: Portal | undefined;
let browser: Browser | undefined;
const now = Date.now();

/** checkout's sampled calls through the real collector: 6 slow ones (0.8-2.3 s), 3 failed, 4 quick. */
async function sendCheckoutSpans(otlp: string): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'k8s.namespace.name': 'shop' }),
    spanProcessors: [
      new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${otlp}/v1/traces`, timeoutMillis: 60_000 })),
    ],
  });
  const tracer = provider.getTracer('understory-e2e');
  const span = (name: string, startMs: number, ms: number, failed: boolean) => {
    const s = tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: startMs });
    if (failed) s.setStatus({ code: SpanStatusCode.ERROR, message: 'HTTP 500' });
    s.end(startMs + ms);
  };
  for (let i = 0; i < 6; i++) span('GET /api/orders/{id}', now - (i + 2) * 240_000, 800 + i * 300, false);
  for (let i = 0; i < 3; i++) span('GET /api/orders/{id}', now - (i + 1) * 300_000, 40 + i, true);
  for (let i = 0; i < 4; i++) span('POST /api/cart', now - (i + 1) * 120_000, 20 + i, false);
  await provider.forceFlush();
  await provider.shutdown();
}

beforeAll(async () => {
  if (!existsSync(join(REPO_ROOT, 'edge/public/assets'))) {
    throw new Error('cannot test the UI: edge/public is not built; run node scripts/build-ui.mjs');
  }
  const opened = await openTestStore();
  store = opened.store;
  closeStore = opened.close;
  collector = await startCollector({ store, metrics: new RecordingSink() });
  const [s, b] = await Promise.all([
    startEdgeStack(),
    launchChromium(),
    vm.start().then(async () => {
      await writeRedSeries(vm.url, now);
      await vm.flush();
    }),
    // One writer at a time into chdb: the events, then the spans through the collector.
    store
      .insert('k8s_events', eventRows(now))
      .then(() => sendCheckoutSpans(`http://127.0.0.1:${collector!.port}`)),
  ]);
  stack = s;
  browser = b;
  portal = new Portal({
    edgeUrl: stack.url,
    installToken: stack.installToken,
    clickhouse: store,
    victoriaMetricsUrl: vm.url,
    replicaId: 'e2e-data',
  });
  await portal.start();
  await waitConnected(stack);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await portal?.shutdown();
  await stack?.stop();
  await collector?.shutdown();
  await closeStore?.();
  await vm.close();
}, 60_000);

const shot = screenshots('ui/data');

async function signIn(width: number): Promise<{ page: Page; errors: string[] }> {
  // On failure, what the page showed is the first thing to look at.
  const opened = await openPage(browser!, { width, height: 900 }, shot);
  await signInAsStackOwner(opened.page, stack!.url);
  return opened;
}

const row = (page: Page, attr: string, name: string) => page.locator(`tr[${attr}="${name}"]`);

test('services: every workload with exact RED figures, filter, sort, and a service page with charts, resources, calls and peers', async () => {
  const { page, errors } = await signIn(1366);
  await page.goto(`${stack!.url}/o/stack/services`);
  const checkout = row(page, 'data-service-row', 'checkout');
  await checkout.waitFor({ timeout: 30_000 });
  // checkout's figures come from constant rates and known buckets (testing/dataFixture.ts).
  const cells = async () => (await checkout.locator('td').allTextContents()).map((t) => t.trim());
  await poll(cells).toEqual(['checkoutshop', '1.5/s', '', '6.67%', '100 ms', '750 ms', '950 ms']);
  expect(await page.locator('tbody tr').count()).toBe(5);
  // Every service's trend is drawn (uPlot canvases).
  await poll(() => page.locator('.spark-cell canvas').count()).toBe(5);
  await shot(page, '01-services');

  // Filter and sort live in the URL.
  await page.getByLabel('Filter services').fill('pay');
  await poll(() => page.locator('tbody tr').count()).toBe(1);
  expect(new URL(page.url()).searchParams.get('q')).toBe('pay');
  await page.getByLabel('Filter services').fill('');
  await page.getByRole('button', { name: /^Errors/ }).click();
  await poll(() => new URL(page.url()).searchParams.get('sort')).toBe('-errorRate');
  await poll(() => page.locator('tbody tr').first().getAttribute('data-service-row')).toBe('checkout');
  await page.getByRole('button', { name: /^Service/ }).click();
  await poll(() => page.locator('tbody tr').first().getAttribute('data-service-row')).toBe('auth');

  // The service page.
  await checkout.getByRole('link', { name: 'checkout' }).click();
  await page.waitForURL('**/o/stack/services/shop/checkout**');
  await page.getByRole('heading', { name: 'checkout' }).waitFor();
  await poll(() => page.locator('.tile-value').allTextContents()).toEqual([
    '1.5/s',
    '6.67%',
    '100 ms',
    '750 ms',
    '950 ms',
  ]);
  // Three RED charts, CPU and memory, two by resource.
  await poll(() => page.locator('.chart-card canvas').count()).toBe(7);
  await poll(() => page.locator('tr[data-resource-row]').count()).toBe(2);
  expect(await row(page, 'data-resource-row', 'GET /api/orders/{id}').textContent()).toContain('9.09%');
  // Slowest calls are those at or over the p95 (750 ms), longest first; failing calls are the three errors.
  const slowest = page.getByTestId('calls-slowest').locator('li');
  await poll(() => slowest.count()).toBe(6);
  expect(await slowest.first().textContent()).toContain('2.3 s');
  await poll(() => page.getByTestId('calls-failing').locator('li').count()).toBe(3);
  // Peers: frontend calls it; it calls payments and postgres.db (external).
  for (const peer of ['frontend', 'payments', 'postgres.db'])
    await row(page, 'data-peer-row', peer).waitFor();
  expect(await row(page, 'data-peer-row', 'postgres.db').textContent()).toContain('external');
  await shot(page, '02-service-checkout');
  // The tooltip names every series at the cursor with its value, largest first.
  const latency = page.locator('figure[aria-label="Latency"] .u-over');
  const box = (await latency.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const tip = page.locator('figure[aria-label="Latency"] .chart-tooltip');
  await poll(() => tip.locator('.chart-tooltip-label').allTextContents()).toEqual(['p99', 'p95', 'p50']);
  expect(await tip.locator('.chart-tooltip-value').allTextContents()).toEqual(['950 ms', '750 ms', '100 ms']);
  await shot(page, '02c-chart-tooltip');
  // CPU and memory per pod (each the sum of its two containers), largest first.
  for (const [title, values] of [
    ['CPU by pod', ['500m', '250m']],
    ['Memory by pod', ['192 MiB', '128 MiB']],
  ] as const) {
    const chart = page.locator(`figure[aria-label="${title}"]`);
    await chart.scrollIntoViewIfNeeded();
    const b = (await chart.locator('.u-over').boundingBox())!;
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    const t = chart.locator('.chart-tooltip');
    await poll(() => t.locator('.chart-tooltip-label').allTextContents()).toEqual([
      'checkout-5f4b-x2',
      'checkout-5f4b-k9',
    ]);
    expect(await t.locator('.chart-tooltip-value').allTextContents()).toEqual(values);
  }
  await shot(page, '02d-service-cpu-memory');

  // A resource focuses the charts (URL), the whole service comes back.
  await page.getByRole('button', { name: 'POST /api/cart' }).click();
  await poll(() => new URL(page.url()).searchParams.get('resource')).toBe('/api/cart');
  await page.getByRole('button', { name: 'Show the whole service' }).waitFor();
  await page.getByRole('button', { name: 'Show the whole service' }).click();
  await poll(() => new URL(page.url()).searchParams.get('resource')).toBeNull();

  // A custom absolute range without traffic (three days ago): the empty state says what to do and offers the
  // last 24 hours, which brings the services back.
  await page.goto(`${stack!.url}/o/stack/services`);
  await checkout.waitFor();
  const local = (ms: number) =>
    new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  await page.getByRole('button', { name: /Time range/ }).click();
  await page.getByLabel('From', { exact: true }).fill(local(now - 3 * 86_400_000));
  await page.getByLabel('To', { exact: true }).fill(local(now - 3 * 86_400_000 + 3_600_000));
  await page.getByRole('button', { name: 'Apply range' }).click();
  await page.getByRole('heading', { name: 'No traffic seen in this time range' }).waitFor();
  expect(new URL(page.url()).searchParams.get('from')).toMatch(/^\d{13}$/);
  await shot(page, '02b-services-no-traffic');
  await page.getByRole('button', { name: 'Look at the last 24 hours' }).click();
  await checkout.waitFor();
  expect(new URL(page.url()).searchParams.get('from')).toBe('now-24h');

  // Wide layout.
  await page.setViewportSize({ width: 1920, height: 1000 });
  await page.goto(`${stack!.url}/o/stack/services`);
  await checkout.waitFor();
  await poll(() => page.locator('.spark-cell canvas').count()).toBe(5);
  await shot(page, '03-services-wide');
  expect(errors).toEqual([]);
  await page.context().close();
}, 300_000);

test('service map: workloads and external peers laid out, calls with their RED, a node opens its service', async () => {
  const { page, errors } = await signIn(1366);
  await page.goto(`${stack!.url}/o/stack/map`);
  const nodes = page.locator('g[data-node]');
  await poll(() => nodes.count(), 60_000).toBe(8);
  expect(await page.locator('g[data-edge]').count()).toBe(7);
  // checkout -> postgres.db: 2 + 0.2 calls/s, 0.2 failed.
  const db = row(page, 'data-call-row', 'checkout->postgres.db');
  expect((await db.locator('td').allTextContents()).slice(0, 4)).toEqual([
    'checkout',
    'postgres.db',
    'postgres',
    '2.2/s',
  ]);
  expect(await db.textContent()).toContain('9.09%');
  // dagre puts callers before callees: left of them, or above them when the chain is turned to fit the width.
  const at = async (id: string) => (await page.locator(`g[data-node="${id}"]`).boundingBox())!;
  const before = async (a: string, b: string) => {
    const [p, q] = [await at(a), await at(b)];
    return q.x > p.x + 1 || q.y > p.y + 1;
  };
  expect(await before('frontend', 'checkout')).toBe(true);
  expect(await before('checkout', 'payments')).toBe(true);
  expect(await before('payments', 'frontend')).toBe(false);
  await shot(page, '04-service-map');
  // Hovering a node fades what is not connected to it.
  await page.locator('g[data-node="checkout"] a').hover();
  await poll(() => page.locator('g[data-node="redis.cache"]').getAttribute('class')).toContain('map-dim');
  await shot(page, '05-service-map-focus');
  // Pan and zoom: buttons, keyboard, mouse drag and wheel; Fit to view returns to the fitted view.
  const zoomText = () => page.getByTestId('map-zoom').textContent();
  const pct = async () => Number.parseInt((await zoomText()) ?? '', 10);
  const fitted = await pct();
  expect(fitted).toBeGreaterThan(0);
  const boxOf = () => at('checkout');
  const w0 = (await boxOf()).width;
  await page.getByRole('button', { name: 'Zoom in' }).click();
  await poll(pct).toBeGreaterThan(fitted);
  expect((await boxOf()).width).toBeGreaterThan(w0 * 1.1);
  await shot(page, '05b-service-map-zoomed');
  const frame = page.getByRole('application', { name: /Service map/ });
  await frame.focus();
  const x0 = (await boxOf()).x;
  await page.keyboard.press('ArrowRight');
  await poll(async () => (await boxOf()).x).toBeLessThan(x0 - 40);
  const zoomed = await pct();
  await page.keyboard.press('-');
  await poll(pct).toBeLessThan(zoomed);
  await page.keyboard.press('0');
  await poll(pct).toBe(fitted);
  // Drag on the background moves the drawing with the pointer.
  const fb = (await frame.boundingBox())!;
  const x1 = (await boxOf()).x;
  await page.mouse.move(fb.x + 20, fb.y + fb.height - 20);
  await page.mouse.down();
  await page.mouse.move(fb.x + 140, fb.y + fb.height - 20, { steps: 6 });
  await page.mouse.up();
  await poll(async () => (await boxOf()).x).toBeGreaterThan(x1 + 80);
  await page.mouse.wheel(0, -400);
  await poll(pct).toBeGreaterThan(fitted);
  await page.getByRole('button', { name: 'Fit to view' }).click();
  await poll(pct).toBe(fitted);
  await poll(async () => Math.round((await boxOf()).x)).toBe(Math.round(x1));
  // External peers can be hidden (URL); a node is a link to its service.
  await page.getByLabel('Show external peers').uncheck();
  await poll(() => nodes.count()).toBe(5);
  expect(new URL(page.url()).searchParams.get('external')).toBe('hide');
  await page.locator('g[data-node="payments"] a').click();
  await page.waitForURL('**/o/stack/services/shop/payments**');
  await page.getByRole('heading', { name: 'payments' }).waitFor();
  await page.setViewportSize({ width: 1920, height: 1000 });
  await page.goto(`${stack!.url}/o/stack/map`);
  await poll(() => nodes.count(), 60_000).toBe(8);
  await shot(page, '06-service-map-wide');
  expect(errors).toEqual([]);
  await page.context().close();
}, 300_000);

test('metrics: PromQL explorer runs on Ctrl+Enter, draws and tabulates the result, shows Prometheus errors', async () => {
  const { page, errors } = await signIn(1366);
  await page.goto(`${stack!.url}/o/stack/metrics`);
  await page.getByRole('heading', { name: 'Start with an example' }).waitFor();
  await shot(page, '07-metrics-start');
  const box = page.getByLabel('PromQL');
  await box.fill('sum by (workload) (rate(http_server_request_duration_seconds_count[5m]))');
  await box.press('Control+Enter');
  await poll(() => new URL(page.url()).searchParams.get('expr')).toContain('sum by (workload)');
  const rows = page.locator('tr[data-result-row]');
  // The HTTP servers of the fixture (auth serves gRPC, a different histogram).
  await poll(() => rows.count()).toBe(4);
  expect(await rows.filter({ hasText: '{workload="checkout"}' }).locator('td').nth(1).textContent()).toBe(
    '1.5',
  );
  await poll(() => page.locator('.chart-card canvas').count()).toBe(1);
  await page.getByLabel('Unit').selectOption('reqps');
  await poll(() => rows.filter({ hasText: '{workload="checkout"}' }).locator('td').nth(1).textContent()).toBe(
    '1.5/s',
  );
  await shot(page, '08-metrics-result');

  // A broken query shows Prometheus' own message; the page keeps working.
  await box.fill('sum(rate(http_server_request_duration_seconds_count[5m])');
  await box.press('Control+Enter');
  await poll(() => page.getByRole('alert').first().textContent()).toMatch(/parse|unexpected|expect/i);
  await shot(page, '09-metrics-error');
  // An example fills the query and its unit.
  await page.goto(`${stack!.url}/o/stack/metrics`);
  await page.getByRole('button', { name: /p95 latency per service/ }).click();
  await poll(() => new URL(page.url()).searchParams.get('unit')).toBe('seconds');
  // Every server histogram family: auth's gRPC too.
  await poll(() => rows.count()).toBe(5);
  expect(await rows.filter({ hasText: '{workload="checkout"}' }).locator('td').nth(1).textContent()).toBe(
    '750 ms',
  );

  // The time-range picker with the keyboard: open, Escape closes and gives focus back.
  const picker = page.getByRole('button', { name: /Time range/ });
  await picker.focus();
  await page.keyboard.press('Enter');
  await page.getByRole('dialog', { name: 'Choose a time range' }).waitFor();
  await shot(page, '09b-time-range-picker');
  await page.keyboard.press('Escape');
  await poll(() => page.getByRole('dialog').count()).toBe(0);
  expect(await isFocused(picker)).toBe(true);
  expect(errors).toEqual([]);
  await page.context().close();
}, 300_000);

test('events: Kubernetes events with type, text and reason filters in the URL', async () => {
  const { page, errors } = await signIn(1366);
  await page.goto(`${stack!.url}/o/stack/events`);
  const rows = page.locator('tr[data-event-row]');
  await poll(() => rows.count(), 60_000).toBe(8);
  // Newest first.
  expect(await rows.first().getAttribute('data-event-row')).toBe('Killing');
  expect(await row(page, 'data-event-row', 'Unhealthy').textContent()).toContain('×7');
  await poll(() => page.locator('.chart-card canvas').count()).toBe(1);
  await shot(page, '10-events');
  await page.getByLabel('Type').selectOption('Warning');
  await poll(() => rows.count()).toBe(3);
  expect(new URL(page.url()).searchParams.get('type')).toBe('Warning');
  await page.getByLabel('Search events').fill('memory');
  await poll(() => rows.count()).toBe(1);
  expect(await rows.first().getAttribute('data-event-row')).toBe('FailedScheduling');
  await shot(page, '11-events-filtered');
  await page.getByRole('button', { name: 'Clear filters' }).first().click();
  await poll(() => rows.count()).toBe(8);
  await page.getByLabel('Reason').selectOption('BackOff');
  await poll(() => rows.count()).toBe(1);
  expect(errors).toEqual([]);
  await page.context().close();
}, 300_000);

test('a portal that goes away and comes back: the page says so and recovers by itself', async () => {
  const { page, errors } = await signIn(1366);
  await page.goto(`${stack!.url}/o/stack/events`);
  const rows = page.locator('tr[data-event-row]');
  await poll(() => rows.count(), 60_000).toBe(8);
  await portal!.shutdown();
  await page.getByRole('button', { name: 'Refresh' }).click();
  const alert = page.locator('.data-error');
  await poll(() => alert.textContent()).toContain('went away');
  expect(await alert.textContent()).toContain('Trying again in a few seconds.');
  await shot(page, '12-portal-gone');
  portal = new Portal({
    edgeUrl: stack!.url,
    installToken: stack!.installToken,
    clickhouse: store,
    victoriaMetricsUrl: vm.url,
    replicaId: 'e2e-data-2',
  });
  await portal.start();
  await waitConnected(stack!, 60_000);
  // No click: the page retries by itself and shows the events again.
  await poll(() => alert.count(), 60_000).toBe(0);
  await poll(() => rows.count()).toBe(8);
  expect(errors).toEqual([]);
  await page.context().close();
}, 300_000);
