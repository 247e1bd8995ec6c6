// The dashboard: uploads by drag and drop (one request per file, so each
// has its own progress and result), statistics per sport and year, the
// latest activities and the sync status, from /api/dashboard.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const TOKEN = 'hotpot.token';

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  // One file, with progress; resolves to {status, body}.
  function send(file, bar) {
    return new Promise((resolve) => {
      const form = new FormData();
      form.append('file', file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/upload');
      const token = localStorage.getItem(TOKEN);
      if (token) xhr.setRequestHeader('Authorization', 'Bearer ' + token);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
      xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText });
      xhr.onerror = () => resolve({ status: 0, body: 'network error' });
      xhr.send(form);
    });
  }

  // The token is asked once, when the server first wants one, and kept.
  async function upload(file) {
    const li = el('li');
    const name = el('div', file.name);
    const bar = el('progress');
    bar.max = 1; bar.value = 0;
    const result = el('div', 'uploading…', 'muted');
    li.append(name, bar, result);
    $('uploads').prepend(li);
    let r = await send(file, bar);
    if (r.status === 401) {
      const token = prompt('Upload token (HOTPOT_UPLOAD_TOKEN of the server):');
      if (token) {
        localStorage.setItem(TOKEN, token);
        bar.value = 0;
        r = await send(file, bar);
      }
      if (r.status === 401) localStorage.removeItem(TOKEN);
    }
    bar.value = 1;
    let added = 0;
    try {
      const j = JSON.parse(r.body);
      const f = j.files[0];
      added = j.added;
      result.textContent = f.error ? f.error
        : 'added ' + f.added + (f.duplicates ? ', ' + f.duplicates + ' already stored' : '') + ' (' + f.points + ' points)';
      result.className = f.error ? 'bad' : 'ok';
      li.dataset.state = f.error ? 'error' : 'done';
    } catch (e) {
      result.textContent = 'HTTP ' + r.status + ': ' + r.body.trim();
      result.className = 'bad';
      li.dataset.state = 'error';
    }
    return added;
  }

  async function uploadAll(files) {
    let added = 0;
    for (const f of files) added += await upload(f);
    if (added > 0) {
      if (window.hotpot) await window.hotpot.dataChanged();
      await load();
    }
  }

  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    uploadAll(Array.from(e.dataTransfer.files));
  });
  $('files').addEventListener('change', (e) => {
    uploadAll(Array.from(e.target.files));
    e.target.value = '';
  });

  const km = (v) => (Math.round(v * 10) / 10).toLocaleString();

  function table(id, head, rows) {
    const t = $(id);
    t.replaceChildren();
    const tr = el('tr');
    for (const h of head) tr.append(el('th', h));
    t.append(tr);
    for (const r of rows) {
      const row = el('tr');
      for (const c of r) row.append(el('td', String(c)));
      t.append(row);
    }
  }

  function when(iso) { return iso ? iso.replace('T', ' ').replace('Z', ' UTC') : '–'; }

  function syncLines(s) {
    const out = [];
    const st = s.strava;
    out.push(['Strava: ' + (st.athletes.length ? 'athlete ' + st.athletes.join(', ') : 'not connected'), '']);
    const ev = st.events || {};
    const n = (k) => ev[k] || 0;
    out.push(['webhook events: ' + n('done') + ' done, ' + n('queued') + ' queued, ' + n('ignored') + ' ignored, ' + n('failed') + ' failed', '']);
    if (st.last_event) out.push(['last event: ' + st.last_event.aspect_type + ' ' + st.last_event.object_type + ' ' + st.last_event.object_id + ' (' + when(st.last_event.received_at) + '): ' + (st.last_event.result || st.last_event.state), '']);
    if (st.last_fetch) out.push(['last Strava fetch: ' + when(st.last_fetch.at) + ', ' + st.last_fetch.imported + ' imported', '']);
    if (st.error) out.push(['Strava error (' + when(st.error.at) + '): ' + st.error.message, 'err']);
    const iv = s.intervals;
    if (iv.last_fetch) out.push(['last intervals.icu fetch: ' + when(iv.last_fetch.at) + ', ' + iv.last_fetch.imported + ' imported', '']);
    if (iv.error) out.push(['intervals.icu error (' + when(iv.error.at) + '): ' + iv.error.error, 'err']);
    return out;
  }

  async function load() {
    const r = await fetch('/api/dashboard');
    if (!r.ok) return;
    const d = await r.json();
    table('sports', ['sport', 'activities', 'km'],
      Object.entries(d.per_sport).map(([s, v]) => [s, v.activities, km(v.distance_km)]));
    table('years', ['year', 'activities', 'km'], Object.entries(d.per_year).reverse().map(([y, sports]) => {
      const v = Object.values(sports);
      return [y, v.reduce((a, b) => a + b.activities, 0), km(v.reduce((a, b) => a + b.distance_km, 0))];
    }));
    const latest = $('latest');
    latest.replaceChildren();
    for (const a of d.latest) {
      const li = el('li', (a.start_time || '').slice(0, 10) + ' · ' + (a.sport || '?') + ' · ' + km(a.distance_km) + ' km · ' + (a.title || a.source));
      li.title = a.source;
      latest.append(li);
    }
    if (!d.latest.length) latest.append(el('li', 'no activities yet', 'muted'));
    const sync = $('sync');
    sync.replaceChildren();
    for (const [text, cls] of syncLines(d.sync)) sync.append(el('div', text, cls));
  }

  load();
  setInterval(load, 30000);
})();
