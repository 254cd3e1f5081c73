// Imported first by main.js, so it runs before the rest of the bundle is evaluated: on a Run
// page, the page answer is asked for at once, while the browser still evaluates Preact, dagre
// and uPlot and renders the first frame. The Run page takes it (once) if it is for its run.
const m = /^#\/run\/([^/?]+)/.exec(location.hash);
export const early = m ? { id: decodeURIComponent(m[1]), answer: fetch(`/api/runs/${m[1]}/page`, { credentials: 'same-origin' }) } : null;
