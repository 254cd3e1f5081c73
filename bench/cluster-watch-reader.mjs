// The watch cost baseline of bench/cluster.bench.ts: a plain watch-stream reader of one Workflow,
// what any client of the API server does at the least (list it, watch from the list's version,
// JSON.parse each event), until its phase is final. No decompression, no node mapping, no output.
//   node bench/cluster-watch-reader.mjs <kubeconfig> <namespace> <name>
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

const [kubeconfig, ns, name] = process.argv.slice(2);
const kc = JSON.parse(readFileSync(kubeconfig, 'utf8'));
const server = kc.clusters[0].cluster.server;
const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64');
const token = kc.users[0].user.token;
const base = `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflows`;
const sel = `fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`;

function get(path, onLine) {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), { ca, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line && onLine(line) === true) { res.destroy(); resolve(); return; }
        }
      });
      res.on('end', () => { if (buf) onLine(buf); resolve(); });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const final = (o) => ['Succeeded', 'Failed', 'Error'].includes(o?.status?.phase);
let list;
await get(`${base}?${sel}`, (line) => { list = JSON.parse(line); });
if (!list.items.length || !final(list.items[0])) {
  await get(`${base}?${sel}&watch=1&resourceVersion=${list.metadata.resourceVersion}`, (line) => final(JSON.parse(line).object));
}
