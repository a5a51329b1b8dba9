/**
 * Debian's Chromium for the UI's end-to-end tests (playwright-core drives `/usr/bin/chromium`; nothing is
 * downloaded), with the flags that keep it offline and quiet on a CI machine, and a screenshot helper.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { expect, onTestFailed } from 'vitest';
import { REPO_ROOT } from '../../../cli/up/plan.ts';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
}

/** Saves a screenshot of `page` as `<name>.png` (see `screenshots`). */
export type ShotFn = (page: Page, name: string) => Promise<void>;

/**
 * A page in a new browser context of the given size, with waits that leave room for a loaded machine, and the
 * uncaught errors of the page collected (the tests expect none). Called inside a test; with `shotOnFailure`, a
 * failing test saves what the page showed as `failed-<test name up to its colon>.png`.
 */
export async function openPage(
  browser: Browser,
  viewport: { width: number; height: number },
  shotOnFailure?: ShotFn,
): Promise<{ page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport });
  // Other suites share this machine's two cores: waits get room, the test still fails on a wrong page.
  ctx.setDefaultTimeout(60_000);
  // A page load fetches the app and its first API answers from wrangler dev: the slowest step under load.
  ctx.setDefaultNavigationTimeout(120_000);
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  if (shotOnFailure) {
    onTestFailed(async ({ task }) => {
      await shotOnFailure(page, `failed-${task.name.split(':')[0]}`).catch(() => undefined);
    });
  }
  return { page, errors };
}

/** Signs in with the password form as the owner every edge stack creates (incloud/portal/testing/edgeStack.ts). */
export async function signInAsStackOwner(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/signin`);
  await page.getByLabel('Work email').fill('stack@example.com');
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL('**/o/stack/**');
}

/** `shot(page, name)` saves a full-page PNG under test-artifacts/<dir>/ (created here). */
export function screenshots(dir: string): ShotFn {
  const out = join(REPO_ROOT, 'test-artifacts', dir);
  mkdirSync(out, { recursive: true });
  return async (page, name) => {
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
  };
}

/**
 * `expect.poll` with room for a loaded machine (vitest's default is 1 s, too short when other suites share the
 * two cores): the condition must still become true, only later.
 */
export const poll = <T>(fn: () => T | Promise<T>, timeout = 30_000) =>
  expect.poll(fn, { timeout, interval: 150 });

// The little of the DOM that functions passed to `evaluate` touch. They run in Chromium, but this code is
// type-checked with Node's typings (tsconfig.test.json), which have no DOM.
interface FocusableElement {
  textContent: string | null;
  blur(): void;
}
declare const document: { activeElement: FocusableElement | null };

/** Whether the element has the keyboard focus. */
export function isFocused(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => el === (document.activeElement as unknown));
}

/** The text of the focused element (null when nothing is focused). */
export function focusedText(page: Page): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.textContent ?? null);
}

/** Takes the focus away from whatever has it. */
export function blurFocus(page: Page): Promise<void> {
  return page.evaluate(() => document.activeElement?.blur());
}
