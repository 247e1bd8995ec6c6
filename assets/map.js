// The map page: a Leaflet map with the heatmap layer and its controls.
// Works offline for the heatmap; the OpenStreetMap base layer needs internet.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const map = L.map('map', { zoomControl: true }).setView([20, 0], 2);
  const base = L.tileLayer('https://tile.openstreetmap.org/{z}/{x}/{y}.png', {
    maxZoom: 19,
    attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    className: 'base',
  }).addTo(map);
  let heat = null;
  let explorer = null;

  // Explorer squares: visited tiles, the max cluster and the max square.
  function toggleExplorer() {
    if (explorer) map.removeLayer(explorer);
    explorer = null;
    if (!$('explorer').checked) return;
    const url = '/explorer/' + $('explorer-zoom').value + '/tiles/{z}/{x}/{y}{r}.png';
    explorer = L.tileLayer(url, { maxZoom: 20, className: 'explorer' }).addTo(map);
  }
  // Bumped when data changes: browsers cache tiles for minutes, and the
  // server's new tiles must not hide behind old ones.
  let version = 0;
  let hadData = false;

  // Light or dark: the user's choice, else the system's.
  const root = document.documentElement;
  const saved = localStorage.getItem('hotpot.theme');
  root.dataset.theme = saved || (matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark');
  $('theme').addEventListener('click', () => {
    root.dataset.theme = root.dataset.theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem('hotpot.theme', root.dataset.theme);
  });

  function query() {
    const p = new URLSearchParams();
    const g = $('gradient').value.trim();
    if (g) p.set('gradient', g); else p.set('palette', $('palette').value);
    const f = $('filter').value.trim();
    if (f) p.set('filter', f);
    if ($('scale').value !== 'counts') p.set('scale', $('scale').value);
    if ($('glow').checked) p.set('glow', '1');
    return p.toString();
  }

  // Ask the server about the options once; show its message if it objects.
  async function check(q) {
    const r = await fetch('/tiles/0/0/0.png?' + q);
    $('error').textContent = r.ok ? '' : (await r.text());
    return r.ok;
  }

  async function refresh() {
    const q = query();
    if (!(await check(q))) return;
    const url = '/tiles/{z}/{x}/{y}{r}.png?' + q + (version ? '&v=' + version : '');
    if (heat) map.removeLayer(heat);
    heat = L.tileLayer(url, { maxZoom: 20, opacity: $('opacity').value / 100, className: 'heat' }).addTo(map);
    $('url').value = location.origin + '/tiles/{z}/{x}/{y}.png?' + q;
    $('export').href = '/api/export.pmtiles?' + q;
  }

  async function init() {
    const palettes = await (await fetch('/api/palettes')).json();
    for (const p of palettes) {
      const o = document.createElement('option');
      o.value = p.name; o.textContent = p.name + ' — ' + p.description;
      $('palette').appendChild(o);
    }
    await loadStats();
    await refresh();
  }

  async function loadStats() {
    const s = await (await fetch('/api/stats')).json();
    const km = Math.round(s.distance_km).toLocaleString();
    $('count').textContent = s.activities.toLocaleString() + ' activities, ' + km + ' km';
    if (s.bounds && !hadData) map.fitBounds([[s.bounds[1], s.bounds[0]], [s.bounds[3], s.bounds[2]]]);
    hadData = hadData || s.activities > 0;
  }

  // The dashboard calls this after an upload added activities.
  window.hotpot = {
    dataChanged: async function () {
      version += 1;
      await loadStats();
      await refresh();
    },
  };

  $('palette').addEventListener('change', () => { $('gradient').value = ''; refresh(); });
  $('gradient').addEventListener('change', refresh);
  $('filter').addEventListener('change', refresh);
  $('scale').addEventListener('change', refresh);
  $('glow').addEventListener('change', refresh);
  $('explorer').addEventListener('change', toggleExplorer);
  $('explorer-zoom').addEventListener('change', toggleExplorer);
  $('opacity').addEventListener('input', () => heat && heat.setOpacity($('opacity').value / 100));
  $('base').addEventListener('change', () => $('base').checked ? base.addTo(map) : map.removeLayer(base));
  $('copy').addEventListener('click', () => { $('url').select(); navigator.clipboard && navigator.clipboard.writeText($('url').value); });
  init().catch((e) => { $('error').textContent = 'cannot reach the server: ' + e; });
})();
