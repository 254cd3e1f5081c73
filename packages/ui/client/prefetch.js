// A classic script the page runs before its bundle (see src/server.ts): on a Run page, the page
// answer is asked for at once, while the browser still loads and evaluates the bundle (Preact,
// dagre) and renders the first frame. The Run page takes it (once) if it is for its run.
(() => {
  const m = /^#\/run\/([^/?]+)/.exec(location.hash);
  if (m) globalThis.__sluiceEarly = { id: decodeURIComponent(m[1]), answer: fetch(`/api/runs/${m[1]}/page`, { credentials: 'same-origin' }) };
})();
