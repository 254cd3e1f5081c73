// Test support for the cluster client suites: kubeconfigs for the harness's API server, and a
// fault-injecting HTTP proxy in front of it on 127.0.0.1 (watch expiry as an ERROR event and as
// HTTP 410, 429 with Retry-After, dropped connections), to prove the client survives them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KubeConnection } from '../support/kube/client.ts';

export function writeKubeconfig(conn: KubeConnection, o: { server?: string; token?: string; namespace: string; insecure?: boolean; ca?: string }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-kc-'));
  const file = path.join(dir, 'kubeconfig');
  const cluster: Record<string, unknown> = { server: o.server ?? conn.server };
  cluster['certificate-authority-data'] = Buffer.from(o.ca ?? conn.ca).toString('base64');
  if (o.insecure) cluster['insecure-skip-tls-verify'] = true;
  writeFileSync(file, JSON.stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'test', cluster }],
    users: [{ name: 'u', user: { token: o.token ?? conn.token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'u', namespace: o.namespace } }, { name: 'other', context: { cluster: 'test', user: 'u', namespace: 'elsewhere' } }],
    'current-context': 'test',
  }), { mode: 0o600 });
  return file;
}

export type Fault = '410-event' | '410' | '429' | 'drop';

/** A throwaway self-signed certificate for 127.0.0.1 (openssl), for the proxy's TLS. */
function selfSigned(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-proxy-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    return { key: readFileSync(path.join(dir, 'k.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A TLS proxy to the API server (its own certificate: `ca`) that applies queued faults to the requests they match. */
export class FaultProxy {
  private server: Server | undefined;
  readonly faults: { match: (method: string, url: string) => boolean; fault: Fault; used?: boolean }[] = [];
  readonly seen: string[] = [];
  url = '';
  private readonly tls = selfSigned();
  /** The proxy's certificate, to trust in a kubeconfig. */
  readonly ca = this.tls.cert;
  constructor(private readonly conn: KubeConnection) {}

  add(fault: Fault, match: (method: string, url: string) => boolean): void {
    this.faults.push({ match, fault });
  }

  async start(): Promise<string> {
    this.server = createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const addr = this.server.address() as { port: number };
    this.url = `https://127.0.0.1:${addr.port}`;
    return this.url;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const f = this.faults.find((x) => !x.used && x.match(method, url));
    this.seen.push(`${method} ${url}${f ? ` [${f.fault}]` : ''}`);
    if (f) {
      f.used = true;
      if (f.fault === '429') {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Too many requests, please try again later.', reason: 'TooManyRequests', code: 429 }));
        return;
      }
      if (f.fault === '410') {
        res.writeHead(410, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 1 (2)', reason: 'Expired', code: 410 }));
        return;
      }
      if (f.fault === '410-event') {
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        res.write(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 1 (2)', reason: 'Expired', code: 410 } })}\n`);
        setTimeout(() => res.end(), 50);
        return;
      }
      if (f.fault === 'drop') {
        req.socket.destroy();
        return;
      }
    }
    const target = new URL(url, this.conn.server);
    const up = httpsRequest(target, { method, headers: { ...req.headers, host: target.host }, ca: this.conn.ca }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
    res.on('close', () => up.destroy());
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

