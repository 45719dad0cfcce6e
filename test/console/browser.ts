import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Headless Chromium for the console's end-to-end tests: Debian's `chromium` package driven by
 * playwright-core (never a browser that playwright downloads). Playwright gives every launch a fresh
 * temporary profile (its own --user-data-dir).
 */
export const chromiumPath = process.env.HOOKLINE_CHROMIUM ?? '/usr/bin/chromium';

/** Without Chromium the browser tests are skipped locally, and fail in CI (`.ci/run` installs it). */
export const browserMissing = !existsSync(chromiumPath);
if (browserMissing) {
  const message = `console browser tests: no Chromium at ${chromiumPath} (apt-get install -y chromium)`;
  if (process.env.CI) throw new Error(message);
  console.warn(`${message}; skipped`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Screenshots go to $HOOKLINE_SCREENSHOTS when set (outside the repository), else nowhere. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.HOOKLINE_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
