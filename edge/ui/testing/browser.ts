/**
 * Debian's Chromium for the UI's end-to-end tests (playwright-core drives `/usr/bin/chromium`; nothing is
 * downloaded), with the flags that keep it offline and quiet on a CI machine, and a screenshot helper.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
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

/** `shot(page, name)` saves a full-page PNG under test-artifacts/<dir>/ (created here). */
export function screenshots(dir: string): (page: Page, name: string) => Promise<void> {
  const out = join(REPO_ROOT, 'test-artifacts', dir);
  mkdirSync(out, { recursive: true });
  return async (page, name) => {
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
  };
}
