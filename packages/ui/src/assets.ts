/**
 * The page's script and style: an esbuild bundle of `client/` (Preact + htm; uPlot and the DAG's
 * layout with dagre in chunks of their own, loaded when a chart is drawn or a nested pipeline
 * opened: the server sends the first layout), all local (no CDN), in `dist/client/`. The script
 * that asks for a Run page's answer while the bundle loads is inline in the page (src/server.ts). The package's build makes it (a published package has no
 * `client/` and no esbuild); in the workspace it is rebuilt once per process when missing or
 * older than the sources.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export interface Asset {
  readonly body: string;
  readonly type: string;
  /** The body gzipped once, for clients that accept it. */
  readonly gzip: Buffer;
  /** sha256 of the body (base64url, 16 characters): the asset's version in its URL and its ETag. */
  readonly hash: string;
}
const asset = (body: string, type: string): Asset => ({ body, type, gzip: gzipSync(body, { level: 9 }), hash: createHash('sha256').update(body).digest('base64url').slice(0, 16) });
let built: Promise<Record<string, Asset>> | undefined;

/** Bundles the client into `dist/client/` (used by the tests, the bench and the package's build). */
export async function buildClient(outdir = join(root, 'dist', 'client')): Promise<void> {
  const esbuild = await import('esbuild').catch(() => {
    throw new Error(`@sluice/ui: the page's bundle is missing (${join(outdir, 'app.js')}) and esbuild is not installed to build it: reinstall @sluice/ui, or in the workspace run pnpm install`);
  });
  const common = { bundle: true, minify: true, outdir, target: 'es2020', logLevel: 'silent', legalComments: 'none' } as const;
  await esbuild.build({
    ...common, entryPoints: { app: join(root, 'client', 'main.js') }, format: 'esm', splitting: true, chunkNames: 'chunk-[hash]', loader: { '.css': 'css' },
  });
}

/** The modules of src/ that the page's bundle imports too. */
const BUNDLED = ['layout.ts'];
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export function clientAssets(): Promise<Record<string, Asset>> {
  built ??= (async () => {
    const dist = join(root, 'dist', 'client');
    const src = join(root, 'client');
    // the bundle's sources: client/, and the modules of src/ it shares with the server
    const sources = existsSync(src) ? [...readdirSync(src).map((f) => join(src, f)), ...BUNDLED.map((f) => join(root, 'src', f))] : [];
    const newest = Math.max(0, ...sources.map((f) => statSync(f).mtimeMs));
    const fresh = existsSync(join(dist, 'app.js')) && statSync(join(dist, 'app.js')).mtimeMs >= newest && !process.env.SLUICE_UI_REBUILD;
    if (!fresh) await buildClient(dist);
    const out: Record<string, Asset> = { 'app.css': asset('', TYPES['.css'] as string) };
    for (const name of readdirSync(dist)) {
      const type = TYPES[extname(name)];
      if (type) out[name] = asset(readFileSync(join(dist, name), 'utf8'), type);
    }
    return out;
  })();
  return built;
}
