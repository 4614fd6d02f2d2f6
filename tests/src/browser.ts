import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page, chromium } from 'playwright-core';

/**
 * A real browser for tests: Debian's Chromium (`apt-get install chromium`; .ci/run installs it)
 * driven by playwright-core. `npx playwright install` downloads browsers, which this machine and
 * CI cannot, so the system's Chromium it is.
 */
export const CHROMIUM = '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. For `describe(…, { skip })`. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium; CI installs it): browser tests skipped`;
}

/** Where screenshots of failed browser tests go: tests/.artifacts (ignored by git). */
export const ARTIFACTS = fileURLToPath(new URL('../.artifacts/', import.meta.url));

/** Nothing this browser does talks to Google or updates itself; each run starts from an empty profile. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /**
   * Runs `body` with the page; when it throws, saves a screenshot of the page as it was under
   * tests/.artifacts, prints where, and throws on.
   */
  readonly step: <T>(name: string, body: (page: Page) => Promise<T>) => Promise<T>;
  close(): Promise<void>;
}

/** Chromium with a fresh profile (a new --user-data-dir), signed in with these Basic credentials. */
export async function openBrowser(credentials: { username: string; password: string }): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'vcu-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    httpCredentials: credentials,
    viewport: { width: 1280, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    step: async (name, body) => {
      try {
        return await body(page);
      } catch (err) {
        await screenshot(page, name);
        throw err;
      }
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

async function screenshot(page: Page, name: string): Promise<void> {
  const file = path.join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '-')}-${Date.now()}.png`);
  try {
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
    process.stderr.write(`screenshot of the failed step "${name}": ${file}\n`);
  } catch (err) {
    process.stderr.write(`could not take a screenshot of the failed step "${name}": ${String(err)}\n`);
  }
}
