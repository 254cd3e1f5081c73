/** `sluice ui`: starts the server and prints where it is. */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { clientAssets } from './assets.ts';
import { warmLayout } from './layout.ts';
import { createUiApp, newToken } from './server.ts';

export interface StartOptions {
  readonly storeDir: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  readonly pollMs?: number;
  /** Force a token even on loopback (tests). */
  readonly token?: string;
  /** Where finished runs' page answers are kept across restarts (false: nowhere). @default $SLUICE_UI_CACHE, else $XDG_CACHE_HOME/sluice/ui, else ~/.cache/sluice/ui */
  readonly cacheDir?: string | false;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
export const isLoopback = (host: string) => LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);

export interface RunningUi {
  readonly url: string;
  readonly port: number;
  readonly token: string | undefined;
  close(): Promise<void>;
}

export async function startUi(o: StartOptions): Promise<RunningUi> {
  const host = o.host ?? '127.0.0.1';
  const token = o.token ?? (isLoopback(host) ? undefined : newToken());
  await clientAssets(); // built (if need be), read and compressed before the first visit, not during it
  const { app, close } = createUiApp({ storeDir: o.storeDir, ...(token ? { token } : {}), ...(o.pollMs ? { pollMs: o.pollMs } : {}), ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}) });
  // one pass over the page's routes before the URL is printed: the first visit does not pay for
  // compiling the server's code paths (routing, headers, the store's first open, the DAG's layout)
  warmLayout();
  const auth = token ? { 'x-sluice-token': token } : undefined;
  for (const path of ['/', '/assets/app.css', '/assets/app.js', '/api/runs']) await Promise.resolve(app.request(path, { headers: { 'accept-encoding': 'gzip', ...auth } })).then((r) => r.arrayBuffer()).catch(() => undefined);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: o.port ?? 0, hostname: host }, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${port}/${token ? `?token=${token}` : ''}`;
  return {
    url, port, token,
    close: () => new Promise<void>((resolve) => {
      close();
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

/** The CLI verb: runs until SIGINT/SIGTERM. */
export async function uiCommand(o: { store: string; port: string; host: string; open?: boolean }): Promise<number> {
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`sluice ui: --port expects a port number (0 for any free port), got "${o.port}"\n`);
    return 2;
  }
  const ui = await startUi({ storeDir: o.store, port, host: o.host });
  if (ui.token) process.stderr.write(`warning: sluice ui is bound to ${o.host}, beyond this machine: anyone who can reach it and has the token below can read every run, log and artifact of ${o.store}\n`);
  process.stdout.write(`sluice ui: ${ui.url}\n`);
  if (o.open) {
    const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
    spawn(cmd, [ui.url], { stdio: 'ignore', detached: true }).on('error', () => process.stderr.write(`could not open a browser (${cmd}); open ${ui.url}\n`)).unref();
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await ui.close();
  return 0;
}
