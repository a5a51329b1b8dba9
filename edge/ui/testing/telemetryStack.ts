/**
 * What the traces and the logs e2e tests run against: chdb with the project's migrations, the real OTLP collector
 * in front of it (the tests send spans and log lines with the OpenTelemetry JS SDK), `wrangler dev` serving the
 * built UI, the real Portal connected to it, and Chromium. Each test file starts its own (one store per file).
 *
 *   const t = new TelemetryStack('e2e-logs', 'ui/traces-logs');
 *   beforeAll(() => t.start(), 240_000);
 *   afterAll(() => t.stop(), 60_000);
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT } from '../../../cli/up/plan.ts';
import type { ChdbStore } from '../../../incloud/clickhouse/chdbStore.ts';
import type { OtlpCollector } from '../../../incloud/collector/collector.ts';
import { openTestStore, RecordingSink, startCollector } from '../../../incloud/collector/collectorTestKit.ts';
import { Portal } from '../../../incloud/portal/portal.ts';
import { type EdgeStack, startEdgeStack, waitConnected } from '../../../incloud/portal/testing/edgeStack.ts';
import { launchChromium, openPage, signInAsStackOwner } from './browser.ts';

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

export class TelemetryStack {
  private edge: EdgeStack | undefined;
  private chdb: ChdbStore | undefined;
  private closeStore: (() => Promise<void>) | undefined;
  private collector: OtlpCollector | undefined;
  private portal: Portal | undefined;
  private chromium: Browser | undefined;
  private readonly shots: string;

  /** `replicaId` names the portal; screenshots go to test-artifacts/<shotsDir>/. */
  constructor(
    private readonly replicaId: string,
    shotsDir: string,
  ) {
    this.shots = join(REPO_ROOT, 'test-artifacts', shotsDir);
  }

  /** Starts every part; what did start is stopped by `stop()` even when a later part fails. */
  async start(): Promise<void> {
    if (!existsSync(join(REPO_ROOT, 'edge/public/assets'))) {
      throw new Error('cannot test the UI: edge/public is not built; run node scripts/build-ui.mjs');
    }
    mkdirSync(this.shots, { recursive: true });
    const opened = await step('open and migrate chdb', 60_000, openTestStore());
    this.chdb = opened.store;
    this.closeStore = opened.close;
    this.collector = await step(
      'start the collector',
      20_000,
      startCollector({ store: this.chdb, metrics: new RecordingSink() }),
    );
    const [edge, chromium] = await Promise.all([
      step('start the edge (wrangler dev)', 120_000, startEdgeStack()),
      step('launch Chromium', 60_000, launchChromium()),
    ]);
    this.edge = edge;
    this.chromium = chromium;
    this.portal = new Portal({
      edgeUrl: edge.url,
      installToken: edge.installToken,
      clickhouse: this.chdb,
      replicaId: this.replicaId,
    });
    await this.portal.start();
    await waitConnected(edge, 45_000);
  }

  async stop(): Promise<void> {
    await this.chromium?.close();
    await this.portal?.shutdown();
    await this.edge?.stop();
    await this.collector?.shutdown();
    await this.closeStore?.();
  }

  /** The edge's base URL (`wrangler dev`). */
  get url(): string {
    if (!this.edge) throw new Error('cannot use the stack: it is not started');
    return this.edge.url;
  }

  /** The collector's OTLP/HTTP base URL, for the SDK's exporters (`${otlp}/v1/traces`). */
  get otlp(): string {
    if (!this.collector) throw new Error('cannot use the stack: it is not started');
    return `http://127.0.0.1:${this.collector.port}`;
  }

  /** Rows in a chdb table: the tests wait for the collector to have stored what they sent. */
  async rowCount(table: string): Promise<number> {
    const rows = await this.chdb!.query<{ n: string }>(`SELECT toString(count()) AS n FROM ${table}`);
    return Number(rows[0]?.n ?? 0);
  }

  async shot(page: Page, name: string, fullPage = true): Promise<void> {
    await page.screenshot({ path: join(this.shots, `${name}.png`), fullPage });
  }

  /** A new browser context `width` px wide, signed in as the stack's user; page errors are collected. */
  async signIn(width: number): Promise<{ page: Page; errors: string[] }> {
    const opened = await openPage(this.chromium!, { width, height: 860 }, (page, name) =>
      this.shot(page, name),
    );
    await signInAsStackOwner(opened.page, this.url);
    return opened;
  }
}
