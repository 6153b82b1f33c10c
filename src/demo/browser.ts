// Headless Chromium for the /ui page's browser test and its screenshot:
// Debian's `chromium`, driven by playwright-core (which never downloads a
// browser). The flags keep it off the network: it reaches only the pages it
// is sent to, so a closed network cannot stall it on a lookup of its own.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = process.env.ECADRAFT_CHROMIUM ?? '/usr/bin/chromium';

export const chromiumInstalled = () => existsSync(CHROMIUM);

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh profile each time: nothing cached or remembered from an earlier run. */
export async function launchChromium(viewport = { width: 1000, height: 900 }): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'ecadraft-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    timeout: 60_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
