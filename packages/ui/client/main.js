// The Sluice web view: Preact + htm (no build-time JSX); the DAG's layout (dagre) and uPlot for charts
// are chunks of their own, loaded when a nested pipeline is opened or the first chart is drawn: the
// first paint needs neither (the server sends the layout of the graph as first drawn).
import { h, render } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import 'uplot/dist/uPlot.min.css';
import './style.css';

const html = htm.bind(h);
const answer = async (r) => {
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
};
const api = async (path) => answer(await fetch(path, { credentials: 'same-origin' }));
// asked for by the page's inline script (src/server.ts PREFETCH), which runs before this bundle
let prefetched = globalThis.__sluiceEarly ?? null;
let uplot = null;
const loadUplot = () => (uplot ??= import('uplot').then((m) => m.default));
let layoutModule = null;
let layoutLoaded = null;
const loadLayout = () => (layoutModule ??= import('../src/layout.ts').then((m) => (layoutLoaded = m)));
/** The page answer of a run: the one asked for while the bundle loaded, if it is this run's and not taken yet. */
const pageOf = (id) => {
  const p = prefetched;
  prefetched = null;
  return p && p.id === id ? p.answer.then(answer) : api(`/api/runs/${enc(id)}/page`);
};
const enc = encodeURIComponent;
const fmtMs = (ms) => (ms == null ? '-' : ms < 1000 ? `${ms} ms` : ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60000)} m ${Math.round((ms % 60000) / 1000)} s`);
const fmtTime = (iso) => (iso ? iso.replace('T', ' ').slice(0, 19) : '-');
const Badge = ({ s }) => html`<span class=${`badge st-${s}`} data-state=${s}>${s}</span>`;
const showVal = (v) => (v && typeof v === 'object' && v.kind === 'artifact' ? html`<a href=${`#/artifact/${v.hash.replace(/^sha256:/, '')}`}>${v.type} ${v.hash.replace(/^sha256:/, '').slice(0, 12)}</a>` : Array.isArray(v) && v.every((x) => x && x.kind === 'artifact') ? html`${v.map((x) => html`${showVal(x)} `)}` : JSON.stringify(v));

function useRoute() {
  const [r, setR] = useState(location.hash || '#/runs');
  useEffect(() => {
    const f = () => setR(location.hash || '#/runs');
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  return r;
}
function useApi(path, deps = []) {
  const [s, set] = useState({ data: null, error: null });
  useEffect(() => {
    let live = true;
    if (path) api(path).then((data) => live && set({ data, error: null }), (e) => live && set({ data: null, error: e.message }));
    return () => { live = false; };
  }, [path, ...deps]);
  return s;
}

// ---------------------------------------------------------------- Runs
function Runs() {
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [sel, setSel] = useState([]);
  const { data, error } = useApi(`/api/runs?q=${enc(q)}&status=${enc(status)}`);
  if (error) return html`<p class="error">${error}</p>`;
  const toggle = (id) => setSel(sel.includes(id) ? sel.filter((x) => x !== id) : [...sel, id]);
  return html`<div>
    <div class="row"><input type="search" id="search" placeholder="search runs or pipelines" value=${q} onInput=${(e) => setQ(e.target.value)} />
      <select id="status" value=${status} onChange=${(e) => setStatus(e.target.value)}><option value="">any status</option>${['running', 'succeeded', 'failed', 'interrupted'].map((s) => html`<option value=${s}>${s}</option>`)}</select>
      ${sel.length >= 2 ? html`<a id="compare-link" href=${`#/compare/${sel.map(enc).join(',')}`}>compare ${sel.length} runs</a>` : html`<span class="mute">tick two runs to compare</span>`}</div>
    <table id="runs"><thead><tr><th></th><th>run</th><th>pipeline</th><th>status</th><th>start</th><th>duration</th><th>progress</th></tr></thead><tbody>
    ${(data?.runs ?? []).map((r) => html`<tr data-run=${r.id}><td><input type="checkbox" checked=${sel.includes(r.id)} onChange=${() => toggle(r.id)} /></td><td><a href=${`#/run/${enc(r.id)}`}>${r.id}</a></td><td>${r.pipeline}</td><td><${Badge} s=${r.orphaned ? 'interrupted' : r.status} /></td><td>${fmtTime(r.createdAt)}</td><td>${fmtMs(r.durationMs)}</td><td>${r.progress}</td></tr>`)}
    </tbody></table>${data && !data.runs.length ? html`<p class="mute">no runs match</p>` : null}</div>`;
}

// ---------------------------------------------------------------- Graph
// as src/layout.ts says it (not imported from there: that would put a chunk shared with the layout's on the first paint's path)
const countsText = (counts) => Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ');
// `open`: the nested pipelines drawn as groups of their tasks; the others are one node each.
// `given`: the server's layout of the graph with none open (the page answer's); with some open,
// the layout is made here (src/layout.ts with dagre, a chunk loaded on first need).
function Graph({ graph, given, selected, onSelect, open, onToggle }) {
  const key = [...open].sort().join(',');
  const mine = !!key || !given;
  const [, loaded] = useState(0);
  useEffect(() => {
    if (!mine || layoutLoaded) return;
    let live = true;
    loadLayout().then(() => live && loaded((x) => x + 1));
    return () => { live = false; };
  }, [mine]);
  const lay = useMemo(() => (!mine ? given : layoutLoaded ? layoutLoaded.layoutGraph(graph, open) : null), [graph, key, given, mine, layoutLoaded]);
  useEffect(() => { if (lay) performance.mark('sluice:dag-drawn'); }, [lay]);
  if (!lay) return html`<p class="mute" id="dag-wait">laying out the graph…</p>`;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  return html`<svg id="dag" width=${lay.width + 16} height=${lay.height + 16} xmlns="http://www.w3.org/2000/svg">
    ${lay.groups.map((box) => {
      const id = box.id;
      const m = /^(.*):(then|else)$/.exec(id);
      const n = byId.get(m ? m[1] : id);
      const untaken = m && n && n.branch && n.branch !== m[2];
      const pipe = !m && n.kind === 'pipeline';
      const label = m ? `${m[2]}${n && n.branch === m[2] ? ' (taken)' : untaken ? ' (not taken)' : ''}` : pipe ? `▾ ${n.label}: ${countsText(n.inner)}` : n.kind === 'loop' ? `loop ${id} × ${n.iterations} iterations` : `${n.branch ? `took ${n.branch}` : 'undecided'}: if ${n.predicate}`;
      const max = Math.max(8, Math.floor(box.width / 6.2));
      const shownLabel = label.length > max ? `${label.slice(0, max - 1)}…` : label;
      return html`<g class=${`group ${m ? 'branch' : pipe ? 'pipe' : n.kind === 'condition' ? 'cond' : 'loop'} ${untaken ? 'untaken' : ''}`} data-group=${id} data-branch=${n?.branch ?? ''} data-state=${pipe ? n.state : null} data-open=${pipe ? '1' : null}><rect x=${box.x - box.width / 2} y=${box.y - box.height / 2 - 14} width=${box.width} height=${box.height + 14} rx="6" />${pipe ? html`<rect class="toggle" data-toggle=${id} x=${box.x - box.width / 2} y=${box.y - box.height / 2 - 14} width=${box.width} height="14" rx="6" onClick=${() => onToggle(id)}><title>collapse ${id}</title></rect>` : null}<text x=${box.x - box.width / 2 + 6} y=${box.y - box.height / 2 - 2}><title>${label}</title>${shownLabel}</text></g>`;
    })}
    ${lay.edges.map((pts) => {
      let d = '';
      for (let i = 0; i < pts.length; i += 2) d += `${i ? ' L' : 'M'}${pts[i]},${pts[i + 1]}`;
      return html`<path class="edge" d=${d} />`;
    })}
    ${lay.nodes.map((b) => {
      const n = byId.get(b.id);
      const pipe = n.kind === 'pipeline';
      const second = pipe ? countsText(n.inner) || n.state : n.instances > 1 ? countsText(n.counts) : n.state;
      const click = () => { if (pipe) onToggle(n.id); onSelect(n.id); };
      return html`<g class=${`node ${pipe ? 'pipe' : ''} ${selected === n.id ? 'sel' : ''}`} data-node=${n.id} data-kind=${n.kind} data-state=${n.state} data-collapsed=${pipe ? '1' : null} onClick=${click}><rect x=${b.x - b.width / 2} y=${b.y - b.height / 2} width=${b.width} height=${b.height} rx="4" fill=${`var(--${n.state})`} /><text x=${b.x - b.width / 2 + 6} y=${b.y - 3}>${pipe ? `▸ ${n.label}` : n.label}</text><text class="counts" x=${b.x - b.width / 2 + 6} y=${b.y + 11}>${second}</text>${pipe ? html`<title>pipeline ${n.pipeline}: click to expand</title>` : null}</g>`;
    })}
  </svg>`;
}

// ---------------------------------------------------------------- virtual list of tasks
function TaskList({ tasks, selected, onSelect }) {
  const ROW = 24;
  const ref = useRef(null);
  const [top, setTop] = useState(0);
  const height = 360;
  const first = Math.max(0, Math.floor(top / ROW) - 5);
  const last = Math.min(tasks.length, Math.ceil((top + height) / ROW) + 5);
  return html`<div class="vlist" id="tasks" ref=${ref} onScroll=${(e) => setTop(e.target.scrollTop)} data-total=${tasks.length}>
    <div style=${{ height: `${tasks.length * ROW}px` }}></div>
    ${tasks.slice(first, last).map((t, i) => html`<div class=${`vrow ${selected === t.key ? 'sel' : ''}`} data-task=${t.key} style=${{ top: `${(first + i) * ROW}px` }} onClick=${() => onSelect(t.key)}><${Badge} s=${t.state} /> ${t.key} <span class="mute">${fmtMs(t.durationMs)} ${t.state === 'cached' ? 'cache hit' : ''}</span></div>`)}
  </div>`;
}

// the task's details are read when it is selected (the run page has every task in brief only)
function TaskPanel({ runId, taskKey, brief, version }) {
  const [logs, setLogs] = useState(null);
  const [task, setTask] = useState(null);
  // asked for as soon as the panel is rendered for a task, not after the next frame is painted (a
  // first frame of a big run's page is long): the server reads it while the browser paints
  useLayoutEffect(() => {
    setTask(null); setLogs(null);
    if (!taskKey) return;
    let live = true;
    api(`/api/runs/${enc(runId)}/tasks/${enc(taskKey)}`).then((t) => {
      if (!live) return;
      setTask(t);
      if (t.kind === 'task') api(`/api/runs/${enc(runId)}/logs/${enc(t.key)}`).then((l) => live && setLogs(l.entries), () => live && setLogs([]));
    }, () => live && setTask(null));
    return () => { live = false; };
  }, [runId, taskKey, version]);
  if (!taskKey) return html`<p class="mute">select a task in the graph or the list</p>`;
  // never the previous task's details under this one's name: until this one's come, its name and state from the list
  if (!task || task.key !== taskKey) return html`<div id="task-panel" data-loading="1"><h3>${taskKey} ${brief ? html`<${Badge} s=${brief.state} />` : null}</h3><p class="mute">loading…</p></div>`;
  const cache = task.cache.status === 'hit' ? `hit (from ${task.cache.from})` : task.cache.status === 'miss' ? `miss: ${task.cache.reason}` : task.cache.status;
  return html`<div id="task-panel" data-task=${task.key}><h3>${task.key} <${Badge} s=${task.state} /></h3>
    <table><tbody><tr><th>started</th><td>${fmtTime(task.startedAt)}</td></tr><tr><th>finished</th><td>${fmtTime(task.finishedAt)}</td></tr><tr><th>duration</th><td>${fmtMs(task.durationMs)}</td></tr><tr><th>cache</th><td id="cache">${cache}</td></tr>${task.error ? html`<tr><th>error</th><td>${task.error}</td></tr>` : null}</tbody></table>
    <h4>attempts</h4><table><thead><tr><th>#</th><th>outcome</th><th>started</th><th>finished</th><th>exit</th><th>message</th></tr></thead><tbody>${task.attempts.map((a) => html`<tr><td>${a.n}</td><td>${a.outcome}</td><td>${fmtTime(a.startedAt)}</td><td>${fmtTime(a.finishedAt)}</td><td>${a.exitCode ?? a.signal ?? '-'}</td><td>${a.message ?? ''}</td></tr>`)}</tbody></table>
    <h4>inputs</h4><table><tbody>${Object.entries(task.inputs ?? {}).map(([k, v]) => html`<tr><th>${k}</th><td>${showVal(v)}</td></tr>`)}</tbody></table>
    <h4>outputs</h4><table><tbody>${Object.entries(task.outputs ?? {}).map(([k, v]) => html`<tr><th>${k}</th><td>${showVal(v)}</td></tr>`)}</tbody></table>
    <h4>log</h4><pre class="log" id="log">${(logs ?? []).map((e) => (e.kind === 'attempt' ? html`<span class="marker">── attempt ${e.attempt} · ${new Date(e.time).toISOString()} ──\n</span>` : e.text))}</pre></div>`;
}

function Chart({ title, series, id }) {
  // series: [{ label, points: [[step, value], ...] }]
  const ref = useRef(null);
  useEffect(() => {
    if (!ref.current || !series.length) return;
    let u = null, live = true;
    const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const cols = series.map((s) => { const m = new Map(s.points); return xs.map((x) => (m.has(x) ? m.get(x) : null)); });
    const colours = ['#1c7ed6', '#e03131', '#2f9e44', '#f08c00', '#9c36b5', '#0c8599'];
    loadUplot().then((UPlot) => {
      if (live && ref.current) u = new UPlot({ title, width: 460, height: 220, scales: { x: { time: false } }, series: [{ label: 'step' }, ...series.map((s, i) => ({ label: s.label, stroke: colours[i % colours.length], spanGaps: true, points: { show: xs.length < 40 } }))] }, [xs, ...cols], ref.current);
    });
    return () => { live = false; u?.destroy(); };
  }, [title, JSON.stringify(series)]);
  return html`<div class="chart" data-chart=${id || title} ref=${ref}></div>`;
}

function MetricCharts({ points }) {
  const byName = new Map();
  for (const p of points) {
    if (!byName.has(p.name)) byName.set(p.name, new Map());
    const m = byName.get(p.name);
    if (!m.has(p.taskKey)) m.set(p.taskKey, []);
    m.get(p.taskKey).push([p.step, p.value]);
  }
  const stepped = [...byName].filter(([, m]) => [...m.values()].some((l) => l.length > 1));
  if (!points.length) return html`<p class="mute">no metrics logged</p>`;
  return html`<div class="row" style=${{ flexWrap: 'wrap' }}>${stepped.map(([name, m]) => html`<${Chart} title=${name} series=${[...m].slice(0, 12).map(([k, pts]) => ({ label: k, points: pts }))} />`)}
    <table><thead><tr><th>task</th><th>metric</th><th>last</th><th>steps</th></tr></thead><tbody>${[...byName].flatMap(([name, m]) => [...m].map(([k, pts]) => html`<tr><td>${k}</td><td>${name}</td><td>${pts[pts.length - 1][1]}</td><td>${pts.length}</td></tr>`)).slice(0, 200)}</tbody></table></div>`;
}

// ---------------------------------------------------------------- Run
// a parameter's value; a long one (a loop's 10,000 items) as its beginning, all of it on demand
const LONG = 200;
function Param({ v }) {
  const text = JSON.stringify(v);
  const [all, setAll] = useState(false);
  if (text.length <= LONG || all) return text;
  return html`<span class="long">${text.slice(0, LONG)}… <button type="button" class="more" onClick=${() => setAll(true)}>all ${Array.isArray(v) ? `${v.length} items` : `${text.length} characters`}</button></span>`;
}
function Run({ id, open, onOpen }) {
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const [node, setNode] = useState(null);
  const [key, setKey] = useState(null);
  const [version, setVersion] = useState(0);
  const [points, setPoints] = useState([]);
  const [reports, setReports] = useState([]);
  useEffect(() => {
    let live = true;
    // another run: nothing of the one shown before stays on screen while this one loads
    setPage(null); setError(null); setNode(null); setKey(null); setPoints([]); setReports([]);
    // the metrics come on their own, once the page is drawn and the browser is idle: the DAG and
    // the task list do not wait for them, nor does the server's answer to a first click
    const metrics = () => api(`/api/runs/${enc(id)}/metrics`).then((m) => live && setPoints(m.points), () => {});
    const later = (f) => (globalThis.requestIdleCallback ? requestIdleCallback(f, { timeout: 1000 }) : setTimeout(f, 200));
    let first = true;
    const load = () => {
      if (!first) metrics();
      // one answer: the run with its tasks in brief, and its graph
      return pageOf(id).then((p) => {
        if (!live) return;
        performance.mark('sluice:page-answer');
        // the tasks come as columns: rows for the list, each naming its graph node
        const c = p.tasks;
        p.run.tasks = c.key.map((key, i) => ({ key, state: c.states[c.state[i]], durationMs: c.durationMs[i], attempts: c.attempts[i], node: p.graph.nodes[c.node[i]]?.id ?? null }));
        seen = { status: p.run.status, progress: p.run.progress };
        setPage(p); setVersion((v) => v + 1);
        if (first) {
          first = false;
          later(() => {
            if (!live) return;
            metrics();
            // what a trigger attached to this run (its drift report)
            api(`/api/runs/${enc(id)}/reports`).then((r) => live && setReports(r.reports), () => {});
          });
        }
      }, (e) => live && setError(e.message));
    };
    let es = null, timer = null, seen = null;
    const refresh = () => { if (!timer) timer = setTimeout(() => { timer = null; load(); }, 300); };
    // a finished run is read once; a running one is followed through server-sent events
    load().then(() => {
      if (!live || !seen || seen.status !== 'running') return;
      es = new EventSource(`/api/runs/${enc(id)}/events`);
      es.addEventListener('task', refresh);
      es.addEventListener('run', (e) => {
        const d = JSON.parse(e.data);
        if (d.status !== seen.status || d.progress !== seen.progress) refresh();
        if (d.status !== 'running') es.close();
      });
    });
    return () => { live = false; es?.close(); if (timer) clearTimeout(timer); };
  }, [id]);
  if (error) return html`<p class="error">${error}</p>`;
  // the page of this run, not of the one shown before (its answer names it)
  if (!page || (page.run.id !== id && !page.run.id.startsWith(id) && !/^latest/.test(id))) return html`<p>loading run…</p>`;
  const { run, graph } = page;
  const n = node && graph.nodes.find((x) => x.id === node);
  const shown = n ? run.tasks.filter((t) => t.node === n.id) : run.tasks;
  const taskKey = key ?? (n && (n.kind === 'task' || n.kind === 'pipeline') && n.instances === 1 ? n.keys[0] : null);
  const toggle = (g) => onOpen(open.has(g) ? [...open].filter((x) => x !== g) : [...open, g]);
  return html`<div id="run" data-run=${run.id} data-status=${run.status} data-ready="1">
    <h2>${run.id} <${Badge} s=${run.orphaned ? 'interrupted' : run.status} /> <span class="mute" id="progress">${run.progress}</span></h2>
    <p class="mute">pipeline ${run.pipeline} · started ${fmtTime(run.createdAt)} · ${fmtMs(run.durationMs)} · ${run.counts.total} tasks${run.git ? ` · ${run.git.commit.slice(0, 12)}${run.git.dirty ? '+dirty' : ''}` : ''}</p>
    <div class="row"><div class="grow"><div class="panel graph"><${Graph} graph=${graph} given=${page.layout} selected=${node} open=${open} onToggle=${toggle} onSelect=${(x) => { setNode(x); setKey(null); }} /></div>
      <div class="panel"><b>tasks${n ? ` of ${n.id}` : ''}</b> (${shown.length}) ${n ? html`<a href="javascript:void 0" onClick=${() => setNode(null)}>all</a>` : null}<${TaskList} tasks=${shown} selected=${taskKey} onSelect=${setKey} /></div></div>
      <div class="grow panel"><${TaskPanel} runId=${run.id} taskKey=${taskKey} brief=${taskKey ? run.tasks.find((t) => t.key === taskKey) : null} version=${version} /></div></div>
    ${reports.length ? html`<div class="panel" id="reports"><h3>reports</h3><ul>${reports.map((r) => html`<li><a data-report=${r.name} href=${`#/report/${enc(run.id)}/${enc(r.name)}`}>${r.name}</a> <span class="mute">from trigger ${r.trigger} · ${fmtTime(r.createdAt)} · ${r.bytes} bytes</span></li>`)}</ul></div>` : null}
    <div class="panel"><h3>params</h3><table id="params"><tbody>${Object.entries(run.params).map(([k, v]) => html`<tr data-param=${k}><th>${k}</th><td><${Param} v=${v} /></td></tr>`)}</tbody></table></div>
    <div class="panel" id="metrics"><h3>metrics</h3><${MetricCharts} points=${points} /></div>
    <div class="panel"><h3>artifacts</h3><table><thead><tr><th>name</th><th>type</th><th>size</th><th>hash</th><th>consumers</th></tr></thead><tbody>${run.artifacts.map((a) => html`<tr><td>${a.name}</td><td>${a.type}</td><td>${a.size}</td><td><a href=${`#/artifact/${a.hash.replace(/^sha256:/, '')}`}>${a.hash.replace(/^sha256:/, '').slice(0, 12)}</a></td><td>${a.consumers.join(', ')}</td></tr>`)}</tbody></table>${run.artifactCount > run.artifacts.length ? html`<p class="mute">the first ${run.artifacts.length} of ${run.artifactCount} artifacts</p>` : null}</div>
  </div>`;
}

// ---------------------------------------------------------------- Artifact
function Heat({ labels, matrix }) {
  const max = Math.max(1, ...matrix.flat());
  return html`<table class="heat" id="confusion"><thead><tr><th>true \\ predicted</th>${labels.map((l) => html`<th>${l}</th>`)}</tr></thead><tbody>${matrix.map((row, i) => html`<tr><th>${labels[i]}</th>${row.map((v) => html`<td style=${{ background: `rgba(28,126,214,${(v / max).toFixed(3)})` }}>${v}</td>`)}</tr>`)}</tbody></table>`;
}
// an HTML artifact or report: a sandboxed frame (no scripts, no same origin), loaded from the server
// with its own restrictive CSP (sandbox, no scripts, no network, inline styles only; src/server.ts FRAME_CSP)
const HtmlFrame = ({ src }) => html`<iframe class="report" sandbox="" referrerpolicy="no-referrer" src=${src}></iframe>`;
function Artifact({ hash }) {
  const { data, error } = useApi(`/api/artifacts/${enc(hash)}`);
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p>loading…</p>`;
  const p = data.preview;
  let body;
  if (p.kind === 'table') body = html`<table id="preview-table"><thead><tr>${p.columns.map((c) => html`<th>${c}</th>`)}</tr></thead><tbody>${p.rows.map((r) => html`<tr>${r.map((c) => html`<td>${typeof c === 'object' ? JSON.stringify(c) : String(c)}</td>`)}</tr>`)}</tbody></table><p class="mute">${p.rows.length} of ${p.total ?? 'many'} rows</p>`;
  else if (p.kind === 'metrics' || p.kind === 'json') {
    const j = p.json;
    const cm = j && j.confusionMatrix && Array.isArray(j.confusionMatrix.matrix) ? j.confusionMatrix : null;
    const scalars = j && typeof j === 'object' ? Object.entries(j).filter(([, v]) => typeof v !== 'object') : [];
    body = html`${scalars.length ? html`<table id="metrics-table"><tbody>${scalars.map(([k, v]) => html`<tr><th>${k}</th><td>${String(v)}</td></tr>`)}</tbody></table>` : null}${cm ? html`<h4>confusion matrix</h4><${Heat} labels=${cm.labels} matrix=${cm.matrix} />` : null}<details><summary>JSON</summary><pre>${JSON.stringify(j, null, 2)}</pre></details>`;
  } else if (p.kind === 'html') body = html`<${HtmlFrame} src=${`/api/artifacts/${enc(data.hash)}/html`} />`;
  else if (p.kind === 'text') body = html`<pre>${p.text}</pre>`;
  else if (p.kind === 'image') body = html`<img id="preview-image" alt="artifact image" src=${p.dataUrl} />`;
  else body = html`<p class="mute">${p.kind}${p.size != null ? `, ${p.size} bytes` : ''}: no preview</p>`;
  const Lineage = ({ l }) => !l ? null : html`<li>${l.producedBy ? html`<a href=${`#/run/${enc(l.producedBy.run)}`}>${l.producedBy.run}</a> / ${l.producedBy.task}.${l.producedBy.output}${l.producedBy.cachedFrom ? ` (cached from ${l.producedBy.cachedFrom})` : ''}` : l.origin ?? 'unknown'} <a href=${`#/artifact/${l.hash.replace(/^sha256:/, '')}`} class="mute">${l.hash.replace(/^sha256:/, '').slice(0, 12)}</a>${Object.keys(l.params ?? {}).length ? html` <span class="mute">${Object.entries(l.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}</span>` : null}${l.inputs?.length ? html`<ul>${l.inputs.map((i) => html`<li class="mute">${i.name}</li><${Lineage} l=${i.lineage} />`)}</ul>` : null}</li>`;
  return html`<div id="artifact"><h2>${data.type} <span class="mute">sha256:${data.hash.slice(0, 16)}…</span></h2>
    <div class="panel">${body}</div><div class="panel" id="lineage"><h3>lineage</h3><ul><${Lineage} l=${data.lineage} /></ul><p class="mute">also recorded as ${data.producers.map((x) => `${x.run}/${x.task}.${x.output}`).join(', ')}</p></div></div>`;
}

// ---------------------------------------------------------------- Report (a file a trigger attached to the run it started)
function Report({ run, name }) {
  const { data, error } = useApi(`/api/runs/${enc(run)}/reports/${enc(name)}`);
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p>loading…</p>`;
  const p = data.preview;
  return html`<div id="report" data-report=${data.name}><h2>${data.name} <span class="mute">of run <a href=${`#/run/${enc(data.run)}`}>${data.run}</a>, from trigger <a href="#/triggers">${data.trigger}</a></span></h2>
    <p class="mute">${fmtTime(data.createdAt)} · ${data.mediaType} · ${data.bytes} bytes · sha256:${data.sha256.slice(0, 16)}…</p>
    <div class="panel">${p.kind === 'html' ? html`<${HtmlFrame} src=${`/api/runs/${enc(data.run)}/reports/${enc(data.name)}/html`} />` : p.kind === 'text' ? html`<pre>${p.text}</pre>` : html`<p class="mute">${p.kind}: no preview</p>`}</div></div>`;
}

// ---------------------------------------------------------------- Compare
function Compare({ ids }) {
  const { data, error } = useApi(`/api/compare?runs=${ids.map(enc).join(',')}`);
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p>loading…</p>`;
  const sec = (title, rows) => html`<h3>${title}</h3><table class="cmp" data-section=${title}><thead><tr><th></th>${data.runs.map((r) => html`<th>${r.id}</th>`)}</tr></thead><tbody>${rows.map((r) => html`<tr class=${r.differs ? 'diff' : ''} data-key=${r.key} data-differs=${r.differs ? '1' : '0'}><th>${r.differs ? '* ' : ''}${r.key}</th>${r.values.map((v) => html`<td>${v ?? '-'}</td>`)}</tr>`)}</tbody></table>`;
  const names = [...new Set(data.series.flatMap((s) => Object.keys(s.series)))].filter((k) => data.series.some((s) => (s.series[k] || []).length > 1));
  return html`<div id="compare"><h2>compare ${data.runs.length} runs</h2>
    ${sec('commit', [{ key: 'code commit', values: data.commit.values, differs: data.commit.differs }])}${sec('params', data.params)}${sec('metrics', data.metrics)}${sec('artifacts', data.data)}
    <div class="row" style=${{ flexWrap: 'wrap' }}>${names.slice(0, 12).map((k) => html`<${Chart} title=${k} series=${data.series.filter((s) => s.series[k]).map((s) => ({ label: s.run, points: s.series[k] }))} />`)}</div><p class="mute">* differs</p></div>`;
}

// ---------------------------------------------------------------- Models
function Models() {
  const { data, error } = useApi('/api/models');
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p>loading…</p>`;
  if (!data.models.length) return html`<p class="mute" id="models">no registered models</p>`;
  return html`<div id="models">${data.models.map((m) => html`<div class="panel"><h3>${m.name}</h3><table><thead><tr><th>version</th><th>aliases</th><th>metrics</th><th>source</th><th>artifact</th></tr></thead><tbody>${m.versionList.map((v) => html`<tr><td>${v.version}</td><td>${v.aliases.join(', ') || '-'}</td><td>${Object.entries(v.metrics).map(([k, x]) => `${k}=${x}`).join(' ')}</td><td><a href=${`#/run/${enc(v.runId)}`}>${v.runId}</a>/${v.taskKey}</td><td>${v.artifactHash.replace(/^sha256:/, '').slice(0, 12)}</td></tr>`)}</tbody></table></div>`)}</div>`;
}

// `#/run/<id>?open=a,b`: the URL keeps which nested pipelines are open
// ---------------------------------------------------------------- Triggers
function Triggers() {
  const { data, error } = useApi('/api/triggers');
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p>loading…</p>`;
  if (!data.triggers.length) return html`<p class="mute" id="triggers" data-empty="1">no triggers in this store (sluice triggers serve has not run here)</p>`;
  const runLink = (id) => html`<a href=${`#/run/${enc(id)}`}>${id}</a>`;
  return html`<div id="triggers">${data.triggers.map((t) => html`<div class="panel trigger" data-trigger=${t.name}>
    <h3>${t.name} <span class="mute">${t.counts.fire} fired, ${t.counts.suppress} suppressed, ${t.counts.skip} skipped${t.state.lastFireAt ? ` · last fire ${fmtTime(t.state.lastFireAt)}` : ''}${t.state.running.length ? ` · running ${t.state.running.join(', ')}` : ''}${t.state.queued ? ` · ${t.state.queued} queued` : ''}</span></h3>
    <h4>runs started</h4>${t.fires.length ? html`<table class="fires"><thead><tr><th>run</th><th>status</th><th>reserved</th><th>dedupe key</th><th>params</th><th>report</th></tr></thead><tbody>${t.fires.map((f) => html`<tr data-run=${f.runId}><td>${f.runStatus ? runLink(f.runId) : f.runId}</td><td><${Badge} s=${f.runStatus ?? f.fire} /></td><td>${fmtTime(f.reservedAt)}</td><td class="mute">${f.dedupeKey}</td><td>${Object.entries(f.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}</td><td>${(f.reports ?? []).map((r) => html`<a class="report-link" data-report=${r} href=${`#/report/${enc(f.runId)}/${enc(r)}`}>${r}</a> `)}</td></tr>`)}</tbody></table>` : html`<p class="mute">none</p>`}
    <h4>last decisions</h4><table class="decisions"><thead><tr><th>at</th><th>decision</th><th>reason</th><th>run</th><th>evidence</th></tr></thead><tbody>${t.decisions.map((d) => html`<tr data-kind=${d.kind}><td>${fmtTime(d.at)}</td><td><span class=${`badge dk-${d.kind}`}>${d.kind}</span></td><td class="reason">${d.reason}</td><td>${d.runId ? runLink(d.runId) : '-'}</td><td><details><summary>${Object.keys(d.evidence).slice(0, 4).join(', ') || 'none'}</summary><pre class="evidence">${JSON.stringify({ evidence: d.evidence, ...(d.event ? { event: d.event } : {}) }, null, 2)}</pre></details></td></tr>`)}</tbody></table>
  </div>`)}</div>`;
}

function App() {
  const route = useRoute();
  const [, page, rest] = /^#\/([^/]*)\/?(.*)$/.exec(route) || [];
  const [arg, query] = (rest ?? '').split('?');
  const params = new URLSearchParams(query ?? '');
  const open = new Set((params.get('open') ?? '').split(',').filter(Boolean));
  const setOpen = (list) => { location.hash = `#/run/${arg}${list.length ? `?open=${list.map(enc).join(',')}` : ''}`; };
  const body = page === 'run' ? html`<${Run} id=${decodeURIComponent(arg)} open=${open} onOpen=${setOpen} />` : page === 'artifact' ? html`<${Artifact} hash=${arg} />` : page === 'compare' ? html`<${Compare} ids=${arg.split(',').map(decodeURIComponent)} />` : page === 'models' ? html`<${Models} />` : page === 'triggers' ? html`<${Triggers} />` : page === 'report' ? html`<${Report} run=${decodeURIComponent(arg.split('/')[0])} name=${decodeURIComponent(arg.split('/').slice(1).join('/'))} />` : html`<${Runs} />`;
  return html`<header><b>Sluice</b><a href="#/runs">Runs</a><a href="#/models">Models</a><a href="#/triggers">Triggers</a></header><main>${body}</main>`;
}
const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
