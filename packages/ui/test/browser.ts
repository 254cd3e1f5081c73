/**
 * The system Chromium for browser tests (Debian's `chromium`; no browser download): its path, or
 * why there is none. Tests skip with that message, except under CI=true where it is required.
 */
import { existsSync } from 'node:fs';

export { chromium } from 'playwright-core';

export function chromiumPath(): string | undefined {
  for (const p of [process.env.SLUICE_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[]) if (existsSync(p)) return p;
  return undefined;
}
export const NO_CHROMIUM = 'no system Chromium (apt-get install -y chromium, or set SLUICE_CHROMIUM): browser tests skipped';
export const requireBrowser = () => process.env.CI === 'true';
/** Flags for a headless Chromium in a container: as root it needs --no-sandbox; nothing leaves the machine. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--metrics-recording-only', '--mute-audio'];
