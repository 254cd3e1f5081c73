/**
 * The `sluice ui` server: a read-only JSON API over the store and the bundled page, on Hono
 * (small, typed routing and streaming; runs on Node 20 through @hono/node-server). Bound to
 * 127.0.0.1 unless told otherwise; beyond loopback every request needs the printed token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { compress } from 'hono/compress';
import { streamSSE } from 'hono/streaming';
import { RunnerError } from '@sluice/runner';
import { clientAssets, type Asset } from './assets.ts';
import { UiData, UiError } from './data.ts';
import { defaultCacheDir } from './page-cache.ts';
import { RunWatchers } from './watch.ts';

export interface UiAppOptions {
  readonly storeDir: string;
  /** Required on every request (query `token`, header `x-sluice-token` or the cookie the first visit sets). */
  readonly token?: string;
  /** Store poll interval for live runs. @default 250 */
  readonly pollMs?: number;
  /** Gzip JSON answers. @default true when a token is required (bound beyond loopback) */
  readonly compress?: boolean;
  /**
   * Where finished runs' page answers are kept across restarts (false: nowhere).
   * @default $SLUICE_UI_CACHE, else $XDG_CACHE_HOME/sluice/ui, else ~/.cache/sluice/ui
   */
  readonly cacheDir?: string | false;
}

/**
 * Run in the page's head before its bundle: on a Run page, the page answer is asked for at once,
 * while the browser still loads and evaluates the bundle and renders the first frame (the Run
 * page takes it, once, if it is for its run). Inline, allowed by its hash alone: a script file of
 * its own cost the first visit a round trip before the answer was asked for.
 */
export const PREFETCH = "(()=>{const m=/^#\\/run\\/([^/?]+)/.exec(location.hash);if(m)globalThis.__sluiceEarly={id:decodeURIComponent(m[1]),answer:fetch('/api/runs/'+m[1]+'/page',{credentials:'same-origin'})}})()";
/**
 * The page may run only its own script files and the one inline script above (by its sha256),
 * load only its own style, talk only to this server, and frame nothing but sandboxed reports.
 */
