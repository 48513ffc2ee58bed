/**
 * The web console in headless Chromium (Debian's chromium, driven by
 * playwright-core; scripts/ensure-chromium.sh installs it) for end-to-end
 * tests: a fresh profile, confirm dialogs accepted, signed in with an admin
 * token, screenshots into a folder.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Loaded when a browser is opened: the other users of @opamp/testing never pay for playwright.
import type { BrowserContext, Page } from 'playwright-core';

export interface ConsoleBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** A full-page screenshot `<name>.png` in the screenshots folder. */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface ConsoleBrowserOptions {
  /** The console's address (EmbeddedServerProcess.base). */
  readonly base: string;
  /** Signs in with it on the first page when given. */
  readonly adminToken?: string;
  readonly screenshots: string;
  readonly chromiumPath?: string;
}

export async function openConsoleBrowser(options: ConsoleBrowserOptions): Promise<ConsoleBrowser> {
  mkdirSync(options.screenshots, { recursive: true });
  const profileDir = mkdtempSync(join(tmpdir(), 'console-chromium-'));
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: options.chromiumPath ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on('dialog', (d) => void d.accept());
  if (options.adminToken) {
    await page.goto(`${options.base}/agents`);
    await page.getByTestId('token').fill(options.adminToken);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('agents-table').waitFor();
  }
  return {
    context,
    page,
    shot: async (name) => {
      await page.screenshot({ path: join(options.screenshots, `${name}.png`), fullPage: true });
    },
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