export const CSP = `default-src 'none'; script-src 'self' 'sha256-${createHash('sha256').update(PREFETCH).digest('base64')}'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
/** What a sandboxed HTML artifact may do: nothing but show itself (no scripts, no network). */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
/**
 * The answer that carries an HTML artifact or report into the page's frame: the report's own
 * policy (a srcdoc frame would inherit the page's, whose `style-src 'self'` drops a report's
 * inline styles), sandboxed even when opened on its own, framed by this page only.
 */
export const FRAME_CSP = `${REPORT_CSP}; sandbox; base-uri 'none'; form-action 'none'; frame-ancestors 'self'`;

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function createUiApp(opts: UiAppOptions): { app: Hono; data: UiData; watchers: RunWatchers; close: () => void } {
  const data = new UiData(opts.storeDir, { cacheDir: opts.cacheDir ?? defaultCacheDir() });
  const startedAt = `${process.pid}-${Date.now()}`;
  const watchers = new RunWatchers(data, opts.pollMs ?? 250);
  const app = new Hono();

  app.use('*', async (c, next) => {
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', 'no-store');
    if (opts.token) {
      const given = c.req.query('token') ?? c.req.header('x-sluice-token') ?? /(?:^|;\s*)sluice_token=([^;]+)/.exec(c.req.header('cookie') ?? '')?.[1];
      if (!given || !same(given, opts.token)) return c.json({ error: 'this view is bound beyond loopback: open the URL with the token sluice ui printed' }, 401);
      if (c.req.query('token')) c.header('Set-Cookie', `sluice_token=${opts.token}; HttpOnly; SameSite=Strict; Path=/`);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return c.json({ error: 'this view is read-only' }, 405);
    await next();
  });

  // Beyond loopback, JSON answers are gzipped (a 10,000-task run's page answer: ~0.3 MiB, ~40 KiB gzipped).
  // Not on loopback: there gzip costs the server 40-110 ms for that answer (bench/RESULTS.md) and saves nothing.
  // Server-sent events are never compressed (hono's filter leaves text/event-stream alone).
  if (opts.compress ?? !!opts.token) app.use('/api/*', compress({ encoding: 'gzip' }));

  app.onError((e, c) => {
    if (e instanceof UiError) return c.json({ error: e.message }, e.status);
    if (e instanceof RunnerError) return c.json({ error: e.message }, /unknown|no run|no task|not found|has no/i.test(e.message) || /unknown/.test(e.code) ? 404 : 400);
    return c.json({ error: 'internal error' }, 500);
  });

  const json = (c: Context, v: unknown) => c.json(v as object);
  /** Answers about a finished run carry a validator: a browser that has it gets 304 and keeps its copy. */
  const cached = async (c: Context, id: string, what: string, read: () => Promise<unknown>): Promise<Response> => {
    // this server's answers only: another bundle or another server process (maybe another version) never matches
    data.etagSalt ||= `${(await clientAssets())['app.js']?.hash ?? '-'} ${startedAt}`;
    const tag = data.etag(id, what);
    if (tag) {
      c.header('ETag', tag);
      c.header('Cache-Control', 'no-cache');
      const given = (c.req.header('if-none-match') ?? '').split(',').map((x) => x.trim().replace(/^W\//, ''));
      if (given.includes(tag)) return c.body(null, 304);
    }
    const v = await read();
    return v instanceof Response ? v : json(c, v);
  };
  app.get('/api/runs', async (c) => {
    const q = (c.req.query('q') ?? '').toLowerCase();
    const status = c.req.query('status');
    const runs = (await data.runs()).filter((r) => (!status || r.status === status) && (!q || r.id.toLowerCase().includes(q) || r.pipeline.toLowerCase().includes(q)));
    return json(c, { runs });
  });
  app.get('/api/runs/:id', (c) => cached(c, c.req.param('id'), 'run', () => data.run(c.req.param('id'))));
  // the JSON text as made once per record stamp (and kept on disk for finished runs): not serialised again per visit
  app.get('/api/runs/:id/page', (c) => cached(c, c.req.param('id'), 'page', async () => c.body(await data.pageBody(c.req.param('id')), 200, { 'Content-Type': 'application/json' })));
  app.get('/api/runs/:id/graph', (c) => cached(c, c.req.param('id'), 'graph', () => data.graph(c.req.param('id'))));
  app.get('/api/runs/:id/tasks/:key{.+}', (c) => cached(c, c.req.param('id'), `task ${c.req.param('key')}`, () => data.task(c.req.param('id'), c.req.param('key'))));
  app.get('/api/runs/:id/metrics', async (c) => {
    const run = data.runId(c.req.param('id'));
    return json(c, { run, points: await data.metrics(run) });
  });
  app.get('/api/runs/:id/logs/:task{.+}', async (c) => json(c, { entries: await data.logs(c.req.param('id'), c.req.param('task')) }));
  app.get('/api/runs/:id/events', async (c) => {
    const run = await data.run(c.req.param('id'));
    return streamSSE(c, async (stream) => {
      let writes = Promise.resolve();
      const done = new Promise<void>((resolve) => {
        const off = watchers.subscribe(run.id, (ev) => {
          writes = writes.then(() => stream.writeSSE({ event: ev.type, data: JSON.stringify(ev) }));
          if (ev.type === 'run' && ev.status !== 'running') {
            off();
            resolve();
          }
        });
        stream.onAbort(() => {
          off();
          resolve();
        });
      });
      await done;
      await writes;
    });
  });
  app.get('/api/runs/:id/reports', async (c) => json(c, { reports: (await data.reports(c.req.param('id'))).map(({ path: _path, ...r }) => r) }));
  app.get('/api/runs/:id/reports/:name', async (c) => json(c, await data.report(c.req.param('id'), c.req.param('name'))));
  const framed = (c: Context, text: string) => {
    c.header('Content-Security-Policy', FRAME_CSP);
    c.header('Cache-Control', 'no-store');
    return c.body(text, 200, { 'Content-Type': 'text/html; charset=utf-8' });
  };
  app.get('/api/runs/:id/reports/:name/html', async (c) => {
    const r = await data.report(c.req.param('id'), c.req.param('name'));
    if (r.preview.kind !== 'html') throw new UiError(404, `report "${r.name}" of run ${r.run} is not HTML (${r.mediaType})`);
    return framed(c, r.preview.text);
  });
  app.get('/api/artifacts/:hash/html', async (c) => {
    const a = await data.artifact(c.req.param('hash'));
    if (a.preview.kind !== 'html') throw new UiError(404, `artifact sha256:${a.hash} is not an HTML report`);
    return framed(c, a.preview.text);
  });
  app.get('/api/artifacts/:hash', async (c) => json(c, await data.artifact(c.req.param('hash'))));
  app.get('/api/compare', async (c) => json(c, await data.compare((c.req.query('runs') ?? '').split(',').filter(Boolean))));
  app.get('/api/models', async (c) => json(c, { models: await data.models() }));
  app.get('/api/triggers', async (c) => json(c, { triggers: await data.triggers() }));
  app.get('/api/*', (c) => c.json({ error: `no such endpoint ${c.req.path}` }, 404));

  app.get('/assets/:name', async (c) => {
    const a = (await clientAssets())[c.req.param('name')];
    if (!a) return c.json({ error: 'no such asset' }, 404);
    // the page names each asset with its hash (`?v=`): that URL's body never changes
    // (chunks are named by esbuild after their content)
    c.header('Cache-Control', c.req.query('v') === a.hash || /^chunk-/.test(c.req.param('name')) ? 'public, max-age=31536000, immutable' : 'no-cache');
    c.header('ETag', `"${a.hash}"`);
    c.header('Vary', 'Accept-Encoding');
    if ((c.req.header('if-none-match') ?? '').includes(`"${a.hash}"`)) return c.body(null, 304);
    if (/\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) return c.body(new Uint8Array(a.gzip), 200, { 'Content-Type': a.type, 'Content-Encoding': 'gzip' });
    return c.body(a.body, 200, { 'Content-Type': a.type });
  });
  // hash routing: the page lives at / only; any other path is 404 (nothing is read from the file system by URL)
  app.get('/', async (c) => c.html(page(await clientAssets())));
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.get('*', (c) => c.json({ error: 'not found' }, 404));
  return { app, data, watchers, close: () => watchers.close() };
}

// The bundle's request first, then the inline script that asks for a Run page's answer (before the
// stylesheet, which would hold a classic script back until it is loaded): the server has answered the
// bundle before it reads a 10,000-task run for the answer, and the browser loads it meanwhile. No
// icon: the browser does not ask for /favicon.ico (which came while the server read the run).
const page = (a: Record<string, Asset>) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Sluice</title><link rel="icon" href="data:,"><script type="module" src="/assets/app.js?v=${a['app.js']?.hash}"></script><script>${PREFETCH}</script><link rel="stylesheet" href="/assets/app.css?v=${a['app.css']?.hash}"></head><body><div id="app">Loading…</div></body></html>`;
